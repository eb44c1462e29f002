"""Registry tables: applications, draft requests, material contents, names, USCC sequences, licences.

Revision ID: registry_0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0001"
down_revision = None
branch_labels = ("registry",)
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("application_id", sa.String(36), primary_key=True),
        sa.Column("catalogue_item_id", sa.String(64), nullable=False),
        sa.Column("authority_code", sa.String(6), nullable=False),
        sa.Column("applicant_ref", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("payment_reference", sa.String(64), nullable=True, unique=True),
        sa.Column("deadline", TZ, nullable=True),
        sa.Column("overdue", sa.Boolean, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
    )
    # Listing by authority in creation order (keyset paging), by applicant, and the overdue scan.
    op.create_index("ix_applications_authority", "applications", ["authority_code", "created_at", "application_id"])
    op.create_index("ix_applications_applicant", "applications", ["applicant_ref", "created_at"])
    op.create_index("ix_applications_deadline", "applications", ["state", "overdue", "deadline"])
    op.create_table(
        "draft_requests",
        sa.Column("request_id", sa.String(100), primary_key=True),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
    )
    op.create_table(
        "material_contents",
        sa.Column("material_id", sa.String(36), primary_key=True),
        sa.Column("application_id", sa.String(36), nullable=False, index=True),
        sa.Column("sha256", sa.LargeBinary(32), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "name_reservations",
        sa.Column("city_code", sa.String(6), primary_key=True),
        sa.Column("industry", sa.String(50), primary_key=True),
        sa.Column("trade_name", sa.String(50), primary_key=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("application_id", sa.String(36), nullable=False, index=True),
        sa.Column("registered", sa.Boolean, nullable=False),
        sa.Column("reserved_until", TZ, nullable=True),
    )
    op.create_table(
        "uscc_sequences",
        sa.Column("division_code", sa.String(6), primary_key=True),
        sa.Column("last_value", sa.Integer, nullable=False),
    )
    op.create_table(
        "business_licences",
        sa.Column("uscc", sa.String(18), primary_key=True),
        sa.Column("application_id", sa.String(36), nullable=False, unique=True),
        sa.Column("authority_code", sa.String(6), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("enterprise_name", sa.String(200), nullable=False),
        sa.Column("issued_at", TZ, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.UniqueConstraint("authority_code", "sequence", name="uq_business_licences_sequence"),
    )


def downgrade() -> None:
    for table in (
        "business_licences",
        "uscc_sequences",
        "name_reservations",
        "material_contents",
        "draft_requests",
    ):
        op.drop_table(table)
    op.drop_index("ix_applications_deadline", "applications")
    op.drop_index("ix_applications_applicant", "applications")
    op.drop_index("ix_applications_authority", "applications")
    op.drop_table("applications")
