"""For admins: the desk's numbers (queue, reviews per agent, acceptance per head and class) and accounts
(add, disable, enable)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from triage.desk.deps import AdminDep, FormDep, StoreDep
from triage.desk.errors import DeskError
from triage.desk.queries import desk_numbers, set_disabled
from triage.desk.render import DeskRoute, page, redirect
from triage.desk.topics import candidate_categories
from triage.desk.words import reason_name
from triage.errors import ConfigError
from triage.monitoring import QualitySummary, compute_quality
from triage.store import Store, queue_size, reason_counts
from triage.store.agents import add_agent, list_agents

router = APIRouter(prefix="/review/admin", route_class=DeskRoute, include_in_schema=False)


@router.get("")
def admin_page(request: Request, agent: AdminDep, store: StoreDep, days: int = 30) -> Response:
    days = min(max(days, 1), 365)
    return page(
        request,
        "admin.html",
        agent=agent,
        numbers=desk_numbers(store, days=days),
        size=queue_size(store),
        reasons=sorted(reason_counts(store).items(), key=lambda kv: -kv[1]),
        agents=list_agents(store),
        message=request.query_params.get("message"),
        reason_name=reason_name,
        live=live_quality(request, store),
        topics=candidate_categories(request.app, store, days=days),
    )


def live_quality(request: Request, store: Store) -> QualitySummary | None:
    """The service's cached live quality (measured now when it has none yet, None when that failed); without a
    recording service, the desk's store measured directly."""
    live = getattr(request.app.state, "live_quality", None)
    if live is not None and live.enabled:
        return live.summary(wait=True)
    return compute_quality(store)


@router.post("/agents")
def add(request: Request, agent: AdminDep, store: StoreDep, form: FormDep) -> Response:
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    try:
        added = add_agent(store, name, password, admin=form.get("admin") == "on", actor=agent.name)
    except ConfigError as exc:
        raise DeskError(f"The account was not added: {exc}.") from None
    return redirect(request, "/review/admin?message=" + quote(f"Added {added.name}."))


@router.post("/agents/{name}/{change}")
def enable(request: Request, name: str, change: str, agent: AdminDep, store: StoreDep, form: FormDep) -> Response:
    if change not in ("disable", "enable"):
        raise DeskError("Accounts are disabled or enabled.")
    if name == agent.name:
        raise DeskError("You cannot disable your own account.")
    if not set_disabled(store, name, change == "disable", actor=agent.name):
        raise DeskError("No agent has this name.")
    return redirect(request, "/review/admin?message=" + quote(f"{name}: {change}d."))
