"""Gateway identity bindings: sealed person records and their blind indexes.

Revision ID: gateway_0002
Revises: gateway_0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0002"
down_revision = "gateway_0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
DIGEST = sa.LargeBinary(32)  # HMAC-SHA256 under the lookup key
SEALED = sa.LargeBinary()  # AES-256-GCM: version, key id, nonce, ciphertext, tag


def _subject_fk() -> sa.Column:
    return sa.Column(
        "subject_id", sa.String(36), sa.ForeignKey("bindings.subject_id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "bindings",
        sa.Column("subject_id", sa.String(36), primary_key=True),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("jurisdiction", sa.String(2), nullable=False),
        sa.Column("subject_number_enc", SEALED, nullable=False),
        sa.Column("hkid_enc", SEALED, nullable=True),
        sa.Column("macau_id_enc", SEALED, nullable=True),
        sa.Column("travel_permit_enc", SEALED, nullable=False),
        sa.Column("residence_permit_enc", SEALED, nullable=True),
        sa.Column("name_enc", SEALED, nullable=False),
        sa.Column("dob_enc", SEALED, nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    # Rotation finds the rows still sealed under an older key.
    op.create_index("ix_bindings_key_id", "bindings", ["key_id"])
    # One person per document number: the primary key is what stops two bindings of one document.
    op.create_table(
        "binding_documents",
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("digest", DIGEST, primary_key=True),
        _subject_fk(),
    )
    op.create_index("ix_binding_documents_subject", "binding_documents", ["subject_id"])
    op.create_table(
        "binding_certificates",
        sa.Column("digest", DIGEST, primary_key=True),
        _subject_fk(),
        sa.Column("jurisdiction", sa.String(2), nullable=False),
        sa.Column("first_bound_at", TZ, nullable=False),
        sa.Column("last_bound_at", TZ, nullable=False),
    )
    op.create_index("ix_binding_certificates_subject", "binding_certificates", ["subject_id"])
    op.create_table(
        "binding_pseudonyms",
        sa.Column("city_code", sa.String(6), primary_key=True),
        sa.Column("digest", DIGEST, primary_key=True),
        _subject_fk(),
        sa.Column("issued_at", TZ, nullable=False),
        sa.UniqueConstraint("subject_id", "city_code", name="uq_binding_pseudonyms_subject_city"),
    )


def downgrade() -> None:
    op.drop_table("binding_pseudonyms")
    op.drop_index("ix_binding_certificates_subject", "binding_certificates")
    op.drop_table("binding_certificates")
    op.drop_index("ix_binding_documents_subject", "binding_documents")
    op.drop_table("binding_documents")
    op.drop_index("ix_bindings_key_id", "bindings")
    op.drop_table("bindings")
