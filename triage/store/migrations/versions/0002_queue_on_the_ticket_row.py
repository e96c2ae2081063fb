"""The review queue kept on the ticket row: ``waiting``, ``queue_rank``, suggested ``category`` and ``tier`` with
partial indexes in queue order; ``queue_reasons`` (the reason keys of waiting tickets, in queue order) and
``queue_counts`` (how many waiting tickets per key). Existing rows are filled from their latest decision.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

WAITING: list[tuple[str, tuple[str, ...]]] = [("ix_tickets_waiting", ())] + [
    (f"ix_tickets_waiting_{c}", (c,)) for c in ("category", "tier", "channel")
]


def upgrade() -> None:
    # plain ALTER TABLE ADD/DROP COLUMN on both databases, never a batch copy: on SQLite, copying and dropping
    # ``tickets`` would cascade to its decisions and reviews (foreign keys are on)
    op.add_column("tickets", sa.Column("waiting", sa.Boolean, nullable=False, server_default=sa.false(),
                                       comment="deferred, not reviewed: in the queue"))  # fmt: skip
    op.add_column("tickets", sa.Column("queue_rank", sa.Integer, nullable=False, server_default="1",
                                       comment="0: the latest decision has a priority risk"))  # fmt: skip
    for name in ("category", "tier"):
        op.add_column(
            "tickets", sa.Column(name, sa.String(100), nullable=True, comment="suggested by the latest decision")
        )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, columns in WAITING:
        op.create_index(name, "tickets", [*columns, "queue_rank", "received_at", "id"],
                        sqlite_where=sa.text("waiting = 1"), postgresql_where=sa.text("waiting"))  # fmt: skip

    op.create_table(
        "queue_reasons",
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("code", sa.String(50), nullable=False, comment="'*': any"),
        sa.Column("head", sa.String(50), nullable=False, comment="'' when no head, '*': any"),
        sa.Column("queue_rank", sa.Integer, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "code", "head", name="pk_queue_reasons"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_queue_reasons_ticket_id_tickets", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_queue_reasons_key", "queue_reasons", ["code", "head", "queue_rank", "received_at", "ticket_id"])
    op.create_table(
        "queue_counts",
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("head", sa.String(50), nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("code", "head", name="pk_queue_counts"),
    )
    _backfill(sqlite)


def _backfill(sqlite: bool) -> None:
    """Fill the new columns and tables from each ticket's latest decision, in set-based statements."""
    true, false = ("1", "0") if sqlite else ("true", "false")
    latest = "SELECT {} FROM decisions d WHERE d.id = tickets.decision_id"
    deferred = latest.format("d.outcome = 'needs_review'")
    op.execute(
        f"UPDATE tickets SET "
        f"category = ({latest.format('d.category')}), tier = ({latest.format('d.tier')}), "
        f"queue_rank = COALESCE(({latest.format(f'CASE WHEN d.priority_risk = {true} THEN 0 ELSE 1 END')}), 1), "
        f"waiting = (reviewed_at IS NULL AND COALESCE(({deferred}), {false}))"
    )
    reasons = (
        "SELECT t.id AS ticket_id, r.code AS code, r.head AS head, t.queue_rank AS queue_rank, "
        f"t.received_at AS received_at FROM tickets t JOIN decision_reasons r ON r.decision_id = t.decision_id "
        f"WHERE t.waiting = {true}"
    )
    keys = (
        f"SELECT ticket_id, code, head, queue_rank, received_at FROM ({reasons}) x "
        f"UNION SELECT ticket_id, code, '*', queue_rank, received_at FROM ({reasons}) x "
        f"UNION SELECT ticket_id, '*', head, queue_rank, received_at FROM ({reasons}) x WHERE head <> '' "
        f"UNION SELECT id, '*', '*', queue_rank, received_at FROM tickets WHERE waiting = {true}"
    )
    op.execute(f"INSERT INTO queue_reasons (ticket_id, code, head, queue_rank, received_at) {keys}")
    op.execute(
        "INSERT INTO queue_counts (code, head, n) SELECT code, head, count(*) FROM queue_reasons GROUP BY code, head"
    )


def downgrade() -> None:
    op.drop_table("queue_counts")
    op.drop_table("queue_reasons")
    for name, _ in WAITING:
        op.drop_index(name, "tickets")
    for column in ("tier", "category", "queue_rank", "waiting"):
        op.execute(f"ALTER TABLE tickets DROP COLUMN {column}")  # SQLite 3.35+ and PostgreSQL; no table copy
