"""The binding store's tables (created by migration gateway_0002).

No column holds a document number, name, date of birth or certificate fingerprint in clear:
values are AES-GCM sealed (``*_enc``) and searched through HMAC blind indexes (``digest``).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
TZ = sa.DateTime(timezone=True)
DIGEST = sa.LargeBinary(32)  # HMAC-SHA256 under the lookup key

bindings = sa.Table(
    "bindings",
    metadata,
    sa.Column("subject_id", sa.String(36), primary_key=True),  # random surrogate, never derived from a number
    sa.Column("subject_kind", sa.String(20), nullable=False),
    sa.Column("jurisdiction", sa.String(2), nullable=False),
    sa.Column("subject_number_enc", sa.LargeBinary, nullable=False),
    sa.Column("hkid_enc", sa.LargeBinary, nullable=True),
    sa.Column("macau_id_enc", sa.LargeBinary, nullable=True),
    sa.Column("travel_permit_enc", sa.LargeBinary, nullable=False),
    sa.Column("residence_permit_enc", sa.LargeBinary, nullable=True),
    sa.Column("name_enc", sa.LargeBinary, nullable=False),
    sa.Column("dob_enc", sa.LargeBinary, nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
)

binding_documents = sa.Table(
    "binding_documents",
    metadata,
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("digest", DIGEST, primary_key=True),
    sa.Column("subject_id", sa.String(36), sa.ForeignKey("bindings.subject_id", ondelete="CASCADE"), nullable=False),
)

binding_certificates = sa.Table(
    "binding_certificates",
    metadata,
    sa.Column("digest", DIGEST, primary_key=True),
    sa.Column("subject_id", sa.String(36), sa.ForeignKey("bindings.subject_id", ondelete="CASCADE"), nullable=False),
    sa.Column("jurisdiction", sa.String(2), nullable=False),
    sa.Column("first_bound_at", TZ, nullable=False),
    sa.Column("last_bound_at", TZ, nullable=False),
)

binding_pseudonyms = sa.Table(
    "binding_pseudonyms",
    metadata,
    sa.Column("city_code", sa.String(6), primary_key=True),
    sa.Column("digest", DIGEST, primary_key=True),
    sa.Column("subject_id", sa.String(36), sa.ForeignKey("bindings.subject_id", ondelete="CASCADE"), nullable=False),
    sa.Column("issued_at", TZ, nullable=False),
    sa.UniqueConstraint("subject_id", "city_code", name="uq_binding_pseudonyms_subject_city"),
)
