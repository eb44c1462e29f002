"""Identity: the signed trust lists in force, so a restart keeps the last good list.

Revision ID: identity_0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "identity_0001"
down_revision = None
branch_labels = ("identity",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trust_lists",
        sa.Column("jurisdiction", sa.String(2), primary_key=True),
        sa.Column("sequence_number", sa.BigInteger(), nullable=False),
        sa.Column("issue_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("trust_lists")
