"""The review desk (``/review``): server-rendered pages where first-line agents work the tickets the model
deferred, with the keyboard alone. It uses the store and the decision, never the reverse; the API knows it
only through :func:`install_desk`.

>>> app = create_app(settings)  # doctest: +SKIP
>>> install_desk(app, settings)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from fastapi.staticfiles import StaticFiles

from triage.desk.state import Desk, LabelSource, StoreSource, app_store, served_labels
from triage.settings import Settings

__all__ = ["Desk", "install_desk"]


def install_desk(
    app: Any, settings: Settings, *, store: StoreSource | None = None, labels: LabelSource | None = None
) -> Desk:
    """Mount the desk's pages and static files on ``app``. ``store`` defaults to the store the service
    records into (else one of its own on ``TRIAGE_DATABASE_URL``); ``labels`` to the served model's labels
    and the stored ones."""
    from triage.desk.routes import admin, auth, queue, ticket

    source = store or app_store(app, settings)
    desk = Desk(settings=settings, store=source, labels=labels or served_labels(app, source))
    app.state.desk = desk
    for module in (auth, queue, ticket, admin):
        app.include_router(module.router)
    app.mount("/review/static", StaticFiles(packages=[("triage.desk", "static")]), name="desk-static")
    return desk
