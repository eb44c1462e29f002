"""Gateway audit log: the chain head row carries the audit key's signature.

Without it, whoever can write the database could cut records off the end of the log (and the last
checkpoint with them) and point the head row at what is left. Signed, the head can only be moved by
the gateway; an older signed head put back is caught against the checkpoints published on Kafka.

Revision ID: gateway_0006
Revises: gateway_0005 (identify challenges)
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0006"
down_revision = "gateway_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty on the genesis row (sequence 0) only: the first append signs the head.
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("key_id", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("signature", sa.String(256), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("signature")
        batch.drop_column("key_id")
