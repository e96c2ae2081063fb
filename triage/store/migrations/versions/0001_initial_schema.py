"""Initial schema: tickets, decisions and their reasons, reviews, agents, an append-only audit log, the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, nullable: bool = False, **kwargs: object) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kwargs)  # type: ignore[arg-type]


def _label(name: str) -> sa.Column:
    return sa.Column(name, sa.String(100), nullable=True)


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(200), primary_key=True, comment="the ticketing system's id, or generated"),
        _time("received_at", comment="first received"),
        _time("updated_at", comment="last (re-)received"),
        sa.Column("times_received", sa.Integer, nullable=False),
        _time("created_at", nullable=True, comment="created in the ticketing system"),
        sa.Column("channel", sa.String(100), nullable=True),
        sa.Column("subject", sa.Text, nullable=True, comment="cleaned; NULL once purged"),
        sa.Column("body", sa.Text, nullable=True, comment="cleaned; NULL once purged"),
        sa.Column("truncated", sa.Boolean, nullable=False),
        _time("text_purged_at", nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("decision_id", sa.String(36), nullable=True, comment="the latest decision"),
        sa.Column("version", sa.Integer, nullable=False, comment="optimistic lock of the review state"),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        _time("claimed_until", nullable=True),
        sa.Column("reviewed_by", sa.String(100), nullable=True),
        _time("reviewed_at", nullable=True),
        sa.Column("review_id", BIG_ID, nullable=True, comment="the latest review"),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
    )
    op.create_index("ix_tickets_received_at", "tickets", ["received_at"])
    op.create_index("ix_tickets_reviewed_at", "tickets", ["reviewed_at"])
    op.create_index("ix_tickets_decision_id", "tickets", ["decision_id"])

    op.create_table(
        "decisions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        _time("decided_at"),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("model_version", sa.String(100), nullable=False),
        _label("category"),
        _label("priority"),
        _label("tier"),
        sa.Column("priority_risk", sa.Boolean, nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("heads", JSON, nullable=False, comment="per head: label, confidence, threshold, ..."),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_decisions_ticket_id_tickets", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_decisions_ticket_id", "decisions", ["ticket_id"])
    op.create_index("ix_decisions_category", "decisions", ["category"])
    op.create_index("ix_decisions_tier", "decisions", ["tier"])
    op.create_index("ix_decisions_outcome_risk", "decisions", ["outcome", "priority_risk"])

    op.create_table(
        "decision_reasons",
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("head", sa.String(50), nullable=False, comment="'' when no head"),
        sa.PrimaryKeyConstraint("decision_id", "code", "head", name="pk_decision_reasons"),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name="fk_decision_reasons_decision_id_decisions", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_decision_reasons_code_head", "decision_reasons", ["code", "head"])

    op.create_table(
        "agents",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        _time("created_at"),
        _time("disabled_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
        sa.UniqueConstraint("name", name="uq_agents_name"),
    )

    op.create_table(
        "reviews",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("decision_id", sa.String(36), nullable=True, comment="the decision the reviewer saw"),
        sa.Column("agent", sa.String(100), nullable=False),
        sa.Column("source", sa.String(20), nullable=False, comment="desk or api"),
        _time("reviewed_at"),
        sa.Column("provenance", sa.String(20), nullable=False, comment="accepted, corrected or not_a_ticket"),
        _label("category"),
        _label("priority"),
        _label("tier"),
        sa.Column("changed", JSON, nullable=False, comment="heads whose suggestion was changed"),
        sa.PrimaryKeyConstraint("id", name="pk_reviews"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_reviews_ticket_id_tickets", ondelete="CASCADE"),
    )
    op.create_index("ix_reviews_ticket_id", "reviews", ["ticket_id"])
    op.create_index("ix_reviews_reviewed_at", "reviews", ["reviewed_at"])

    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        _time("at"),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_ticket_id", "audit_log", ["ticket_id"])
    _append_only("audit_log")

    op.create_table(
        "outbox",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        _time("created_at"),
        sa.Column("attempts", sa.Integer, nullable=False),
        _time("next_attempt_at"),
        _time("delivered_at", nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_pending", "outbox", ["delivered_at", "next_attempt_at"])


def _append_only(table: str) -> None:
    """Triggers that refuse UPDATE and DELETE of ``table``'s rows (TRUNCATE, an administrator's act, is left)."""
    message = f"{table} is append-only"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def downgrade() -> None:
    for table in ("outbox", "audit_log", "reviews", "agents", "decision_reasons", "decisions", "tickets"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
