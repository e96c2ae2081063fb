"""Outcomes: the final labels the ticketing system reports for a resolved ticket, one per ticket; and the index
the text purge reads (tickets whose text is kept, by ``updated_at``), so a purge at each start is no full scan.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "outcomes",
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("source", sa.String(50), nullable=False, comment="api, servicenow, zendesk, jira, ..."),
        sa.Column(
            "resolved_at", sa.DateTime(timezone=True), nullable=False, comment="resolved in the ticketing system"
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, comment="when triage got it"),
        sa.Column("category", sa.String(100), nullable=True),
        sa.Column("priority", sa.String(100), nullable=True),
        sa.Column("tier", sa.String(100), nullable=True),
        sa.Column("disagrees", JSON, nullable=False, comment="heads where it differs from the latest agent review"),
        sa.PrimaryKeyConstraint("ticket_id", name="pk_outcomes"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_outcomes_ticket_id_tickets", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_outcomes_received_at", "outcomes", ["received_at"])
    kept = sa.text("text_purged_at IS NULL")
    op.create_index("ix_tickets_text_kept", "tickets", ["updated_at"], sqlite_where=kept, postgresql_where=kept)


def downgrade() -> None:
    op.drop_index("ix_tickets_text_kept", "tickets")
    op.drop_table("outcomes")
