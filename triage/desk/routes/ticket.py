"""One ticket: opening it claims it; a submit records the review (accepted, corrected or not a ticket) and
opens the next ticket at once; a ticket someone else finished or holds is refused with who and when."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from starlette.datastructures import FormData

from triage.desk.deps import AgentDep, FormDep, SessionDep, StoreDep
from triage.desk.errors import DeskError, NotFound
from triage.desk.filters import chosen, query, queue_filter
from triage.desk.render import DeskRoute, desk_of, page, redirect, set_session
from triage.desk.view import first_unsure, head_views, reasons_in_words
from triage.store import (
    ReviewConflict,
    Store,
    TicketNotFound,
    TicketView,
    claim_next_id,
    get_ticket,
    open_ticket,
    release,
    save_review,
)
from triage.store.agents import AgentView
from triage.store.types import utcnow

router = APIRouter(prefix="/review", route_class=DeskRoute, include_in_schema=False)


def ticket_url(ticket_id: str, values: dict[str, str], **extra: str | None) -> str:
    return f"/review/t/{quote(ticket_id, safe='')}" + query(values, **extra)


def _show(request: Request, ticket: TicketView, agent: AgentView, status: int = 200, **extra: object) -> Response:
    values = chosen(request.query_params)
    decision = ticket.decision.decision if ticket.decision else None
    heads = head_views(decision, desk_of(request).labels())
    mine = ticket.reviewed_at is None and ticket.outcome is None and ticket.claimed_by == agent.name
    return page(
        request,
        "ticket.html",
        status,
        agent=agent,
        ticket=ticket,
        heads=heads,
        active=first_unsure(heads, decision),
        reasons=reasons_in_words(ticket),
        editable=mine and "conflict" not in extra,
        values=values,
        query=query(values, saved=None),
        action=ticket_url(ticket.id, values, saved=None),
        saved=request.query_params.get("saved"),
        now=utcnow(),
        **extra,
    )


@router.get("/t/{ticket_id:path}")
def ticket_page(request: Request, ticket_id: str, agent: AgentDep, store: StoreDep) -> Response:
    try:
        ticket = get_ticket(store, ticket_id)
    except TicketNotFound:
        raise NotFound("No stored ticket has this id.") from None
    if ticket.reviewed_at is None and ticket.outcome is None:  # a finished ticket is shown as stored, not claimed
        ticket = open_ticket(store, ticket_id, agent.name)
    return _show(request, ticket, agent)


class UnknownLabel(DeskError):
    """A typed label that is no label of its head."""


def _labels(request: Request, form: FormData, ticket: TicketView) -> dict[str, str]:
    """The labels the agent chose, each one the model or the desk knows for its head."""
    known = desk_of(request).labels()
    labels: dict[str, str] = {}
    heads = ticket.decision.decision.heads if ticket.decision else {}
    for head, suggestion in heads.items():
        label = str(form.get(f"typed_{head}") or form.get(head) or suggestion.label).strip()
        allowed = set(known.get(head, ())) | {suggestion.label} | set(suggestion.prediction_set)
        allowed |= {a.label for a in suggestion.alternatives}
        if label not in allowed:
            raise UnknownLabel(f"{head}: {label[:100]!r} is not a label of this desk; pick one from the list.")
        labels[head] = label
    return labels


def _next(request: Request, store: Store, agent: AgentView, skipped: tuple[str, ...], done: str) -> Response:
    values = chosen(request.query_params)
    ticket_id = claim_next_id(store, agent.name, queue_filter(values), skip=skipped)
    if ticket_id is None:
        return redirect(request, "/review" + query(values, empty="1", saved=done))
    return redirect(request, ticket_url(ticket_id, values, saved=done))


@router.post("/t/{ticket_id:path}")
def review(
    request: Request, ticket_id: str, agent: AgentDep, store: StoreDep, form: FormDep, session: SessionDep
) -> Response:
    action = str(form.get("action", "accept"))
    if action == "skip":
        release(store, ticket_id, agent.name)
        skipped = session.skip(ticket_id)
        set_session(request, skipped)
        return _next(request, store, agent, skipped.skipped, "")
    try:
        ticket = get_ticket(store, ticket_id)
    except TicketNotFound:
        raise NotFound("No stored ticket has this id.") from None
    version = str(form.get("version", ""))
    if not version.isdigit():
        raise DeskError("The form lacks the ticket's version: reload the ticket.")
    try:
        not_a_ticket = action == "not_a_ticket"
        labels = {} if not_a_ticket else _labels(request, form, ticket)
        save_review(
            store,
            ticket_id,
            agent.name,
            version=int(version),
            labels=labels,
            not_a_ticket=not_a_ticket,
            webhook=desk_of(request).settings.webhook_url is not None,
        )
    except ReviewConflict as conflict:
        return _show(request, get_ticket(store, ticket_id), agent, 409, conflict=conflict)
    except UnknownLabel as exc:
        return _show(request, ticket, agent, 400, error=str(exc))
    return _next(request, store, agent, session.skipped, ticket_id)
