"""The review desk (``/review``): server-rendered pages where first-line agents work the tickets the model
deferred, with the keyboard alone. It uses the store and the decision, never the reverse; the API knows it
only through :func:`install_desk` (the service through :func:`install_desk_lazily`).

>>> app = create_app(settings)  # doctest: +SKIP
>>> install_desk(app, settings)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from triage.settings import Settings

if TYPE_CHECKING:
    from triage.desk.state import Desk, LabelSource, StoreSource

__all__ = ["Desk", "install_desk", "install_desk_lazily"]


def __getattr__(name: str) -> Any:
    if name == "Desk":  # the desk's modules (Jinja2, its routes) are imported when first needed
        from triage.desk.state import Desk

        return Desk
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def install_desk(
    app: Any, settings: Settings, *, store: StoreSource | None = None, labels: LabelSource | None = None
) -> Desk:
    """Mount the desk's pages and static files on ``app``. ``store`` defaults to the store the service
    records into (else one of its own on ``TRIAGE_DATABASE_URL``); ``labels`` to the served model's labels
    and the stored ones."""
    from fastapi.staticfiles import StaticFiles

    from triage.desk.routes import admin, auth, queue, ticket
    from triage.desk.state import Desk, app_store, served_labels

    source = store or app_store(app, settings)
    desk = Desk(settings=settings, store=source, labels=labels or served_labels(app, source))
    app.state.desk = desk
    for module in (auth, queue, ticket, admin):
        app.include_router(module.router)
    app.mount("/review/static", StaticFiles(packages=[("triage.desk", "static")]), name="desk-static")
    return desk


def install_desk_lazily(app: Any, settings: Settings) -> None:
    """:func:`install_desk` at the first request under ``/review``, not at start: the desk's modules (Jinja2,
    its templates, its routes and queries) are not needed to answer the API, and importing them delayed the
    service's readiness. The pages, their paths and their answers are the same."""
    app.router.routes.append(_DeskAtFirstRequest(app, settings))


class _DeskAtFirstRequest(BaseRoute):
    """Takes every path under ``/review`` until the desk is installed, then hands the request to it."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app, self.settings = app, settings

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path = get_route_path(scope)
        if path == "/review" or path.startswith("/review/"):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        routes = self.app.router.routes
        if self in routes:  # no await before this: one request installs it, once
            install_desk(self.app, self.settings)
            routes.remove(self)
        await self.app.router(scope, receive, send)
