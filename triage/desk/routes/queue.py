"""The queue: deferred tickets, most urgent risk first, with counts per reason, filters and a search; and
"next ticket", which claims the most urgent one inside the filter that nobody else holds."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from triage.desk.deps import AgentDep, FormDep, SessionDep, StoreDep
from triage.desk.errors import DeskError
from triage.desk.filters import AGES, chosen, query, queue_filter
from triage.desk.render import DeskRoute, desk_of, page, redirect
from triage.desk.words import reason_name
from triage.store import SearchTooSlow, claim_next_id
from triage.store.queue import queue_page as read_queue
from triage.store.types import utcnow

PAGE = 50
router = APIRouter(prefix="/review", route_class=DeskRoute, include_in_schema=False)


@router.get("")
def queue_page(request: Request, agent: AgentDep, store: StoreDep, page_no: int = 0) -> Response:
    values = chosen(request.query_params)
    filters = queue_filter(values)
    now = utcnow()
    try:
        found = read_queue(store, filters, limit=PAGE, offset=max(page_no, 0) * PAGE, now=now)
    except SearchTooSlow as exc:
        raise DeskError(f"{str(exc).capitalize()}.") from None
    counts = sorted((found.counts or {}).items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1] or ""))
    tabs = [
        {"name": reason_name(code, head), "n": n, "query": query(values, reason=code, head=head),
         "active": values.get("reason") == code and values.get("head") == head}
        for (code, head), n in counts
    ]  # fmt: skip
    return page(
        request,
        "queue.html",
        agent=agent,
        items=found.items,
        size=found.size,
        capped=found.capped,
        shown=f"{found.size:,}+" if found.capped else str(found.size),
        total=found.total,
        tabs=tabs,
        values=values,
        query=query(values),
        all_query=query(values, reason=None, head=None),
        ages=AGES,
        labels=desk_of(request).labels(),
        page_no=max(page_no, 0),
        more=len(found.items) == PAGE,
        now=now,
        reason_name=reason_name,
        empty=request.query_params.get("empty") == "1",
    )


@router.post("/next")
def next_ticket(request: Request, agent: AgentDep, store: StoreDep, form: FormDep, session: SessionDep) -> Response:
    values = chosen(request.query_params)
    ticket_id = claim_next_id(store, agent.name, queue_filter(values), skip=session.skipped)
    if ticket_id is None:
        return redirect(request, "/review" + query(values, empty="1"))
    return redirect(request, f"/review/t/{ticket_id}" + query(values))
