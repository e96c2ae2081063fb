"""The webhook outbox: a delivery is written in the transaction of the review it reports (never lost, never
sent for a review that was rolled back); a deliverer takes the due rows and marks each delivered or failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from triage.store.engine import Store
from triage.store.models import outbox
from triage.store.types import utcnow

MAX_BACKOFF = timedelta(hours=6)


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


def mark_delivered(store: Store, delivery_id: int, *, now: datetime | None = None) -> None:
    with store.write() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == delivery_id)
            .values(delivered_at=now or utcnow(), attempts=outbox.c.attempts + 1, last_error=None)
        )


def mark_failed(store: Store, delivery: Delivery, error: str, *, now: datetime | None = None) -> datetime:
    """Count a failed attempt and schedule the next one (30 s, doubling, at most 6 h later); returns its time."""
    wait = min(timedelta(seconds=30 * 2**delivery.attempts), MAX_BACKOFF)
    next_at = (now or utcnow()) + wait
    with store.write() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == delivery.id)
            .values(attempts=outbox.c.attempts + 1, next_attempt_at=next_at, last_error=error[:500])
        )
    return next_at
