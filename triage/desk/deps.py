"""Typed dependencies of the desk's routes: its store, the signed-in agent (an admin for the admin pages)
and a form whose CSRF token matched the session's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from triage.desk.errors import CsrfRefused, Forbidden, NotSignedIn
from triage.desk.queries import get_agent
from triage.desk.render import desk_of, session_of, set_session
from triage.desk.session import Session
from triage.store import Store
from triage.store.agents import AgentView


def get_store(request: Request) -> Store:
    return desk_of(request).store()


def get_session(request: Request) -> Session:
    return session_of(request)


def signed_in(request: Request, store: Annotated[Store, Depends(get_store)]) -> AgentView:
    """The agent of the session, looked up on every request: a disabled account is signed out at once."""
    session = session_of(request)
    if session.agent is None:
        raise NotSignedIn()
    agent = get_agent(store, session.agent)
    if agent is None or agent.disabled_at is not None:
        set_session(request, Session.anonymous())
        raise NotSignedIn()
    return agent


def admin(agent: Annotated[AgentView, Depends(signed_in)]) -> AgentView:
    if not agent.is_admin:
        raise Forbidden("This page is for the desk's admins.")
    return agent


async def checked_form(request: Request) -> FormData:
    """The posted form, refused (403) unless it carries the session's CSRF token."""
    form = await request.form()
    if not session_of(request).csrf_ok(form.get("csrf")):
        raise CsrfRefused()
    return form


StoreDep = Annotated[Store, Depends(get_store)]
SessionDep = Annotated[Session, Depends(get_session)]
AgentDep = Annotated[AgentView, Depends(signed_in)]
AdminDep = Annotated[AgentView, Depends(admin)]
FormDep = Annotated[FormData, Depends(checked_form)]
