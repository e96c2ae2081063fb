"""Signing in and out: a login form with a CSRF token, a pause after repeated failures, a new session (and
token) at each sign-in, so a session fixed before login is worth nothing after it."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from triage.desk.deps import FormDep, SessionDep, StoreDep
from triage.desk.render import DeskRoute, page, redirect, set_session
from triage.desk.session import Session
from triage.store.agents import authenticate

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/review", route_class=DeskRoute, include_in_schema=False)


def safe_next(target: object) -> str:
    """Where to go after signing in: a desk page, never another site."""
    if not isinstance(target, str) or "//" in target or "\\" in target or any(ord(c) < 32 for c in target):
        return "/review"
    if target == "/review" or target.startswith(("/review/", "/review?")):
        return target
    return "/review"


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_form(request: Request, session: SessionDep, next: str = "/review") -> Response:
    if session.agent is not None:
        return redirect(request, safe_next(next))
    return page(request, "login.html", next=safe_next(next))


@router.post("/login")
async def login(request: Request, form: FormDep, store: StoreDep) -> Response:
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    target = safe_next(form.get("next"))
    throttle = request.app.state.desk.throttle
    wait = throttle.wait(name, _address(request))
    if wait > 0:
        message = f"Too many failed sign-ins. Wait {wait:.0f} seconds, then try again."
        return page(request, "login.html", 429, next=target, name=name, error=message)
    agent = await run_in_threadpool(authenticate, store, name, password) if name and password else None
    if agent is None:
        wait = throttle.failed(name, _address(request))
        logger.info("desk sign-in failed for %r from %s", name[:100], _address(request))
        message = "Wrong name or password, or the account is disabled."
        if wait > 0:
            message += f" Too many failed sign-ins: wait {wait:.0f} seconds before the next try."
        return page(request, "login.html", 401, next=target, name=name, error=message)
    throttle.succeeded(name, _address(request))
    set_session(request, Session.signed_in(agent.name))
    logger.info("desk sign-in: %s", agent.name)
    return redirect(request, target)


@router.post("/logout")
def logout(request: Request, form: FormDep) -> Response:
    set_session(request, Session.anonymous())
    return redirect(request, "/review/login?out=1")
