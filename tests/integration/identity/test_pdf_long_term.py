"""PAdES long-term validation: the PDF's DSS is used (B-LT), and document timestamps of later
revisions prove that earlier signatures existed (B-LTA), with the live responder of a built PKI.

Judged by the use case itself (`PdfVerifier` over the real adapters), as the service and the CLI
run it; only the signed PDFs and the responder are test material.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from devtools.testpki import pades
from devtools.testpki.loader import Revocation, TestPKI
from devtools.testpki.responder import RevocationResponder
from services.identity.adapters.pdf_signatures import PyHankoPdfReader
from services.identity.bootstrap import pdf_verifier, signature_verifier
from services.identity.domain.pdf import PdfReport
from services.identity.service_layer.validate_certificate import CertificateValidator
from services.identity.service_layer.verify_pdf import VerifyPdfSignatures

SIGNER = "hk-personal"


async def _verify(validator: CertificateValidator, pdf: bytes) -> PdfReport:
    return await pdf_verifier(signature_verifier(validator)).verify(VerifyPdfSignatures(pdf))


async def _signed_with_dss(pki: TestPKI, tsa: pades.PkiTsa | None = None) -> bytes:
    """Signed with pyHanko's embed_validation_info, which asks the responder: off this event loop,
    which serves the responder meanwhile."""
    minimal = pades.minimal_pdf()
    return await asyncio.to_thread(pades.sign, minimal, pki, SIGNER, "Applicant", timestamper=tsa, validation_info=True)


def _outcome(report: PdfReport) -> tuple[str, str, str]:
    (signature,) = report.signatures
    return signature.indication.value, signature.reason.value, signature.level.value


async def test_the_dss_answers_when_the_responder_is_down(
    validator: CertificateValidator, live_pki: TestPKI, responder: RevocationResponder
) -> None:
    tsa = pades.PkiTsa("hk-tsa", live_pki)
    with_dss = await _signed_with_dss(live_pki, tsa)
    facts = PyHankoPdfReader().read(with_dss, "pdf")
    assert facts.dss is not None and facts.dss.ocsp_responses and facts.dss_revision == 3  # after the signature
    assert facts.signatures[0].dss_covers_signer
    signed = facts.signatures[0].coverage.byte_range
    without_dss = with_dss[: signed[2] + signed[3]]  # the signed revision alone: the same signature, no DSS
    assert PyHankoPdfReader().read(without_dss, "pdf").dss is None

    await responder.go_down()
    assert _outcome(await _verify(validator, with_dss)) == ("TOTAL_PASSED", "ok", "B-LT")
    report = await _verify(validator, without_dss)
    assert _outcome(report) == ("INDETERMINATE", "revocation_unavailable", "B-T"), report.signatures[0]
    assert report.signatures[0].sub_indication.value == "TRY_LATER"  # type: ignore[union-attr]


async def test_a_document_timestamp_proves_an_earlier_signature_existed(
    validator: CertificateValidator, live_pki: TestPKI, responder: RevocationResponder
) -> None:
    """No signature timestamp: a trusted document timestamp from an hour ago over the next revision
    proves the signature existed then, so its signer revoked half an hour ago still passes."""
    signed = pades.sign(pades.minimal_pdf(), live_pki, SIGNER, "Applicant")
    an_hour_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    stamped = pades.timestamp(signed, pades.PkiTsa("hk-tsa", live_pki, an_hour_ago))
    serial = live_pki.certificate(SIGNER).serial_number
    revoked_at = an_hour_ago + timedelta(minutes=30)
    responder.authorities["hk-ca"].revoked[serial] = Revocation(serial, revoked_at, "key_compromise")

    report = await _verify(validator, stamped)
    assert _outcome(report) == ("TOTAL_PASSED", "revoked_after_poe", "B-T"), report.signatures[0]
    cms = report.signatures[0].cms
    assert cms.proven_signing_time == an_hour_ago and cms.archive_timestamps[0].trusted

    alone = await _verify(validator, signed)  # the same signature without the document timestamp
    assert _outcome(alone)[:2] == ("TOTAL_FAILED", "revoked"), alone.signatures[0]

    later = pades.timestamp(signed, pades.PkiTsa("hk-tsa", live_pki, revoked_at + timedelta(minutes=10)))
    after = await _verify(validator, later)  # proven only after the revocation: no help
    assert _outcome(after)[:2] == ("TOTAL_FAILED", "revoked"), after.signatures[0]


async def test_a_document_timestamp_over_the_dss_makes_b_lta(
    validator: CertificateValidator, live_pki: TestPKI, responder: RevocationResponder
) -> None:
    with_dss = await _signed_with_dss(live_pki)
    lta = pades.timestamp(with_dss, pades.PkiTsa("mo-tsa", live_pki))
    assert _outcome(await _verify(validator, lta)) == ("TOTAL_PASSED", "ok", "B-LTA")
    untrusted = pades.timestamp(with_dss, pades.PkiTsa("hk-tsa-unlisted", live_pki))
    report = await _verify(validator, untrusted)  # present, not trusted: proves nothing, not B-LTA
    assert _outcome(report) == ("TOTAL_PASSED", "ok", "B-B"), report.signatures[0]
    assert report.signatures[0].cms.archive_timestamps[0].reason.value == "tsa_not_trusted"
