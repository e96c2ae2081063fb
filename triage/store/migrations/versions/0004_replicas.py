"""Replicas on one database: the webhook outbox's lease (``claimed_by``, ``claimed_until``), so that each
delivery is sent by one replica at a time, and ``model_reloads``, the reloads every replica follows.

Plain ``add_column`` on ``outbox`` (nullable columns: no table rebuild on SQLite).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column(
        "outbox", sa.Column("claimed_by", sa.String(200), nullable=True, comment="the sender holding the lease")
    )
    op.add_column(
        "outbox",
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True, comment="another may take it after"),
    )
    op.create_table(
        "model_reloads",
        sa.Column("generation", BIG_ID, autoincrement=True, nullable=False),
        sa.Column(
            "source",
            sa.String(1000),
            nullable=True,
            comment="bundle folder or models:/ URI; NULL: each replica's configured model",
        ),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.String(200), nullable=False, comment="the replica that published it"),
        sa.PrimaryKeyConstraint("generation", name="pk_model_reloads"),
    )


def downgrade() -> None:
    op.drop_table("model_reloads")
    # SQLite >= 3.35 drops a column in place (no table rebuild)
    op.drop_column("outbox", "claimed_until")
    op.drop_column("outbox", "claimed_by")
