"""Reviews and claims: what the desk (and ticketing systems, through the API) do with a deferred ticket.

Opening a ticket claims it for some minutes; :func:`claim_next` hands each agent a different ticket (a
conditional claim of candidates read beforehand; on PostgreSQL ``FOR UPDATE SKIP LOCKED``). :func:`submit_review` checks
the ticket's optimistic ``version``: a ticket someone else reviewed since, or one another agent holds, is
refused with who and when (:class:`ReviewConflict`), nothing overwritten. An outcome from the ticketing system
(:mod:`.outcomes`) takes a ticket out of the queue, drops its claim and moves its version on: a review sent with
the version read before it is refused as ``resolved``, naming the outcome's source and time. A review without
a version (a ticketing system, the authority on its tickets) is recorded on any ticket, waiting or not. A
review, its audit entry, its webhook delivery and the ticket's exit from the queue (:mod:`.waiting`) are
written in one transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from triage.data.mapping import HEADS
from triage.store.audit import audit
from triage.store.engine import Store
from triage.store.errors import ReviewConflict, TicketNotFound
from triage.store.models import decisions, outcomes, reviews, tickets
from triage.store.outbox import enqueue
from triage.store.queue import QueueFilter, matching, unclaimed
from triage.store.records import Provenance, TicketView
from triage.store.tickets import get_ticket, load_ticket
from triage.store.types import utcnow
from triage.store.waiting import count, leave

CLAIM_MINUTES = 15
CANDIDATES = 20  # tickets read per claim: more than the agents who may claim at the same moment
ROUNDS = 3


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


def claim_next(store: Store, agent: str, filters: QueueFilter | None = None, **kwargs: Any) -> TicketView | None:
    """:func:`claim_next_id`, and the claimed ticket (None when there is none)."""
    ticket_id = claim_next_id(store, agent, filters, **kwargs)
    return get_ticket(store, ticket_id) if ticket_id is not None else None


def claim_next_id(
    store: Store,
    agent: str,
    filters: QueueFilter | None = None,
    *,
    skip: Sequence[str] = (),
    minutes: float = CLAIM_MINUTES,
    now: datetime | None = None,
    candidates: int = CANDIDATES,
) -> str | None:
    """Claim the most urgent queued ticket no other agent holds, passing over the ids in ``skip``; its id (None
    when there is none). The candidates are read outside the write transaction (in queue order, through the
    queue's indexes); the claim is one conditional UPDATE of the first candidate still waiting and unclaimed
    (on PostgreSQL ``FOR UPDATE SKIP LOCKED``), so two agents never get the same ticket and SQLite's single
    writer is held for a few row lookups, not a sort. When every candidate was taken meanwhile, it reads again."""
    now = now or utcnow()
    store.settle()
    until = now + timedelta(minutes=minutes)
    query = matching(filters or QueueFilter(), now).where(unclaimed(agent, now))
    if skip:
        query = query.where(tickets.c.id.not_in(list(skip)))
    for _ in range(ROUNDS):
        with store.read() as conn:
            ids = list(conn.execute(query.limit(candidates)).scalars())
        if not ids:
            return None
        with store.write() as conn:
            claimed = _claim_first(conn, ids, agent, now, until)
        if claimed is not None:
            return claimed
    with store.write() as conn:  # contended all along: read and claim in the writer (SQLite: nobody else writes)
        ticket_id = conn.execute(query.limit(1).with_for_update(skip_locked=True, of=tickets)).scalar()
        return _claim_first(conn, [ticket_id], agent, now, until) if ticket_id is not None else None


def _claim_first(conn: Connection, ids: list[str], agent: str, now: datetime, until: datetime) -> str | None:
    """Claim the first of ``ids`` (in queue order) still waiting and unclaimed; its id, or None."""
    first = (
        select(tickets.c.id)
        .where(tickets.c.id.in_(ids), tickets.c.waiting, unclaimed(agent, now))
        .order_by(tickets.c.queue_rank, tickets.c.received_at, tickets.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claim = (
        update(tickets)
        .where(tickets.c.id == first, tickets.c.waiting, unclaimed(agent, now))  # rechecked under the row lock
        .values(claimed_by=agent, claimed_until=until)
        .returning(tickets.c.id)
    )
    return conn.execute(claim).scalar()


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


def submit_review(store: Store, ticket_id: str, agent: str, **kwargs: Any) -> TicketView:
    """:func:`save_review`, and the ticket as it is then (read in the same transaction)."""
    store.settle(ticket_id)
    with store.write() as conn:
        _save(conn, ticket_id, agent, **kwargs)
        return load_ticket(conn, ticket_id)


def save_review(store: Store, ticket_id: str, agent: str, **kwargs: Any) -> int:
    """Record a review (:func:`_save` says how); its id."""
    store.settle(ticket_id)
    with store.write() as conn:
        return _save(conn, ticket_id, agent, **kwargs)


def _save(
    conn: Connection,
    ticket_id: str,
    agent: str,
    *,
    version: int | None,
    labels: Mapping[str, str] | None = None,
    not_a_ticket: bool = False,
    source: str = "desk",
    webhook: bool = False,
    now: datetime | None = None,
) -> int:
    """Record ``agent``'s review: ``labels`` are the final labels of the heads the agent changed or confirmed
    (a head left out keeps the suggestion); ``version`` is the ticket's version the agent saw (None: no check,
    for ticketing systems that are the authority on their own tickets). Provenance is ``not_a_ticket``,
    ``corrected`` when a label differs from the suggestion, else ``accepted``."""
    unknown = sorted(set(labels or {}) - set(HEADS))
    if unknown:
        raise ValueError(f"unknown head(s) {unknown}; heads are {list(HEADS)}")
    now = now or utcnow()
    guard = [tickets.c.id == ticket_id, unclaimed(agent, now)]
    if version is not None:
        guard.append(tickets.c.version == version)
    row = conn.execute(
        update(tickets)
        .where(*guard)
        .values(
            version=tickets.c.version + 1,
            reviewed_by=agent,
            reviewed_at=now,
            claimed_by=None,
            claimed_until=None,
            waiting=False,
        )
        .returning(tickets.c.decision_id)
    ).first()
    if row is None:
        raise _conflict(conn, ticket_id, version)
    count(conn, Counter(), leave(conn, [ticket_id]))  # out of the queue, in this transaction
    suggested = _suggested(conn, row.decision_id)
    final: dict[str, str | None] = dict.fromkeys(HEADS) if not_a_ticket else {**suggested, **(labels or {})}
    heads_changed = [] if not_a_ticket else [h for h in HEADS if final[h] != suggested[h]]
    provenance = (
        Provenance.NOT_A_TICKET if not_a_ticket else (Provenance.CORRECTED if heads_changed else Provenance.ACCEPTED)
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
    review_id = int(conn.execute(insert(reviews).returning(reviews.c.id), values).scalar_one())
    conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(review_id=review_id))
    detail = {"review_id": review_id, "provenance": provenance.value, "changed": heads_changed, "source": source}
    audit(conn, agent, "review", ticket_id=ticket_id, detail=detail)
    if webhook:
        payload = {**values, "review_id": review_id, "reviewed_at": now.isoformat()}
        enqueue(conn, ticket_id, payload, now=now)
    return review_id


def _conflict(conn: Connection, ticket_id: str, version: int | None) -> ReviewConflict | TicketNotFound:
    row = conn.execute(
        select(
            tickets.c.version,
            tickets.c.reviewed_by,
            tickets.c.reviewed_at,
            tickets.c.claimed_by,
            tickets.c.claimed_until,
        ).where(tickets.c.id == ticket_id)
    ).first()
    if row is None:
        return TicketNotFound(f"no stored ticket has the id {ticket_id!r}")
    if version is not None and row.version != version:
        outcome = conn.execute(
            select(outcomes.c.source, outcomes.c.resolved_at, outcomes.c.received_at).where(
                outcomes.c.ticket_id == ticket_id
            )
        ).first()
        if outcome is not None and (row.reviewed_at is None or row.reviewed_at <= outcome.received_at):
            # the last change was the ticketing system's outcome (:mod:`.outcomes`): it took the ticket out of
            # the queue and moved its version on
            return ReviewConflict(
                ticket_id, by=outcome.source, at=outcome.resolved_at, version=row.version, claimed=False, resolved=True
            )
        return ReviewConflict(ticket_id, by=row.reviewed_by, at=row.reviewed_at, version=row.version, claimed=False)
    return ReviewConflict(ticket_id, by=row.claimed_by, at=row.claimed_until, version=row.version, claimed=True)
