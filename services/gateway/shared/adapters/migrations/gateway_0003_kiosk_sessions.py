"""Gateway kiosk sessions, shared by every replica: a token's hash, its expiry, and what it carries, sealed.

Revision ID: gateway_0003
Revises: gateway_0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0003"
down_revision = "gateway_0002"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kiosk_sessions",
        # SHA-256 of the bearer token: a copy of the table opens no session.
        sa.Column("token_sha256", sa.LargeBinary(32), primary_key=True),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        # Epoch milliseconds: compared the same way on SQLite and PostgreSQL, by every replica.
        sa.Column("expires_at_ms", BigInt, nullable=False),
        # AES-256-GCM under the binding number key, bound to the row: the people and quotes of the
        # session. NULL once the session has expired (nothing personal outlives it).
        sa.Column("state_enc", sa.LargeBinary, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at_ms", BigInt, nullable=False),
    )
    # The purge of long-expired sessions and the count of open ones read by expiry.
    op.create_index("ix_kiosk_sessions_expires", "kiosk_sessions", ["expires_at_ms"])


def downgrade() -> None:
    op.drop_index("ix_kiosk_sessions_expires", "kiosk_sessions")
    op.drop_table("kiosk_sessions")
