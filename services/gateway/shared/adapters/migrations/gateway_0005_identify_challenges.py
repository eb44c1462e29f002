"""Kiosk identify challenges: proof of possession of the e-Cert key, one nonce per attempt, single use.

Revision ID: gateway_0005
Revises: gateway_0004 (console dead-letter resolutions)
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0005"
down_revision = "gateway_0004"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kiosk_identify_challenges",
        sa.Column("challenge_id", sa.String(64), primary_key=True),
        # SHA-256 of the session token the challenge was issued to: only that session may answer it.
        sa.Column("session_sha256", sa.LargeBinary(32), nullable=False),
        sa.Column("nonce", sa.LargeBinary(32), nullable=False),
        # Epoch milliseconds, compared the same way on SQLite and PostgreSQL by every replica.
        sa.Column("expires_at_ms", BigInt, nullable=False),
    )
    op.create_index("ix_kiosk_identify_challenges_session", "kiosk_identify_challenges", ["session_sha256"])
    op.create_index("ix_kiosk_identify_challenges_expires", "kiosk_identify_challenges", ["expires_at_ms"])


def downgrade() -> None:
    op.drop_index("ix_kiosk_identify_challenges_expires", "kiosk_identify_challenges")
    op.drop_index("ix_kiosk_identify_challenges_session", "kiosk_identify_challenges")
    op.drop_table("kiosk_identify_challenges")
