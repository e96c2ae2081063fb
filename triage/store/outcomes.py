"""Outcomes: the final labels a ticketing system reports once it has resolved a ticket.

One outcome per ticket; the later one (by ``resolved_at``) replaces an earlier, and a re-sent outcome (a
webhook retry) changes nothing. An outcome for a ticket never triaged creates the ticket, with no decision,
so it is kept as a labelled ticket (with its text when the system sent it). Each stored outcome says where
it disagrees with the latest agent review (``disagrees``) and with the model's suggestion, and is audited.

A resolved ticket leaves the desk's review queue in the transaction that stores its outcome (:mod:`.waiting`,
in its lock order: the ticket rows, then their keys, then the counts, once for the batch); its claim is dropped
and its ``version`` moves on, so an agent's submit made on what they read before is refused, naming the outcome
(:func:`~triage.store.reviews.submit_review`). A re-send of the ticket for triage does not bring it back.

>>> record_outcome(store, OutcomeRecord("INC1", "servicenow", {"category": "vpn"}))  # doctest: +SKIP
OutcomeResult(ticket_id='INC1', status=<OutcomeStatus.CREATED: 'created'>, ...)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from triage.data.mapping import HEADS
from triage.store.audit import audit
from triage.store.engine import Store
from triage.store.models import decisions, outcomes, reviews, tickets
from triage.store.types import utcnow
from triage.store.waiting import Key, count, leave


class OutcomeStatus(StrEnum):
    """What became of an outcome sent to the store."""

    CREATED = "created"  # the ticket's first outcome
    UPDATED = "updated"  # it replaced an earlier outcome
    UNCHANGED = "unchanged"  # the stored outcome already says this (a retry)
    SUPERSEDED = "superseded"  # a later outcome is already stored: this one was not kept


@dataclass(frozen=True, slots=True)
class OutcomeRecord:
    """An outcome as the store takes it: ``labels`` per head (a head left out or None: not reported);
    ``subject``/``body`` are cleaned text, kept only for a ticket the store does not have yet."""

    ticket_id: str
    source: str
    labels: Mapping[str, str | None]
    resolved_at: datetime | None = None  # None: when it was received
    subject: str | None = None
    body: str | None = None
    created_at: datetime | None = None
    channel: str | None = None
    truncated: bool = False

    def __post_init__(self) -> None:
        unknown = sorted(set(self.labels) - set(HEADS))
        if unknown:
            raise ValueError(f"unknown head(s) {unknown}; heads are {list(HEADS)}")
        if not any(self.labels.get(h) for h in HEADS):
            raise ValueError(f"an outcome needs a label for at least one head of {list(HEADS)}")


@dataclass(frozen=True, slots=True)
class OutcomeResult:
    ticket_id: str
    status: OutcomeStatus
    new_ticket: bool  # the ticket was never triaged: kept as a labelled ticket
    resolved_at: datetime  # of the stored outcome (the later one, when this one was superseded)
    labels: dict[str, str | None]  # the stored outcome's labels
    disagrees: list[str] = field(default_factory=list)  # heads where it differs from the latest agent review
    model_disagrees: list[str] = field(default_factory=list)  # heads where it differs from the suggestion


def _ticket_insert(dialect: str) -> Any:
    """Insert a ticket the store has never seen, leave an existing one alone (atomic on both dialects)."""
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(tickets)
    return ins.on_conflict_do_nothing(index_elements=[tickets.c.id]).returning(tickets.c.id)


def _differs(labels: Mapping[str, str | None], other: Mapping[str, str | None] | None) -> list[str]:
    """Heads both name a label for, and the labels differ."""
    if other is None:
        return []
    return [h for h in HEADS if labels.get(h) and other.get(h) and labels[h] != other[h]]


def _labels_of(conn: Connection, table: Any, key: Any, value: Any) -> dict[str, str | None] | None:
    if value is None:
        return None
    row = conn.execute(select(*(table.c[h] for h in HEADS)).where(key == value)).first()
    return dict(zip(HEADS, row, strict=True)) if row is not None else None


def _resolve(conn: Connection, ticket_id: str, waiting: bool, changed: bool) -> Counter[Key]:
    """Take a resolved ticket (its row locked) out of the queue, drop its claim and move its version on when it
    was waiting or its outcome changed; the counts to subtract (the caller changes them last)."""
    if not (waiting or changed):
        return Counter()
    conn.execute(
        update(tickets)
        .where(tickets.c.id == ticket_id)
        .values(waiting=False, claimed_by=None, claimed_until=None, version=tickets.c.version + 1)
    )
    return leave(conn, [ticket_id]) if waiting else Counter()


def _record_one(
    conn: Connection, record: OutcomeRecord, now: datetime, insert_ticket: Any
) -> tuple[OutcomeResult, Counter[Key]]:
    """Store one outcome (its ticket row locked first); the result and the queue counts to subtract."""
    new_ticket = (
        conn.execute(
            insert_ticket,
            {
                "id": record.ticket_id,
                "received_at": now,
                "updated_at": now,
                "times_received": 0,  # never sent for triage
                "created_at": record.created_at,
                "channel": record.channel,
                "subject": record.subject,
                "body": record.body,
                "truncated": record.truncated,
                "metadata": {},
                "version": 1,
            },
        ).first()
        is not None
    )
    ticket = conn.execute(
        select(
            tickets.c.decision_id,
            tickets.c.review_id,
            tickets.c.subject,
            tickets.c.body,
            tickets.c.text_purged_at,
            tickets.c.waiting,
        )
        .where(tickets.c.id == record.ticket_id)
        .with_for_update()
    ).one()
    textless = ticket.subject is None and ticket.body is None and ticket.text_purged_at is None
    if not new_ticket and ticket.decision_id is None and textless and (record.subject or record.body):
        conn.execute(  # a ticket kept from an earlier outcome without text gets this one's
            update(tickets)
            .where(tickets.c.id == record.ticket_id)
            .values(subject=record.subject, body=record.body, truncated=record.truncated)
        )
    labels = {h: record.labels.get(h) or None for h in HEADS}
    resolved_at = record.resolved_at or now
    stored = conn.execute(select(outcomes).where(outcomes.c.ticket_id == record.ticket_id)).first()
    review = _labels_of(conn, reviews, reviews.c.id, ticket.review_id)
    suggestion = _labels_of(conn, decisions, decisions.c.id, ticket.decision_id)
    if stored is not None:
        stored_labels = {h: getattr(stored, h) for h in HEADS}
        if stored.resolved_at > resolved_at or (stored.resolved_at == resolved_at and stored_labels == labels):
            status = OutcomeStatus.SUPERSEDED if stored.resolved_at > resolved_at else OutcomeStatus.UNCHANGED
            kept = OutcomeResult(
                record.ticket_id,
                status,
                new_ticket,
                stored.resolved_at,
                stored_labels,
                list(stored.disagrees),
                _differs(stored_labels, suggestion),
            )
            return kept, _resolve(conn, record.ticket_id, ticket.waiting, changed=False)
    disagrees, model_disagrees = _differs(labels, review), _differs(labels, suggestion)
    values = {"source": record.source, "resolved_at": resolved_at, "received_at": now, **labels, "disagrees": disagrees}
    if stored is None:
        conn.execute(insert(outcomes), {"ticket_id": record.ticket_id, **values})
        status = OutcomeStatus.CREATED
    else:
        conn.execute(update(outcomes).where(outcomes.c.ticket_id == record.ticket_id).values(**values))
        status = OutcomeStatus.UPDATED
    detail = {
        "status": status.value,
        "source": record.source,
        "resolved_at": resolved_at.isoformat(),
        "new_ticket": new_ticket,
        "disagrees_with_review": disagrees,
        "disagrees_with_suggestion": model_disagrees,
    }
    detail["left_queue"] = bool(ticket.waiting)
    audit(conn, record.source, "outcome", ticket_id=record.ticket_id, detail=detail)
    removed = _resolve(conn, record.ticket_id, ticket.waiting, changed=True)
    return OutcomeResult(record.ticket_id, status, new_ticket, resolved_at, labels, disagrees, model_disagrees), removed


def record_outcomes(
    store: Store, records: Sequence[OutcomeRecord], *, now: datetime | None = None
) -> list[OutcomeResult]:
    """Store outcomes in one transaction (all or none), each as :func:`record_outcome`; results in the order
    given. Tickets are locked in id order and the queue counts last, so concurrent batches, reviews and
    recordings cannot deadlock."""
    if not records:
        return []
    now = now or utcnow()
    insert_ticket = _ticket_insert(store.dialect)
    order = sorted(range(len(records)), key=lambda i: (records[i].ticket_id, i))
    results: dict[int, OutcomeResult] = {}
    # a recording of these tickets still queued (write-behind) is written first
    store.settle(records[0].ticket_id if len(records) == 1 else None)
    with store.write() as conn:
        removed: Counter[Key] = Counter()
        for i in order:
            results[i], left = _record_one(conn, records[i], now, insert_ticket)
            removed += left
        count(conn, Counter(), removed)
    return [results[i] for i in range(len(records))]


def record_outcome(store: Store, record: OutcomeRecord, *, now: datetime | None = None) -> OutcomeResult:
    """Store a ticket's outcome: created, updated (it is later than the stored one), unchanged (a retry) or
    superseded (the stored one is later; nothing changes)."""
    return record_outcomes(store, [record], now=now)[0]


@dataclass(frozen=True, slots=True)
class Disagreements:
    """How often outcomes contradict what the desk and the model said, per head."""

    outcomes: int
    with_review: dict[str, int]  # outcomes whose ticket an agent reviewed, and which differ from the review
    with_suggestion: dict[str, int]  # outcomes that differ from the model's latest suggestion
    reviewed: int  # outcomes of reviewed tickets
    suggested: int  # outcomes of triaged tickets


def disagreements(store: Store, *, since: datetime | None = None) -> Disagreements:
    """Count, per head, the outcomes (received since ``since``) that differ from the latest review and from
    the model's suggestion (a head either leaves empty does not count)."""
    query = (
        select(
            outcomes.c.disagrees,
            tickets.c.review_id,
            *(outcomes.c[h].label(f"o_{h}") for h in HEADS),
            *(decisions.c[h].label(f"d_{h}") for h in HEADS),
            decisions.c.id.label("decision"),
        )
        .join(tickets, tickets.c.id == outcomes.c.ticket_id)
        .outerjoin(decisions, decisions.c.id == tickets.c.decision_id)
    )
    if since is not None:
        query = query.where(outcomes.c.received_at >= since)
    with_review, with_suggestion = dict.fromkeys(HEADS, 0), dict.fromkeys(HEADS, 0)
    total = reviewed = suggested = 0
    with store.read() as conn:
        for row in conn.execution_options(yield_per=1000).execute(query):
            total += 1
            reviewed += row.review_id is not None
            for head in row.disagrees:
                with_review[head] = with_review.get(head, 0) + 1
            if row.decision is None:
                continue
            suggested += 1
            mine = {h: getattr(row, f"o_{h}") for h in HEADS}
            for head in _differs(mine, {h: getattr(row, f"d_{h}") for h in HEADS}):
                with_suggestion[head] += 1
    return Disagreements(total, with_review, with_suggestion, reviewed, suggested)
