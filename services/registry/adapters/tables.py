"""The registry's tables (registry_0001; flow_id by registry_0002; signature_evidence by registry_0003)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
TZ = sa.DateTime(timezone=True)

applications = sa.Table(
    "applications",
    metadata,
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
    sa.Column("body", sa.JSON, nullable=False),  # the rest of the aggregate
    sa.Column("flow_id", sa.String(128), nullable=True),  # registry_0002; the application id for older rows
)

draft_requests = sa.Table(
    "draft_requests",
    metadata,
    sa.Column("request_id", sa.String(100), primary_key=True),
    sa.Column("application_id", sa.String(36), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),  # SHA-256 of the request, to spot reuse
)

material_contents = sa.Table(
    "material_contents",
    metadata,
    sa.Column("material_id", sa.String(36), primary_key=True),
    sa.Column("application_id", sa.String(36), nullable=False, index=True),
    sa.Column("sha256", sa.LargeBinary(32), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

name_reservations = sa.Table(
    "name_reservations",
    metadata,
    sa.Column("city_code", sa.String(6), primary_key=True),
    sa.Column("industry", sa.String(50), primary_key=True),
    sa.Column("trade_name", sa.String(50), primary_key=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("application_id", sa.String(36), nullable=False, index=True),
    sa.Column("registered", sa.Boolean, nullable=False),
    sa.Column("reserved_until", TZ, nullable=True),
)

uscc_sequences = sa.Table(
    "uscc_sequences",
    metadata,
    sa.Column("division_code", sa.String(6), primary_key=True),
    sa.Column("last_value", sa.Integer, nullable=False),
)

business_licences = sa.Table(
    "business_licences",
    metadata,
    sa.Column("uscc", sa.String(18), primary_key=True),
    sa.Column("application_id", sa.String(36), nullable=False, unique=True),
    sa.Column("authority_code", sa.String(6), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("enterprise_name", sa.String(200), nullable=False),
    sa.Column("issued_at", TZ, nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.UniqueConstraint("authority_code", "sequence", name="uq_business_licences_sequence"),
)

# registry_0003: per stored signature, the time-stamped CMS (CAdES B-T) and its validation data (B-LT):
# {"certificates": [base64 DER …], "ocsp_responses": […], "crls": […]}.
signature_evidence = sa.Table(
    "signature_evidence",
    metadata,
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
