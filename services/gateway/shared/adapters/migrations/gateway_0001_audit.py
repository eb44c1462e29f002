"""Gateway audit log: the hash-chained records, signed checkpoints, and the one-row chain head.

Revision ID: gateway_0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0001"
down_revision = None
branch_labels = ("gateway",)
depends_on = None

TZ = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
HASH = sa.String(64)  # SHA-256, lowercase hex


def upgrade() -> None:
    # The head is one row; every append locks it first, so sequence numbers are handed out by one
    # writer at a time across all gateway replicas, without gaps.
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_sequence", BigId, nullable=False),
        sa.Column("last_hash", HASH, nullable=False),
        sa.Column("last_recorded_at", TZ, nullable=True),
        sa.Column("checkpoint_sequence", BigId, nullable=False),
        sa.Column("pending_since", TZ, nullable=True),
    )
    op.bulk_insert(head, [{"id": 1, "last_sequence": 0, "last_hash": "0" * 64, "checkpoint_sequence": 0}])
    op.create_table(
        "audit_records",
        sa.Column("sequence", BigId, primary_key=True, autoincrement=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("result", sa.String(100), nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=False),
        sa.Column("details", sa.Text, nullable=False),  # canonical JSON, hashed exactly as stored
        sa.Column("prev_hash", HASH, nullable=False),
        sa.Column("hash", HASH, nullable=False),
    )
    # Operators ask "who read this person" and "what happened in this flow".
    op.create_index("ix_audit_records_subject", "audit_records", ["subject"])
    op.create_index("ix_audit_records_correlation", "audit_records", ["correlation_id"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("sequence", BigId, primary_key=True, autoincrement=False),
        sa.Column("head_hash", HASH, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("record_count", BigId, nullable=False),
        sa.Column("first_record_time", TZ, nullable=False),
        sa.Column("last_record_time", TZ, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(256), nullable=False),  # Ed25519, hex
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_index("ix_audit_records_correlation", "audit_records")
    op.drop_index("ix_audit_records_subject", "audit_records")
    op.drop_table("audit_records")
    op.drop_table("audit_head")
