"""signature_evidence: each stored signature, time-stamped (CAdES B-T), and its validation data (B-LT).

Revision ID: registry_0003
Revises: registry_0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0003"
down_revision = "registry_0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signature_evidence",
        sa.Column("material_id", sa.String(36), primary_key=True),
        sa.Column("signer_ref", sa.String(200), primary_key=True),
        sa.Column("application_id", sa.String(36), nullable=False, index=True),
        sa.Column("certificate_sha256", sa.String(64), nullable=False),
        sa.Column("stamped_cms", sa.LargeBinary, nullable=False),
        sa.Column("timestamp_token", sa.LargeBinary, nullable=False),
        sa.Column("stamped_at", TZ, nullable=False),
        sa.Column("validation_data", sa.JSON, nullable=False),
        sa.Column("stored_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("signature_evidence")
