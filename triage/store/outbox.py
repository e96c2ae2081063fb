"""The webhook outbox: a delivery is written in the transaction of the review it reports (never lost, never
sent for a review that was rolled back); a deliverer claims the due rows and marks each delivered or failed.

Replicas on one database deliver side by side: :func:`claim` gives each due row to one sender for a lease (one
``WITH due AS MATERIALIZED (SELECT ... FOR UPDATE SKIP LOCKED) UPDATE ... FROM due ... RETURNING``; on SQLite,
the same statement in its single-writer transaction), so a delivery is sent once unless its sender dies or
overruns the lease, after which another replica takes it (at least once: receivers deduplicate on the
delivery id).

>>> deliveries = claim(store, owner="host-a:4711", lease=timedelta(minutes=5))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, insert, or_, select, update

from triage.store.engine import Store
from triage.store.models import outbox
from triage.store.types import utcnow

MAX_BACKOFF = timedelta(hours=6)
LEASE = timedelta(minutes=5)
"""How long a claimed delivery is its sender's: longer than a batch takes to send (the sender stops early)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    ticket_id: str
    payload: dict[str, Any]
    attempts: int


def enqueue(conn: Connection, ticket_id: str, payload: dict[str, Any], *, now: datetime | None = None) -> None:
    """Add a delivery inside the caller's transaction."""
    now = now or utcnow()
    values = {"ticket_id": ticket_id, "payload": payload, "created_at": now, "attempts": 0, "next_attempt_at": now}
    conn.execute(insert(outbox), values)


def due(store: Store, *, limit: int = 50, now: datetime | None = None) -> list[Delivery]:
    """Undelivered rows whose next attempt is due, oldest first."""
    query = (
        select(outbox.c.id, outbox.c.ticket_id, outbox.c.payload, outbox.c.attempts)
        .where(outbox.c.delivered_at.is_(None), outbox.c.next_attempt_at <= (now or utcnow()))
        .order_by(outbox.c.id)
        .limit(limit)
    )
    with store.read() as conn:
        return [Delivery(**row._mapping) for row in conn.execute(query)]


def _free(now: datetime) -> ColumnElement[bool]:
    """Nobody holds the row's lease (never claimed, released, or the lease ran out)."""
    return or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now)


def claim(
    store: Store, *, owner: str, lease: timedelta = LEASE, limit: int = 50, now: datetime | None = None
) -> list[Delivery]:
    """Take up to ``limit`` due rows nobody holds, oldest first, for ``owner`` until ``now + lease``. Rows
    another sender is claiming at this moment are skipped (``SKIP LOCKED``), not waited for; the row's state
    is checked again under its lock, so two senders never hold one row."""
    now = now or utcnow()
    pending = (outbox.c.delivered_at.is_(None), outbox.c.next_attempt_at <= now, _free(now))
    # Materialised: run once. As `id IN (subquery)`, PostgreSQL may run a LIMIT ... FOR UPDATE subquery again
    # for rows of the outer scan and claim more than `limit` (the test caught three rows claimed for two).
    candidates = (
        select(outbox.c.id)
        .where(*pending)
        .order_by(outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    statement = (  # the conditions again on the updated row: a row sent meanwhile is never taken
        update(outbox)
        .where(outbox.c.id == candidates.c.id, *pending)
        .values(claimed_by=owner[:200], claimed_until=now + lease)
        .returning(outbox.c.id, outbox.c.ticket_id, outbox.c.payload, outbox.c.attempts)
    )
    with store.write() as conn:
        rows = conn.execute(statement).all()
    return sorted((Delivery(**row._mapping) for row in rows), key=lambda d: d.id)


def release(store: Store, delivery_ids: list[int], *, owner: str) -> int:
    """Give back claimed rows not sent (the sender stops early); returns how many."""
    if not delivery_ids:
        return 0
    with store.write() as conn:
        result = conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(delivery_ids), outbox.c.claimed_by == owner[:200], outbox.c.delivered_at.is_(None))
            .values(claimed_by=None, claimed_until=None)
        )
    return int(result.rowcount)


def mark_delivered(store: Store, delivery_id: int, *, now: datetime | None = None) -> None:
    with store.write() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == delivery_id)
            .values(
                delivered_at=now or utcnow(),
                attempts=outbox.c.attempts + 1,
                last_error=None,
                claimed_by=None,
                claimed_until=None,
            )
        )


def mark_failed(store: Store, delivery: Delivery, error: str, *, now: datetime | None = None) -> datetime:
    """Count a failed attempt and schedule the next one (30 s, doubling, at most 6 h later); returns its time.
    The lease is dropped: the next attempt is claimed afresh, by whichever replica comes first."""
    wait = min(timedelta(seconds=30 * 2**delivery.attempts), MAX_BACKOFF)
    next_at = (now or utcnow()) + wait
    with store.write() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == delivery.id)
            .values(
                attempts=outbox.c.attempts + 1,
                next_attempt_at=next_at,
                last_error=error[:500],
                claimed_by=None,
                claimed_until=None,
            )
        )
    return next_at
