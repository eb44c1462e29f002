"""SQL store of signature evidence: the time-stamped CMS of each stored signature and its validation data."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from baylink.runtime.direct import Program, Statement, execute, insert
from services.registry.adapters.repository import Run, fetched
from services.registry.adapters.tables import signature_evidence
from services.registry.service_layer.ports import SignatureEvidence, Stamped, ValidationData

_KINDS = ("certificates", "ocsp_responses", "crls")


e = signature_evidence.c
_DROP = Statement(
    sa.delete(signature_evidence).where(
        e.material_id == sa.bindparam("material_id"), e.signer_ref == sa.bindparam("signer_ref")
    )
)
_PUT = insert(signature_evidence)
_OF_APPLICATION = Statement(
    sa.select(signature_evidence)
    .where(e.application_id == sa.bindparam("application_id"))
    .order_by(e.stored_at, e.material_id, e.signer_ref)
)


class SqlEvidence:
    """Its operations are direct programs, run in the unit of work's transaction through ``run``."""

    def __init__(self, run: Run):
        self.run = run

    async def put(self, evidence: SignatureEvidence) -> None:
        await self.run(_put(evidence))

    async def of_application(self, application_id: str) -> list[SignatureEvidence]:
        return [_evidence(row) for row in await self.run(fetched(_OF_APPLICATION, application_id=application_id))]


def _put(evidence: SignatureEvidence) -> Program[None]:
    yield execute(_DROP, material_id=evidence.material_id, signer_ref=evidence.signer_ref)
    kept = evidence.validation_data
    data = {kind: [base64.b64encode(item).decode() for item in getattr(kept, kind)] for kind in _KINDS}
    yield execute(
        _PUT,
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


def _evidence(row: Any) -> SignatureEvidence:
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
