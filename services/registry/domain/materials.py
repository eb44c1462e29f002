"""Documents attached to an application and the signatures over them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from services.registry.domain.catalogue import MaterialRequirement, Signatory
from services.registry.domain.enterprise import EnterpriseDetails, Signer, required_signers


class MaterialStatus(StrEnum):
    ATTACHED = "attached"  # no signature yet (or none needed)
    SIGNED = "signed"  # some, not all, required signatures verified
    VERIFIED = "verified"  # every required signature verified by the identity service


@dataclass(frozen=True)
class Signature:
    signer_ref: str
    roles: tuple[Signatory, ...]
    certificate_sha256: str
    signed_at: datetime  # the signer's claimed signing time, else when it was verified
    verified_at: datetime


@dataclass
class Material:
    material_id: str
    material_type: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: bytes
    attached_at: datetime
    signatures: list[Signature] = field(default_factory=list)

    def missing_signers(self, requirement: MaterialRequirement, details: EnterpriseDetails) -> list[Signer]:
        signed = {s.signer_ref: s.certificate_sha256 for s in self.signatures}
        return [
            s
            for s in required_signers(details, requirement)
            if signed.get(s.reference) is None or signed[s.reference] != s.certificate_sha256
        ]

    def status(self, requirement: MaterialRequirement | None, details: EnterpriseDetails) -> MaterialStatus:
        if requirement is None or not requirement.signature_required:
            return MaterialStatus.ATTACHED
        if not self.missing_signers(requirement, details):
            return MaterialStatus.VERIFIED
        return MaterialStatus.SIGNED if self.signatures else MaterialStatus.ATTACHED

    def add(self, signature: Signature) -> None:
        self.signatures = [s for s in self.signatures if s.signer_ref != signature.signer_ref] + [signature]
