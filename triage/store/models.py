"""The tables of the store, as SQLAlchemy 2 declarative models.

``tickets`` holds one row per ticket id (a re-send updates it) with its review state: the optimistic
``version``, the claim, who reviewed it last. Every decision and every review is kept beside it
(``decisions``, ``decision_reasons``, ``reviews``); ``audit_log`` is append-only (triggers refuse updates and
deletes); ``outbox`` holds the webhook deliveries written with each review; ``outcomes`` the
final labels the ticketing system reported for resolved tickets; ``model_reloads`` the reloads every replica
follows. ``subject`` and ``body`` are the
cleaned text the model read; they become NULL once older than the retention, the labels stay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, MetaData, String, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from triage.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
Json = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only
Label = String(100)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


TEXT_KEPT = text("text_purged_at IS NULL")  # the text purge reads tickets by age among these (migration 0003)


def waiting_index(name: str, *columns: str) -> Index:
    """A partial index of the tickets waiting for review, in queue order after ``columns`` (SQLite uses a partial
    index only when the query repeats its WHERE term as written: ``waiting = 1``)."""
    return Index(name, *columns, "queue_rank", "received_at", "id",
                 sqlite_where=text("waiting = 1"), postgresql_where=text("waiting"))  # fmt: skip


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        waiting_index("ix_tickets_waiting"),
        waiting_index("ix_tickets_waiting_category", "category"),
        waiting_index("ix_tickets_waiting_tier", "tier"),
        waiting_index("ix_tickets_waiting_channel", "channel"),
        Index("ix_tickets_text_kept", "updated_at", sqlite_where=TEXT_KEPT, postgresql_where=TEXT_KEPT),
    )

    id: Mapped[str] = mapped_column(String(200), primary_key=True, comment="the ticketing system's id, or generated")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, comment="first received")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="last (re-)received")
    times_received: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="created in the ticketing system")
    channel: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(Text, comment="cleaned; NULL once purged")
    body: Mapped[str | None] = mapped_column(Text, comment="cleaned; NULL once purged")
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    text_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", Json, default=dict)
    decision_id: Mapped[str | None] = mapped_column(String(36), index=True, comment="the latest decision")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="optimistic lock of the review state")
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    review_id: Mapped[int | None] = mapped_column(BigId, comment="the latest review")
    # the queue, kept on the row by the recorder and the reviews (migration 0002): no join to find the queue
    waiting: Mapped[bool] = mapped_column(Boolean, default=False, comment="deferred, not reviewed: in the queue")
    queue_rank: Mapped[int] = mapped_column(Integer, default=1, comment="0: the latest decision has a priority risk")
    category: Mapped[str | None] = mapped_column(Label, comment="suggested by the latest decision")
    tier: Mapped[str | None] = mapped_column(Label, comment="suggested by the latest decision")


class DecisionRow(Base):
    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_outcome_risk", "outcome", "priority_risk"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20))
    model_version: Mapped[str] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(Label, index=True)
    priority: Mapped[str | None] = mapped_column(Label)
    tier: Mapped[str | None] = mapped_column(Label, index=True)
    priority_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    heads: Mapped[dict[str, Any]] = mapped_column(Json, comment="per head: label, confidence, threshold, ...")


class DecisionReason(Base):
    """One reason of a decision, as a row: the queue filters and counts by it."""

    __tablename__ = "decision_reasons"
    __table_args__ = (Index("ix_decision_reasons_code_head", "code", "head"),)

    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    head: Mapped[str] = mapped_column(String(50), primary_key=True, default="", comment="'' when no head")


class QueueReason(Base):
    """A key of a waiting ticket's reasons, in queue order: ``(code, head)`` of each reason, and ``(code, '*')``,
    ``('*', head)``, ``('*', '*')``, so that any reason or head filter is one index range. Rows exist only
    while the ticket waits; the recorder and the reviews keep them."""

    __tablename__ = "queue_reasons"
    __table_args__ = (Index("ix_queue_reasons_key", "code", "head", "queue_rank", "received_at", "ticket_id"),)

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(50), primary_key=True, comment="'*': any")
    head: Mapped[str] = mapped_column(String(50), primary_key=True, comment="'' when no head, '*': any")
    queue_rank: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QueueCount(Base):
    """How many waiting tickets have each key of :class:`QueueReason`, changed in the transaction that changes
    the keys (``('*', '*')``: the queue's size)."""

    __tablename__ = "queue_counts"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    head: Mapped[str] = mapped_column(String(50), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    decision_id: Mapped[str | None] = mapped_column(String(36), comment="the decision the reviewer saw")
    agent: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20), comment="desk or api")
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    provenance: Mapped[str] = mapped_column(String(20), comment="accepted, corrected or not_a_ticket")
    category: Mapped[str | None] = mapped_column(Label)
    priority: Mapped[str | None] = mapped_column(Label)
    tier: Mapped[str | None] = mapped_column(Label)
    changed: Mapped[list[str]] = mapped_column(Json, default=list, comment="heads whose suggestion was changed")


class AuditEntry(Base):
    """Append-only: the migration adds triggers that refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    ticket_id: Mapped[str | None] = mapped_column(String(200), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class OutboxEntry(Base):
    """A webhook delivery, written in the transaction of the review it reports."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # the lease of the replica sending it (migration 0004): one sender at a time across replicas
    claimed_by: Mapped[str | None] = mapped_column(String(200), comment="the sender holding the lease")
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="another may take it after")


class ModelReload(Base):
    """A reload published to every replica (``POST /v1/admin/reload`` on any of them): each polls the latest
    row and loads ``source`` when its generation is new."""

    __tablename__ = "model_reloads"

    generation: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str | None] = mapped_column(
        String(1000), comment="bundle folder or models:/ URI; NULL: each replica's configured model"
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    origin: Mapped[str] = mapped_column(String(200), comment="the replica that published it")


class Outcome(Base):
    """The final labels the ticketing system gave a resolved ticket: one per ticket, the later one replaces an
    earlier (by ``resolved_at``)."""

    __tablename__ = "outcomes"

    ticket_id: Mapped[str] = mapped_column(String(200), ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(50), comment="api, servicenow, zendesk, jira, ...")
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="resolved in the ticketing system")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, comment="when triage got it")
    category: Mapped[str | None] = mapped_column(Label)
    priority: Mapped[str | None] = mapped_column(Label)
    tier: Mapped[str | None] = mapped_column(Label)
    disagrees: Mapped[list[str]] = mapped_column(
        Json, default=list, comment="heads where it differs from the latest agent review"
    )


tickets: Table = cast(Table, Ticket.__table__)
decisions: Table = cast(Table, DecisionRow.__table__)
decision_reasons: Table = cast(Table, DecisionReason.__table__)
reviews: Table = cast(Table, Review.__table__)
agents: Table = cast(Table, Agent.__table__)
audit_log: Table = cast(Table, AuditEntry.__table__)
outbox: Table = cast(Table, OutboxEntry.__table__)
queue_reasons: Table = cast(Table, QueueReason.__table__)
queue_counts: Table = cast(Table, QueueCount.__table__)
outcomes: Table = cast(Table, Outcome.__table__)
model_reloads: Table = cast(Table, ModelReload.__table__)
