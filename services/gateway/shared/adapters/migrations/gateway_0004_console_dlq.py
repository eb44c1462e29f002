"""Operator console: how each dead letter was resolved (replayed or discarded), once.

Revision ID: gateway_0004
Revises: gateway_0003 (kiosk sessions)
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0004"
down_revision = "gateway_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The primary key on dlq_id is what makes a replay happen once: a second operator's insert fails.
    op.create_table(
        "console_dlq_resolutions",
        sa.Column("dlq_id", sa.String(300), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),  # replayed | discarded
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("original_topic", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("console_dlq_resolutions")
