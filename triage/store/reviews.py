"""Reviews and claims: what the desk (and ticketing systems, through the API) do with a deferred ticket.

Opening a ticket claims it for some minutes; :func:`claim_next` hands each agent a different ticket (on
PostgreSQL ``FOR UPDATE SKIP LOCKED``, on SQLite a single-writer transaction). :func:`submit_review` checks
the ticket's optimistic ``version``: a ticket someone else reviewed since, or one another agent holds, is
refused with who and when (:class:`ReviewConflict`), nothing overwritten. A review, its audit entry and its
webhook delivery are written in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from triage.data.mapping import HEADS
from triage.store.audit import audit
from triage.store.engine import Store
from triage.store.errors import ReviewConflict, TicketNotFound
from triage.store.models import decisions, reviews, tickets
from triage.store.outbox import enqueue
from triage.store.queue import QueueFilter, queue_select, unclaimed
from triage.store.records import Provenance, TicketView
from triage.store.tickets import load_ticket
from triage.store.types import utcnow

CLAIM_MINUTES = 15


def open_ticket(
    store: Store, ticket_id: str, agent: str, *, minutes: float = CLAIM_MINUTES, now: datetime | None = None
) -> TicketView:
    """The ticket, claimed by ``agent`` for ``minutes`` unless another agent holds it (``claimed_by`` says)."""
    now = now or utcnow()
    with store.write() as conn:
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket_id, unclaimed(agent, now))
            .values(claimed_by=agent, claimed_until=now + timedelta(minutes=minutes))
        )
        return load_ticket(conn, ticket_id)


def claim_next(
    store: Store,
    agent: str,
    filters: QueueFilter | None = None,
    *,
    minutes: float = CLAIM_MINUTES,
    now: datetime | None = None,
) -> TicketView | None:
    """Claim the most urgent queued ticket no other agent holds (None when there is none). Two agents never
    get the same ticket: PostgreSQL skips rows another transaction has locked, SQLite runs one writer at a time."""
    now = now or utcnow()
    candidate = (
        queue_select(filters or QueueFilter(), now)
        .where(unclaimed(agent, now))
        .limit(1)
        .with_for_update(skip_locked=True, of=tickets)
    )
    with store.write() as conn:
        ticket_id = conn.execute(candidate).scalar()
        if ticket_id is None:
            return None
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket_id)
            .values(claimed_by=agent, claimed_until=now + timedelta(minutes=minutes))
        )
        return load_ticket(conn, ticket_id)


def release(store: Store, ticket_id: str, agent: str) -> bool:
    """Give up ``agent``'s claim on a ticket; False when the agent did not hold it."""
    with store.write() as conn:
        result = conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket_id, tickets.c.claimed_by == agent)
            .values(claimed_by=None, claimed_until=None)
        )
        return bool(result.rowcount)


def _suggested(conn: Connection, decision_id: str | None) -> dict[str, str | None]:
    if decision_id is None:
        return dict.fromkeys(HEADS)
    row = conn.execute(select(*(decisions.c[h] for h in HEADS)).where(decisions.c.id == decision_id)).first()
    return dict(zip(HEADS, row, strict=True)) if row is not None else dict.fromkeys(HEADS)


def submit_review(
    store: Store,
    ticket_id: str,
    agent: str,
    *,
    version: int | None,
    labels: Mapping[str, str] | None = None,
    not_a_ticket: bool = False,
    source: str = "desk",
    webhook: bool = False,
    now: datetime | None = None,
) -> TicketView:
    """Record ``agent``'s review: ``labels`` are the final labels of the heads the agent changed or confirmed
    (a head left out keeps the suggestion); ``version`` is the ticket's version the agent saw (None: no check,
    for ticketing systems that are the authority on their own tickets). Provenance is ``not_a_ticket``,
    ``corrected`` when a label differs from the suggestion, else ``accepted``."""
    unknown = sorted(set(labels or {}) - set(HEADS))
    if unknown:
        raise ValueError(f"unknown head(s) {unknown}; heads are {list(HEADS)}")
    now = now or utcnow()
    with store.write() as conn:
        row = conn.execute(select(tickets.c.decision_id).where(tickets.c.id == ticket_id)).first()
        if row is None:
            raise TicketNotFound(f"no stored ticket has the id {ticket_id!r}")
        guard = [tickets.c.id == ticket_id, unclaimed(agent, now)]
        if version is not None:
            guard.append(tickets.c.version == version)
        changed = conn.execute(
            update(tickets)
            .where(*guard)
            .values(
                version=tickets.c.version + 1, reviewed_by=agent, reviewed_at=now, claimed_by=None, claimed_until=None
            )
        )
        if not changed.rowcount:
            raise _conflict(conn, ticket_id, version)
        suggested = _suggested(conn, row.decision_id)
        final: dict[str, str | None] = dict.fromkeys(HEADS) if not_a_ticket else {**suggested, **(labels or {})}
        heads_changed = [] if not_a_ticket else [h for h in HEADS if final[h] != suggested[h]]
        provenance = (
            Provenance.NOT_A_TICKET
            if not_a_ticket
            else (Provenance.CORRECTED if heads_changed else Provenance.ACCEPTED)
        )
        values: dict[str, Any] = {
            "ticket_id": ticket_id,
            "decision_id": row.decision_id,
            "agent": agent,
            "source": source,
            "reviewed_at": now,
            "provenance": provenance.value,
            **final,
            "changed": heads_changed,
        }
        review_id = conn.execute(insert(reviews).returning(reviews.c.id), values).scalar_one()
        conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(review_id=review_id))
        detail = {"review_id": review_id, "provenance": provenance.value, "changed": heads_changed, "source": source}
        audit(conn, agent, "review", ticket_id=ticket_id, detail=detail)
        if webhook:
            payload = {**values, "review_id": review_id, "reviewed_at": now.isoformat()}
            enqueue(conn, ticket_id, payload, now=now)
        return load_ticket(conn, ticket_id)


def _conflict(conn: Connection, ticket_id: str, version: int | None) -> ReviewConflict:
    row = conn.execute(
        select(
            tickets.c.version,
            tickets.c.reviewed_by,
            tickets.c.reviewed_at,
            tickets.c.claimed_by,
            tickets.c.claimed_until,
        ).where(tickets.c.id == ticket_id)
    ).one()
    if version is not None and row.version != version:
        return ReviewConflict(ticket_id, by=row.reviewed_by, at=row.reviewed_at, version=row.version, claimed=False)
    return ReviewConflict(ticket_id, by=row.claimed_by, at=row.claimed_until, version=row.version, claimed=True)
