"""The review queue: deferred tickets not yet reviewed, most urgent risk first (a priority risk, then the
oldest), with filters and counts per reason.

>>> queue(store, QueueFilter(reason="priority_risk"), limit=20)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select

from triage.store.engine import Store
from triage.store.models import decision_reasons, decisions, tickets
from triage.store.types import utcnow


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Narrows the queue; every field left None does not filter."""

    reason: str | None = None  # a reason code, e.g. low_confidence
    head: str | None = None  # tickets with a reason on this head
    category: str | None = None  # suggested category
    tier: str | None = None  # suggested tier
    channel: str | None = None
    older_than: timedelta | None = None  # received at least this long ago
    newer_than: timedelta | None = None  # received at most this long ago
    search: str | None = None  # a substring of subject or body (case-insensitive)


@dataclass(frozen=True, slots=True)
class QueueItem:
    id: str
    received_at: datetime
    channel: str | None
    subject: str | None
    category: str | None
    priority: str | None
    tier: str | None
    priority_risk: bool
    reasons: list[dict[str, Any]]
    claimed_by: str | None
    claimed_until: datetime | None
    version: int


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def conditions(filters: QueueFilter, now: datetime, *, with_reason: bool = True) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the queue (tickets joined to their latest decision) under ``filters``."""
    where: list[ColumnElement[bool]] = [decisions.c.outcome == "needs_review", tickets.c.reviewed_at.is_(None)]
    if with_reason and (filters.reason is not None or filters.head is not None):
        match = [decision_reasons.c.decision_id == tickets.c.decision_id]
        if filters.reason is not None:
            match.append(decision_reasons.c.code == filters.reason)
        if filters.head is not None:
            match.append(decision_reasons.c.head == filters.head)
        where.append(exists().where(*match))
    for column, value in ((decisions.c.category, filters.category), (decisions.c.tier, filters.tier)):
        if value is not None:
            where.append(column == value)
    if filters.channel is not None:
        where.append(tickets.c.channel == filters.channel)
    if filters.older_than is not None:
        where.append(tickets.c.received_at <= now - filters.older_than)
    if filters.newer_than is not None:
        where.append(tickets.c.received_at >= now - filters.newer_than)
    if filters.search:
        pattern = _like(filters.search)
        where.append(or_(tickets.c.subject.ilike(pattern, escape="\\"), tickets.c.body.ilike(pattern, escape="\\")))
    return where


def queue_select(filters: QueueFilter, now: datetime) -> Select[Any]:
    """The queue, most urgent first: tickets with a priority risk, then by age (oldest first)."""
    return (
        select(
            tickets.c.id,
            tickets.c.received_at,
            tickets.c.channel,
            tickets.c.subject,
            decisions.c.category,
            decisions.c.priority,
            decisions.c.tier,
            decisions.c.priority_risk,
            decisions.c.reasons,
            tickets.c.claimed_by,
            tickets.c.claimed_until,
            tickets.c.version,
        )
        .join(decisions, decisions.c.id == tickets.c.decision_id)
        .where(*conditions(filters, now))
        .order_by(decisions.c.priority_risk.desc(), tickets.c.received_at, tickets.c.id)
    )


def unclaimed(agent: str, now: datetime) -> ColumnElement[bool]:
    """A ticket no other agent holds: never claimed, claim expired, or claimed by ``agent``."""
    return or_(tickets.c.claimed_by.is_(None), tickets.c.claimed_until < now, tickets.c.claimed_by == agent)


def queue(
    store: Store, filters: QueueFilter | None = None, *, limit: int = 50, offset: int = 0, now: datetime | None = None
) -> list[QueueItem]:
    """A page of the queue."""
    query = queue_select(filters or QueueFilter(), now or utcnow()).limit(limit).offset(offset)
    with store.read() as conn:
        return [QueueItem(**row._mapping) for row in conn.execute(query)]


def queue_size(store: Store, filters: QueueFilter | None = None, *, now: datetime | None = None) -> int:
    query = (
        select(func.count())
        .select_from(tickets.join(decisions, decisions.c.id == tickets.c.decision_id))
        .where(*conditions(filters or QueueFilter(), now or utcnow()))
    )
    with store.read() as conn:
        return int(conn.execute(query).scalar_one())


def reason_counts(
    store: Store, filters: QueueFilter | None = None, *, now: datetime | None = None
) -> dict[tuple[str, str | None], int]:
    """How many queued tickets have each reason, as ``{(code, head or None): count}``, under ``filters``
    except their reason and head (the counts of the desk's reason tabs)."""
    query = (
        select(decision_reasons.c.code, decision_reasons.c.head, func.count())
        .select_from(
            tickets.join(decisions, decisions.c.id == tickets.c.decision_id).join(
                decision_reasons, and_(decision_reasons.c.decision_id == decisions.c.id)
            )
        )
        .where(*conditions(filters or QueueFilter(), now or utcnow(), with_reason=False))
        .group_by(decision_reasons.c.code, decision_reasons.c.head)
    )
    with store.read() as conn:
        return {(code, head or None): int(n) for code, head, n in conn.execute(query)}
