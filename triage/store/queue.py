"""The review queue: deferred tickets not yet reviewed, most urgent risk first (a priority risk, then the
oldest), with filters and counts per reason.

Every page is one index range in queue order (:mod:`triage.store.waiting` keeps the queue on the ticket rows):
the partial index of waiting tickets, or of a suggested category, tier or channel, or the reason keys for a
filter by reason or head. The queue's size and the counts per reason are read from ``queue_counts``; under
other filters the size is counted up to ``cap`` (a page says "1,000+", not a number that takes a full scan).
A search over subject and body scans the waiting tickets' text: it is cut off after ``SEARCH_SECONDS``.

>>> queue(store, QueueFilter(reason="priority_risk"), limit=20)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, FromClause, Select, func, or_, select
from sqlalchemy.exc import OperationalError

from triage.store.engine import Store
from triage.store.errors import SearchTooSlow
from triage.store.models import decisions, queue_counts, queue_reasons, tickets
from triage.store.types import utcnow
from triage.store.waiting import ANY, TOTAL, Key, filter_key

SEARCH_SECONDS = 3.0
CAP = 1000


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

    @property
    def key(self) -> Key | None:
        """The reason key of the filter by reason and head."""
        return filter_key(self.reason, self.head)

    @property
    def narrowed(self) -> bool:
        """True when a filter other than reason and head is set (counts then need a query)."""
        return any(getattr(self, f.name) is not None for f in fields(self) if f.name not in ("reason", "head"))


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


@dataclass(frozen=True, slots=True)
class QueuePage:
    """A page of the queue and what the desk shows around it."""

    items: list[QueueItem]
    size: int  # tickets under the filters, exact or (capped) at least this many
    capped: bool  # True: more than ``size`` (the count stopped at the cap)
    total: int  # every waiting ticket
    counts: dict[tuple[str, str | None], int] | None  # per reason under the filters except reason/head; None: too many


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _source(filters: QueueFilter) -> tuple[FromClause, list[ColumnElement[bool]], list[Any]]:
    """Where the filtered queue is read from, its conditions and its order: the reason keys when a reason or
    head is chosen, else the waiting tickets themselves (``waiting`` as the partial indexes repeat it)."""
    key = filters.key
    if key is None:
        return tickets, [tickets.c.waiting], [tickets.c.queue_rank, tickets.c.received_at, tickets.c.id]
    source = queue_reasons.join(tickets, tickets.c.id == queue_reasons.c.ticket_id)
    where = [queue_reasons.c.code == key[0], queue_reasons.c.head == key[1]]
    return source, where, [queue_reasons.c.queue_rank, queue_reasons.c.received_at, queue_reasons.c.ticket_id]


def conditions(filters: QueueFilter, now: datetime) -> list[ColumnElement[bool]]:
    """The WHERE clauses of ``filters`` other than reason and head, on the ticket row."""
    where: list[ColumnElement[bool]] = []
    for column, value in ((tickets.c.category, filters.category), (tickets.c.tier, filters.tier),
                          (tickets.c.channel, filters.channel)):  # fmt: skip
        if value is not None:
            where.append(column == value)
    if filters.older_than is not None:
        where.append(tickets.c.received_at <= now - filters.older_than)
    if filters.newer_than is not None:
        where.append(tickets.c.received_at >= now - filters.newer_than)
    if filters.search:
        pattern = _like(filters.search)
        where.append(or_(tickets.c.subject.ilike(pattern, escape="\\"), tickets.c.body.ilike(pattern, escape="\\")))
    return where


def matching(filters: QueueFilter, now: datetime) -> Select[Any]:
    """The ids of the waiting tickets under ``filters``, in queue order."""
    source, where, order = _source(filters)
    return select(tickets.c.id).select_from(source).where(*where, *conditions(filters, now)).order_by(*order)


def queue_select(filters: QueueFilter, now: datetime) -> Select[Any]:
    """The queue, most urgent first: tickets with a priority risk, then by age (oldest first)."""
    source, where, order = _source(filters)
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
        .select_from(source.join(decisions, decisions.c.id == tickets.c.decision_id))
        .where(*where, *conditions(filters, now))
        .order_by(*order)
    )


def unclaimed(agent: str, now: datetime) -> ColumnElement[bool]:
    """A ticket no other agent holds: never claimed, claim expired, or claimed by ``agent``."""
    return or_(tickets.c.claimed_by.is_(None), tickets.c.claimed_until < now, tickets.c.claimed_by == agent)


def _counts(conn: Connection) -> dict[Key, int]:
    return {(c, h): int(n) for c, h, n in conn.execute(select(queue_counts).where(queue_counts.c.n > 0))}


def _per_reason(counts: dict[Key, int]) -> dict[tuple[str, str | None], int]:
    return {(c, h or None): n for (c, h), n in counts.items() if ANY not in (c, h)}


def _counted(conn: Connection, filters: QueueFilter, now: datetime, cap: int | None) -> int:
    ids = matching(filters, now).order_by(None)
    if cap is not None:
        ids = ids.limit(cap + 1)
    return int(conn.execute(select(func.count()).select_from(ids.subquery())).scalar_one())


def _grouped(conn: Connection, filters: QueueFilter, now: datetime) -> dict[tuple[str, str | None], int]:
    """Counts per reason of the tickets under ``filters`` except reason and head, by a query."""
    ids = matching(replace(filters, reason=None, head=None), now).order_by(None).subquery()
    query = (
        select(queue_reasons.c.code, queue_reasons.c.head, func.count())
        .where(
            queue_reasons.c.ticket_id.in_(select(ids.c.id)), queue_reasons.c.code != ANY, queue_reasons.c.head != ANY
        )
        .group_by(queue_reasons.c.code, queue_reasons.c.head)
    )
    return {(c, h or None): int(n) for c, h, n in conn.execute(query)}


class _Searching:
    """Reads under a time limit when the filters search text (PostgreSQL: ``statement_timeout``; SQLite: a
    progress handler that interrupts the statement); a query cut off raises :class:`SearchTooSlow`."""

    def __init__(self, conn: Connection, filters: QueueFilter, seconds: float) -> None:
        self.conn, self.on, self.seconds = conn, bool(filters.search), seconds

    def __enter__(self) -> _Searching:
        if not self.on:
            return self
        if self.conn.dialect.name == "postgresql":
            self.conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, round(self.seconds * 1000))}")
        else:
            deadline = time.monotonic() + self.seconds
            self._raw().set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
        return self

    def _raw(self) -> Any:
        return self.conn.connection.driver_connection

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object) -> None:
        if self.on and self.conn.dialect.name == "sqlite":
            self._raw().set_progress_handler(None, 0)
        if self.on and isinstance(exc, OperationalError) and _timed_out(exc):
            raise SearchTooSlow(
                f"the search took longer than {self.seconds:.0f} s and was stopped: narrow it with a filter "
                "(reason, category, channel, age) or a longer word"
            ) from None


def _timed_out(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "interrupted" in text or "statement timeout" in text or "canceling statement" in text


def queue_page(
    store: Store,
    filters: QueueFilter | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
    cap: int = CAP,
    search_seconds: float = SEARCH_SECONDS,
) -> QueuePage:
    """A page of the queue with its size (exact from the counts, or counted up to ``cap`` under filters other
    than reason and head), the queue's total and the counts per reason (None when the filters match more than
    ``cap`` tickets), all in one transaction."""
    filters, now = filters or QueueFilter(), now or utcnow()
    store.settle()
    with store.read() as conn, _Searching(conn, filters, search_seconds):
        items = [
            QueueItem(**row._mapping) for row in conn.execute(queue_select(filters, now).limit(limit).offset(offset))
        ]
        counts = _counts(conn)
        total = counts.get(TOTAL, 0)
        if not filters.narrowed:
            size = counts.get(filters.key or TOTAL, 0)
            return QueuePage(items, size, False, total, _per_reason(counts))
        size = _counted(conn, filters, now, cap)
        capped = size > cap
        if capped:
            return QueuePage(items, cap, True, total, None)
        return QueuePage(items, size, False, total, _grouped(conn, filters, now))


def queue(
    store: Store, filters: QueueFilter | None = None, *, limit: int = 50, offset: int = 0, now: datetime | None = None
) -> list[QueueItem]:
    """A page of the queue."""
    filters = filters or QueueFilter()
    query = queue_select(filters, now or utcnow()).limit(limit).offset(offset)
    store.settle()
    with store.read() as conn, _Searching(conn, filters, SEARCH_SECONDS):
        return [QueueItem(**row._mapping) for row in conn.execute(query)]


def queue_size(store: Store, filters: QueueFilter | None = None, *, now: datetime | None = None) -> int:
    """How many tickets wait under ``filters`` (exact: from the counts, or counted)."""
    filters = filters or QueueFilter()
    store.settle()
    with store.read() as conn:
        if not filters.narrowed:
            return _counts(conn).get(filters.key or TOTAL, 0)
        with _Searching(conn, filters, SEARCH_SECONDS):
            return _counted(conn, filters, now or utcnow(), None)


def reason_counts(
    store: Store, filters: QueueFilter | None = None, *, now: datetime | None = None
) -> dict[tuple[str, str | None], int]:
    """How many queued tickets have each reason, as ``{(code, head or None): count}``, under ``filters``
    except their reason and head (the counts of the desk's reason tabs)."""
    filters = filters or QueueFilter()
    store.settle()
    with store.read() as conn:
        if not filters.narrowed:
            return _per_reason(_counts(conn))
        with _Searching(conn, filters, SEARCH_SECONDS):
            return _grouped(conn, filters, now or utcnow())
