"""Indexes for the retention sweep: sent outbox rows by when they were sent, inbox ids by when processed.

Revision ID: runtime_0002
Revises: runtime_0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "runtime_0002"
down_revision = "runtime_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Partial: unsent rows (the relay's) stay out of it, so marking a row sent is one index insert.
    op.create_index(
        "ix_outbox_sent_at",
        "outbox",
        ["sent_at"],
        postgresql_where=sa.text("sent_at IS NOT NULL"),
        sqlite_where=sa.text("sent_at IS NOT NULL"),
    )
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_processed_at", "inbox")
    op.drop_index("ix_outbox_sent_at", "outbox")
