"""Recording each triaged ticket on the hot path: one transaction, a few precompiled Core statements (the driver
prepares them once reused), no ORM objects.

A re-sent ticket id updates its row (``INSERT ... ON CONFLICT DO UPDATE``, atomic on both dialects) and adds
its new decision; the review state is kept. The same transaction keeps the review queue (:mod:`.waiting`): the
ticket's ``waiting`` flag and sort key, its reason keys and the counts per reason. When the database fails,
:meth:`Recorder.record` returns False at once, counts the miss and, for ``retry_after`` seconds, does not try
again (no request waits on a dead server); the service answers ``"recorded": false``. On SQLite a recording
waits at most ``wait`` seconds for another writer (say, a purge).

>>> recorder = Recorder(Store.from_url("sqlite:///triage.db"))  # doctest: +SKIP
>>> recorder.record(TicketRecord(id="INC1", subject="VPN down", body=""), decision)  # doctest: +SKIP
True
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from triage.data.mapping import HEADS
from triage.decision import Decision
from triage.store.engine import Store
from triage.store.errors import StoreUnavailable
from triage.store.models import decision_reasons, decisions, outcomes, tickets
from triage.store.records import TicketRecord
from triage.store.types import utcnow
from triage.store.waiting import count, join, leave

log = logging.getLogger(__name__)

_UPDATED_ON_RESEND = (
    "updated_at", "created_at", "channel", "subject", "body", "truncated", "metadata", "decision_id",
    "queue_rank", "category", "tier",
)  # fmt: skip


def _upsert(dialect: str) -> Any:
    """The ticket upsert of ``dialect``: a re-send refreshes text, metadata and latest decision, counts itself
    and un-purges nothing it did not receive again; version, claim and review state are left alone."""
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(tickets)
    update: dict[str, Any] = {name: ins.excluded[name] for name in _UPDATED_ON_RESEND}
    update["created_at"] = func.coalesce(ins.excluded.created_at, tickets.c.created_at)
    update["times_received"] = tickets.c.times_received + 1
    update["text_purged_at"] = None
    # the existing row, as the statement names it (SQLAlchemy does not correlate into an INSERT's ON CONFLICT)
    resolved = exists().where(outcomes.c.ticket_id == literal_column("tickets.id"))
    # a reviewed ticket stays done, and so does one the ticketing system resolved (an outcome, :mod:`.outcomes`)
    update["waiting"] = and_(ins.excluded.waiting, tickets.c.reviewed_at.is_(None), ~resolved)
    return ins.on_conflict_do_update(index_elements=[tickets.c.id], set_=update).returning(
        tickets.c.id, tickets.c.waiting, tickets.c.queue_rank, tickets.c.received_at
    )


def decision_values(ticket_id: str, decision: Decision, decided_at: datetime) -> tuple[dict[str, Any], list[dict]]:
    """The ``decisions`` row of a decision and its ``decision_reasons`` rows."""
    decision_id = uuid.uuid4().hex
    heads = {head: s.model_dump(mode="json") for head, s in decision.heads.items()}
    labels = {head: (heads[head]["label"] if head in heads else None) for head in HEADS}
    reasons = [r.model_dump(mode="json") for r in decision.reasons]
    row = {
        "id": decision_id,
        "ticket_id": ticket_id,
        "decided_at": decided_at,
        "outcome": decision.outcome.value,
        "model_version": decision.model_version,
        **labels,
        "priority_risk": any(r.code == "priority_risk" for r in decision.reasons),
        "reasons": reasons,
        "heads": heads,
    }
    keys = {(r.code, r.head or "") for r in decision.reasons}
    return row, [{"decision_id": decision_id, "code": code, "head": head} for code, head in sorted(keys)]


class Recorder:
    """Records tickets and decisions; never raises for a database failure (returns False and counts it)."""

    def __init__(
        self,
        store: Store,
        *,
        retry_after: float = 5.0,
        wait: float = 2.0,
        on_miss: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.retry_after = retry_after
        self.wait = wait
        self.on_miss = on_miss
        self.misses = 0
        self.last_error: str | None = None  # the class of the last failure, e.g. OperationalError
        self.last_exception: Exception | None = None
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._upsert = _upsert(store.dialect)
        self._insert_decision = insert(decisions)
        self._insert_reasons = insert(decision_reasons)

    @property
    def down(self) -> bool:
        """True while recording is paused after a failure (``retry_after`` seconds)."""
        return time.monotonic() < self._down_until

    def record(self, ticket: TicketRecord, decision: Decision, *, received_at: datetime | None = None) -> bool:
        """Store one ticket and its decision; False (and a counted miss) when the database failed."""
        return self.record_many([(ticket, decision)], received_at=received_at)

    def record_many(
        self, items: Sequence[tuple[TicketRecord, Decision]], *, received_at: datetime | None = None
    ) -> bool:
        """Store a batch in one transaction: all recorded (True) or none (False, each counted as a miss)."""
        if not items:
            return True
        if self.down:
            self._missed(len(items))
            return False
        now = received_at or utcnow()
        return self._write([(ticket, decision, now) for ticket, decision in items])

    def _write(self, items: Sequence[tuple[TicketRecord, Decision, datetime]]) -> bool:
        """Store ``(ticket, decision, received at)`` items in one transaction; False (counted) when it failed."""
        ticket_rows: dict[str, dict[str, Any]] = {}
        keys: dict[str, list[tuple[str, str]]] = {}
        decision_rows, reason_rows = [], []
        for ticket, decision, now in items:
            row, reasons = decision_values(ticket.id, decision, now)
            ticket_rows[ticket.id] = self._ticket_values(ticket, row, now)  # a repeated id: the last wins
            keys[ticket.id] = [(r["code"], r["head"]) for r in reasons]
            decision_rows.append(row)
            reason_rows += reasons
        try:
            with self.store.write(wait=self.wait) as conn:
                # sorted ids: concurrent batches lock rows in one order (no deadlock on PostgreSQL)
                ids = sorted(ticket_rows)
                stored = conn.execute(self._upsert, [ticket_rows[k] for k in ids]).all()
                conn.execute(self._insert_decision, decision_rows)
                if reason_rows:
                    conn.execute(self._insert_reasons, reason_rows)
                removed = leave(conn, ids)
                added = join(conn, [(r.id, r.queue_rank, r.received_at) for r in stored if r.waiting], keys)
                count(conn, added, removed)
        except (SQLAlchemyError, StoreUnavailable) as exc:
            self.last_exception = exc
            if isinstance(exc.__cause__, PoolTimeout):  # every connection busy: a miss, but the database is up
                self._missed(len(items))
            else:
                self._failed(exc, len(items))
            return False
        self._down_until = 0.0
        return True

    @staticmethod
    def _ticket_values(ticket: TicketRecord, decision: dict[str, Any], now: datetime) -> dict[str, Any]:
        return {
            "id": ticket.id,
            "received_at": now,
            "updated_at": now,
            "times_received": 1,
            "created_at": ticket.created_at,
            "channel": ticket.channel,
            "subject": ticket.subject,
            "body": ticket.body,
            "truncated": ticket.truncated,
            "text_purged_at": None,
            "metadata": dict(ticket.metadata),
            "decision_id": decision["id"],
            "version": 1,
            "waiting": decision["outcome"] == "needs_review",
            "queue_rank": 0 if decision["priority_risk"] else 1,
            "category": decision["category"],
            "tier": decision["tier"],
        }

    def _failed(self, exc: Exception, n: int) -> None:
        was_up = self._down_until == 0.0
        self._down_until = time.monotonic() + self.retry_after
        origin = exc.__cause__ if isinstance(exc, StoreUnavailable) else exc
        cause = self.last_error = type(getattr(origin, "orig", None) or origin).__name__
        self._missed(n)
        if was_up:  # one line per outage, not one per request; the error's class only (no statement, no text)
            log.warning(
                "recording failed (%s): tickets are answered unrecorded, next try in %.0fs", cause, self.retry_after
            )

    def _missed(self, n: int) -> None:
        with self._lock:
            self.misses += n
        if self.on_miss is not None:
            self.on_miss(n)
