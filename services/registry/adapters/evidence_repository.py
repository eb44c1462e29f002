"""SQL store of signature evidence: the time-stamped CMS of each stored signature and its validation data."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.adapters.tables import signature_evidence
from services.registry.service_layer.ports import SignatureEvidence, Stamped, ValidationData

_KINDS = ("certificates", "ocsp_responses", "crls")


class SqlEvidence:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def put(self, evidence: SignatureEvidence) -> None:
        table = signature_evidence.c
        await self.session.execute(
            sa.delete(signature_evidence).where(
                table.material_id == evidence.material_id, table.signer_ref == evidence.signer_ref
            )
        )
        kept = evidence.validation_data
        data = {kind: [base64.b64encode(item).decode() for item in getattr(kept, kind)] for kind in _KINDS}
        await self.session.execute(
            sa.insert(signature_evidence).values(
                material_id=evidence.material_id,
                signer_ref=evidence.signer_ref,
                application_id=evidence.application_id,
                certificate_sha256=evidence.certificate_sha256,
                stamped_cms=evidence.stamped.cms_signature,
                timestamp_token=evidence.stamped.token,
                stamped_at=evidence.stamped.gen_time,
                validation_data=data,
                stored_at=evidence.stored_at,
            )
        )

    async def of_application(self, application_id: str) -> list[SignatureEvidence]:
        table = signature_evidence.c
        rows = await self.session.execute(
            sa.select(signature_evidence)
            .where(table.application_id == application_id)
            .order_by(table.stored_at, table.material_id, table.signer_ref)
        )
        return [_evidence(row) for row in rows]


def _evidence(row: sa.Row[tuple[object, ...]]) -> SignatureEvidence:
    data = row.validation_data
    validation = ValidationData(*(tuple(base64.b64decode(item) for item in data[kind]) for kind in _KINDS))
    return SignatureEvidence(
        row.application_id,
        row.material_id,
        row.signer_ref,
        row.certificate_sha256,
        Stamped(bytes(row.stamped_cms), bytes(row.timestamp_token), _utc(row.stamped_at)),
        validation,
        _utc(row.stored_at),
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # SQLite forgets the zone
