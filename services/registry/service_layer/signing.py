"""SignMaterial: the identity service verifies every signature; the signer must be a named party.

The caller's word is never taken: the registry sends the CMS signature and the digest of the
stored material (under the signature's digest algorithm) to IdentityService.VerifySignature, and accepts the
signature only if it passes and the signer's certificate is the one the gateway bound to an
investor or the legal representative who must sign this material. The identity call is made
outside any database transaction.

Every signature stored is CAdES B-T and B-LT: once accepted, the TSA time-stamps its signature
value (outside any transaction too), and the stamped CMS is stored with the validation data the
identity service used (chain, OCSP responses, CRLs) in the transaction that records the
signature. A TSA that cannot stamp refuses the call (UNAVAILABLE, TSA_UNAVAILABLE) and nothing
is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from baylink import errors
from services.registry.domain.application import EDITABLE, Application
from services.registry.domain.catalogue import MaterialRequirement
from services.registry.domain.enterprise import Signer, required_signers
from services.registry.domain.materials import Material, Signature
from services.registry.domain.messages import Problem, invalid, say
from services.registry.domain.text import current_language
from services.registry.service_layer.context import Registry, check_applicant
from services.registry.service_layer.ports import SignatureEvidence, Verdict


@dataclass(frozen=True)
class SignMaterial:
    application_id: str
    material_id: str
    cms_signature: bytes
    applicant_ref: str = ""


async def sign_material(registry: Registry, command: SignMaterial) -> tuple[Application, Material]:
    if not command.cms_signature:
        raise invalid([Problem("cms_signature", "required")], reason="UNSIGNED")
    async with registry.uow() as work:  # a short read: is there something to sign?
        app = await work.applications.get(command.application_id)
        check_applicant(app, command.applicant_ref)
        app.require(EDITABLE, "signed")
        material = _material(app, command.material_id)
        requirement = registry.item_of(app).requirement(material.material_type)
        if requirement is None or not requirement.signature_required:
            title = requirement.title.in_(current_language()) if requirement else material.material_type
            raise invalid([Problem("material_id", "signature_not_required", {"title": title})])
        digest = material.sha256
        document = await work.applications.content(material.material_id)

    check = await registry.identity.verify(command.cms_signature, document)
    if check.verdict is Verdict.TRY_LATER:
        raise errors.Unavailable(say("signature_failed", detail=check.detail), reason="SIGNATURE_TRY_LATER")
    if check.verdict is not Verdict.PASSED:
        raise invalid([Problem("cms_signature", "signature_failed", {"detail": check.detail})], "SIGNATURE_INVALID")
    _signer(app, requirement, check.signer_certificate_sha256)  # not a party: refused before the TSA is asked
    stamped = await registry.timestamps.stamp(command.cms_signature)

    async with registry.uow() as work:
        app = await work.applications.get(command.application_id)
        item = registry.item_of(app)
        material = _material(app, command.material_id)
        if material.sha256 != digest:  # replaced meanwhile: the signature covers the old document
            raise invalid([Problem("material_id", "digest_mismatch")], "SIGNATURE_INVALID")
        requirement = item.requirement(material.material_type)
        assert requirement is not None
        signer = _signer(app, requirement, check.signer_certificate_sha256)
        now = registry.clock()
        signature = Signature(
            signer.reference, signer.roles, check.signer_certificate_sha256, check.claimed_signing_time or now, now
        )
        app.add_signature(item, material, signature)
        await work.applications.save(app)
        evidence = SignatureEvidence(
            app.application_id,
            material.material_id,
            signer.reference,
            check.signer_certificate_sha256,
            stamped,
            check.validation_data,
            now,
        )
        await work.evidence.put(evidence)
    return app, material


def _signer(app: Application, requirement: MaterialRequirement, certificate_sha256: str) -> Signer:
    """The party who must sign under this certificate; SIGNER_NOT_PARTY when there is none."""
    signer = next(
        (s for s in required_signers(app.enterprise, requirement) if s.certificate_sha256 == certificate_sha256),
        None,
    )
    if signer is None or not certificate_sha256:
        raise invalid([Problem("cms_signature", "signer_not_party")], "SIGNER_NOT_PARTY")
    return signer


def _material(app: Application, material_id: str) -> Material:
    material = app.material(material_id)
    if material is None:
        raise errors.NotFound("material", material_id)
    return material
