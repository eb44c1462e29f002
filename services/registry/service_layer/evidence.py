"""The evidence kept beside an application's stored signatures, with the documents they sign."""

from __future__ import annotations

from dataclasses import dataclass

from services.registry.service_layer.ports import SignatureEvidence, UnitOfWork


@dataclass(frozen=True)
class StoredSignature:
    evidence: SignatureEvidence
    material_type: str
    filename: str
    document: bytes


async def stored_signatures(uow: UnitOfWork, application_id: str) -> list[StoredSignature]:
    """Every stored signature of the application, oldest first (NotFound for an unknown application)."""
    async with uow() as work:
        app = await work.applications.get(application_id)
        found = []
        for evidence in await work.evidence.of_application(application_id):
            material = app.material(evidence.material_id)
            if material is None:  # the material was replaced: its signatures went with it
                continue
            document = await work.applications.content(material.material_id)
            found.append(StoredSignature(evidence, material.material_type, material.filename, document))
    return found
