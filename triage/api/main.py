"""The FastAPI application factory: wiring only. The model is loaded in the lifespan, never at import.

uvicorn --factory triage.api.main:create_app
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from triage import __version__
from triage.api.auth import check_auth_settings, require_admin_key, require_api_key
from triage.api.drain import Drain, DrainMiddleware
from triage.api.errors import install_error_handlers
from triage.api.lifecycle import Lifecycle
from triage.api.metrics import ServiceMetrics
from triage.api.middleware import CountOpen, LimitAndMeasure, OpenRequests
from triage.api.openapi import errors, install_openapi
from triage.api.recording import Recording, chain
from triage.api.routes import admin, health, model, outcomes, tickets, triage
from triage.api.state import ModelState
from triage.api.workers import Workers
from triage.desk import install_desk_lazily
from triage.monitoring import LiveQuality, QualityCollector, served_reference
from triage.settings import Settings, get_settings

DESCRIPTION = """Routing suggestions for help-desk tickets: category, priority and support tier with
calibrated confidence, and a decision to auto-route or hand the ticket to a first-line agent.

Send a key in the `X-API-Key` header: one of `TRIAGE_API_KEYS` on `/v1` routes, one of `TRIAGE_ADMIN_KEYS`
on `/v1/admin` routes. Request bodies are JSON: a body that is not JSON is answered 400 (`invalid_json`), JSON
that breaks the schema 422 (`validation_error`, naming each field). Every error has the same body,
`{"error": {"code", "message", "details": [{"field", "problem"}]}}`."""


def create_app(settings: Settings | None = None, *, load_model: bool = True) -> FastAPI:
    """Build the app; raises :class:`~triage.errors.ConfigError` without API keys unless auth is off (and at
    start, when recording is on and the store's schema is not migrated). ``load_model=False`` starts without a
    model (tests of the not-ready state)."""
    settings = settings or get_settings()
    check_auth_settings(settings)
    workers = Workers(settings.workers_dir)  # the other worker processes of `triage serve --workers N`
    multiprocess_dir = settings.workers_dir / "metrics" if settings.workers_dir is not None else None
    state, drain = ModelState(settings), Drain(settings.shutdown_grace)
    metrics = ServiceMetrics(multiprocess_dir=multiprocess_dir)
    lifecycle = Lifecycle(state, metrics, drain, load_model=load_model, workers=workers)
    recording = Recording(settings, metrics)  # the store first: an unmigrated schema stops the start at once

    reference = served_reference(lambda: state.triager.bundle if state.triager else None)
    live = LiveQuality(lambda: recording.store, reference)  # live quality on /metrics, computed off the scrape
    metrics.registry.register(QualityCollector(live, reference, store_problem=lambda: recording.problem))

    lifespan = chain(recording.lifespan, live.lifespan, lifecycle.lifespan, recording.duties)  # duties once ready
    app = FastAPI(title="triage", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings, app.state.model, app.state.metrics = settings, state, metrics
    app.state.drain, app.state.lifecycle, app.state.recording = drain, lifecycle, recording
    app.state.live_quality = live
    app.state.workers = workers
    app.state.open_requests = open_requests = OpenRequests()
    install_error_handlers(app)
    auth = settings.auth == "on"
    client = {"dependencies": [Depends(require_api_key)], "responses": errors(401)} if auth else {}
    admin_only = {"dependencies": [Depends(require_admin_key)], "responses": errors(401)} if auth else {}
    app.include_router(triage.router, **client)  # type: ignore[arg-type]
    app.include_router(model.router, **client)  # type: ignore[arg-type]
    app.include_router(tickets.router, **client)  # type: ignore[arg-type]
    app.include_router(outcomes.router, **client)  # type: ignore[arg-type]
    app.include_router(admin.router, **admin_only)  # type: ignore[arg-type]
    app.include_router(health.health_router, **(client if settings.auth_health else {}))  # type: ignore[arg-type]
    app.include_router(health.metrics_router, **(client if settings.auth_metrics else {}))  # type: ignore[arg-type]
    install_desk_lazily(app, settings)  # the review desk's pages (/review): agents' sessions, not API keys
    install_openapi(app, settings)
    app.add_middleware(LimitAndMeasure, max_bytes=settings.max_request_bytes, metrics=metrics)
    app.add_middleware(DrainMiddleware, drain=drain, metrics=metrics)  # covers reading the body too
    app.add_middleware(CountOpen, open_requests=open_requests)  # outermost (see CountOpen)
    return app
