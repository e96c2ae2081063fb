"""The FastAPI application factory: wiring only. The model is loaded in the lifespan, never at import.

uvicorn --factory triage.api.main:create_app
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool
from threadpoolctl import threadpool_limits

from triage import __version__
from triage.api.deps import require_api_key
from triage.api.errors import install_error_handlers
from triage.api.metrics import ServiceMetrics
from triage.api.middleware import LimitAndMeasure
from triage.api.routes import health, model, triage
from triage.api.state import ModelState
from triage.errors import TriageError
from triage.settings import Settings, get_settings

logger = logging.getLogger(__name__)

DESCRIPTION = """Routing suggestions for help-desk tickets: category, priority and support tier with
calibrated confidence, and a decision to auto-route or hand the ticket to a first-line agent.
Send the API key in the `X-API-Key` header."""


def create_app(settings: Settings | None = None, *, load_model: bool = True) -> FastAPI:
    """Build the app. ``load_model=False`` starts without a model (tests of the not-ready state)."""
    settings = settings or get_settings()
    state = ModelState(settings)
    metrics = ServiceMetrics()

    async def reload_on_signal() -> None:
        try:
            triager = await run_in_threadpool(state.load)
            metrics.set_model(triager.version)
            metrics.reloads.labels(result="ok").inc()
        except TriageError:
            metrics.reloads.labels(result="failed").inc()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One BLAS thread per call: requests are small and run in parallel threads already; multi-threaded
        # BLAS next to ONNX Runtime's own threads made each request several times slower (benchmarks/README).
        threadpool_limits(limits=1, user_api="blas")
        if load_model:
            try:
                triager = await run_in_threadpool(state.load)
                metrics.set_model(triager.version)
            except TriageError:
                logger.error("starting without a model; /readyz reports why, POST /v1/admin/reload retries")
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(reload_on_signal()))
        yield

    app = FastAPI(title="triage", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings, app.state.model, app.state.metrics = settings, state, metrics
    install_error_handlers(app)
    secured = [Depends(require_api_key)]
    app.include_router(triage.router, dependencies=secured)
    app.include_router(model.router, dependencies=secured)
    app.include_router(health.health_router, dependencies=secured if settings.auth_health else [])
    app.include_router(health.metrics_router, dependencies=secured if settings.auth_metrics else [])
    app.add_middleware(LimitAndMeasure, max_bytes=settings.max_request_bytes, metrics=metrics)
    return app
