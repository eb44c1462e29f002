"""SignMaterial: the identity service verifies every signature; the signer must be a named party.

A material may also be a signed PDF (PAdES) that carries its signatures (`pades`): identity then
verifies every signature in it (VerifyPdfSignatures), the PDF must pass as a whole (a signature
broken, or a change after signing its signer did not allow, refuses it), and each signature by a
party who must sign the material counts as that party's signature.

The caller's word is never taken: the registry sends the CMS signature and the digest of the
stored material (under the signature's digest algorithm) to IdentityService.VerifySignature, and accepts the
signature only if it passes and the signer's certificate is the one the gateway bound to an
investor or the legal representative who must sign this material. The identity call is made
outside any database transaction.

Every signature stored is CAdES B-T and B-LT: once accepted, the TSA time-stamps its
signature value (outside any transaction too), identity verifies the stamped CMS again (the
time-stamp must prove the signing time) and returns the validation data of the signer and the
TSA (chains, OCSP responses, CRLs), and the stamped CMS is stored with it in the transaction that
records the signature. A TSA that cannot stamp refuses the call (UNAVAILABLE, TSA_UNAVAILABLE) and nothing
is stored. A signed PDF's signatures are stamped the same way, each taken apart as a detached CMS
over the bytes of its /ByteRange (the PDF itself is stored as it came).
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
from services.registry.service_layer.ports import SignatureCheck, SignatureEvidence, Stamped, Verdict

PDF = "application/pdf"


@dataclass(frozen=True)
class SignMaterial:
    application_id: str
    material_id: str
    cms_signature: bytes
    applicant_ref: str = ""
    pades: bool = False  # the material is a signed PDF: its embedded signatures are the signatures


async def sign_material(registry: Registry, command: SignMaterial) -> tuple[Application, Material]:
    if command.pades and command.cms_signature:
        raise invalid([Problem("cms_signature", "pades_and_cms")])
    if not command.pades and not command.cms_signature:
        raise invalid([Problem("cms_signature", "required")], reason="UNSIGNED")
    field = "pades" if command.pades else "cms_signature"
    async with registry.uow.reading() as work:  # is there something to sign?
        app = await work.applications.get(command.application_id)
        check_applicant(app, command.applicant_ref)
        app.require(EDITABLE, "signed")
        material = _material(app, command.material_id)
        requirement = registry.item_of(app).requirement(material.material_type)
        if requirement is None or not requirement.signature_required:
            title = requirement.title.in_(current_language()) if requirement else material.material_type
            raise invalid([Problem("material_id", "signature_not_required", {"title": title})])
        if command.pades and material.media_type != PDF:
            raise invalid([Problem("pades", "pades_not_pdf")])
        digest = material.sha256
        document = await work.applications.content(material.material_id)

    if command.pades:
        checks = await registry.identity.verify_pdf(document)
    else:
        checks = [await registry.identity.verify(command.cms_signature, document)]
    _require_passed(checks, field)
    _by_party(app, requirement, checks, field)  # not a party: refused before the TSA is asked
    parts = [(command.cms_signature, document)]
    if command.pades:  # each signature of the PDF, as a detached CMS over the bytes it covers
        try:
            parts = [(part.cms_signature, part.covered) for part in registry.pdf_signatures(document)]
        except ValueError as error:
            raise invalid([Problem(field, "signature_failed", {"detail": str(error)})], "SIGNATURE_INVALID") from None
    stamps: dict[str, tuple[SignatureCheck, Stamped]] = {}  # by signer certificate
    for signature, covered in parts:
        stamped = await registry.timestamps.stamp(signature)
        # Verified again as stored: identity judges the time-stamp and returns the validation data
        # of the signer and of the TSA, which is what judging it again offline needs (B-LT).
        check = await registry.identity.verify(stamped.cms_signature, covered)
        _require_passed([check], field)
        if check.proven_signing_time is None:
            detail = "identity does not take the TSA's time-stamp as a proof of existence"
            raise errors.Unavailable(say("timestamp_unavailable", detail=detail), reason="TSA_UNAVAILABLE")
        stamps[check.signer_certificate_sha256] = (check, stamped)
    if not command.pades:
        checks = [check for check, _ in stamps.values()]

    async with registry.uow() as work:
        app = await work.applications.get(command.application_id)
        item = registry.item_of(app)
        material = _material(app, command.material_id)
        if material.sha256 != digest:  # replaced meanwhile: the signature covers the old document
            raise invalid([Problem("material_id", "digest_mismatch")], "SIGNATURE_INVALID")
        requirement = item.requirement(material.material_type)
        assert requirement is not None
        by_party = _by_party(app, requirement, checks, field)
        now = registry.clock()
        for signer, check in by_party:
            signature = Signature(
                signer.reference, signer.roles, check.signer_certificate_sha256, check.claimed_signing_time or now, now
            )
            app.add_signature(item, material, signature)
        await work.applications.save(app)
        for signer, check in by_party:
            if check.signer_certificate_sha256 not in stamps:  # a PDF signature not taken apart: never expected
                raise invalid([Problem(field, "signature_failed", {"detail": "not time-stamped"})], "SIGNATURE_INVALID")
            verified, stamped = stamps[check.signer_certificate_sha256]
            kept = SignatureEvidence(
                app.application_id,
                material.material_id,
                signer.reference,
                check.signer_certificate_sha256,
                stamped,
                verified.validation_data,
                now,
            )
            await work.evidence.put(kept)
    return app, material


def _require_passed(checks: list[SignatureCheck], field: str) -> None:
    for check in checks:
        if check.verdict is Verdict.TRY_LATER:
            raise errors.Unavailable(say("signature_failed", detail=check.detail), reason="SIGNATURE_TRY_LATER")
        if check.verdict is not Verdict.PASSED:
            raise invalid([Problem(field, "signature_failed", {"detail": check.detail})], "SIGNATURE_INVALID")


def _by_party(
    app: Application, requirement: MaterialRequirement, checks: list[SignatureCheck], field: str
) -> list[tuple[Signer, SignatureCheck]]:
    """The checks whose signer is a party who must sign; SIGNER_NOT_PARTY when there is none."""
    parties = {s.certificate_sha256: s for s in required_signers(app.enterprise, requirement)}
    by_party = [
        (parties[c.signer_certificate_sha256], c)
        for c in checks
        if c.signer_certificate_sha256 and c.signer_certificate_sha256 in parties  # "" never matches ""
    ]
    if not by_party:  # a PDF may also carry others' signatures (a notary's): those are not counted
        raise invalid([Problem(field, "signer_not_party")], "SIGNER_NOT_PARTY")
    return by_party


def _material(app: Application, material_id: str) -> Material:
    material = app.material(material_id)
    if material is None:
        raise errors.NotFound("material", material_id)
    return material
