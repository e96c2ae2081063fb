"""Pages: templates rendered with the session's CSRF token, security headers on every answer (scripts and
styles from the app only, no framing, nothing cached), and :class:`DeskRoute`, which turns the desk's errors
and an unreachable store into pages."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from triage.desk.errors import DeskError, NotSignedIn
from triage.desk.session import Session
from triage.desk.state import Desk
from triage.errors import ConfigError
from triage.store import StoreUnavailable

logger = logging.getLogger(__name__)
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def desk_of(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


def session_of(request: Request) -> Session:
    """The request's session; a new anonymous one (saved with the answer) when it has none."""
    session: Session | None = getattr(request.state, "desk_session", None)
    if session is None:
        session = desk_of(request).codec.load(request)
        if session is None:
            session = Session.anonymous()
            request.state.desk_session_changed = True
        request.state.desk_session = session
    return session


def set_session(request: Request, session: Session) -> None:
    request.state.desk_session, request.state.desk_session_changed = session, True


def finish(request: Request, response: Response) -> Response:
    """Security headers, and the session cookie when it is new or changed."""
    response.headers.update(HEADERS)
    if getattr(request.state, "desk_session_changed", False):
        desk_of(request).codec.save(response, request.state.desk_session, request)
    return response


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    session = session_of(request)
    template_ = desk_of(request).env.get_template(template)
    html = template_.render(csrf=session.csrf, session=session, params=request.query_params, **context)
    return finish(request, HTMLResponse(html, status_code=status))


def redirect(request: Request, url: str) -> Response:
    return finish(request, RedirectResponse(url, status_code=303))


def _error_page(request: Request, exc: Exception) -> Response:
    if isinstance(exc, NotSignedIn):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        wanted = f"?next={quote(target, safe='')}" if request.method == "GET" and target != "/review" else ""
        return redirect(request, f"/review/login{wanted}")
    if isinstance(exc, DeskError):
        return page(request, "error.html", exc.status, title=exc.title, message=str(exc))
    logger.error("the desk cannot serve: %s", exc)
    if isinstance(exc, StoreUnavailable):
        return _unavailable(request, "The ticket store cannot be reached right now")
    return _unavailable(request, f"The desk is not set up: {exc}")


def _unavailable(request: Request, problem: str) -> Response:
    """503 without the session (its key may be what is missing)."""
    html = (
        desk_of(request)
        .env.get_template("error.html")
        .render(
            csrf="", session=None, params={}, title="The desk is unavailable", message=f"{problem}. Try again later."
        )
    )
    response = HTMLResponse(html, status_code=503)
    response.headers.update(HEADERS)
    return response


class DeskRoute(APIRoute):
    """A route of the desk: its errors become pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except (DeskError, StoreUnavailable, ConfigError) as exc:
                return _error_page(request, exc)

        return route
