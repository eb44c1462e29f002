"""VerifyPdfSignatures: every signature of a signed PDF judged, with what it covers and what followed."""

from __future__ import annotations

import asyncio
import random
import re

import pytest

from devtools.testpki import pades
from devtools.testpki.loader import TestPKI
from devtools.testpki.revocation import OcspBehaviour, RevocationAuthority
from services.identity.adapters.fetchers import build_ocsp_request
from services.identity.adapters.pdf_signatures import PyHankoPdfReader
from services.identity.domain.errors import InvalidInput
from services.identity.domain.pdf import (
    MAX_PDF_BYTES,
    Change,
    Coverage,
    PdfReport,
    TimestampKind,
    TimestampStatus,
)
from services.identity.domain.report import Indication, Reason, SignatureLevel, SubIndication
from services.identity.service_layer.verify_pdf import PdfVerifier, VerifyPdfSignatures
from services.identity.service_layer.verify_signature import SignatureVerifier


@pytest.fixture(scope="module")
def base() -> bytes:
    return pades.minimal_pdf()


@pytest.fixture(scope="module")
def signed_once(pki: TestPKI, base: bytes) -> bytes:
    return pades.sign(base, pki, "hk-personal", "Applicant")


@pytest.fixture(scope="module")
def signed_twice(pki: TestPKI, signed_once: bytes) -> bytes:
    return pades.sign(signed_once, pki, "mo-personal", "Director")


@pytest.fixture
def pdf_verifier(verifier: SignatureVerifier) -> PdfVerifier:
    return PdfVerifier(verifier, PyHankoPdfReader())


def verify(pdf_verifier: PdfVerifier, pdf: bytes) -> PdfReport:
    return asyncio.run(pdf_verifier.verify(VerifyPdfSignatures(pdf)))


def test_a_pdf_signed_once_passes_and_covers_the_whole_file(pdf_verifier: PdfVerifier, signed_once: bytes) -> None:
    report = verify(pdf_verifier, signed_once)
    assert report.passed and report.revisions == 2 and report.file_bytes == len(signed_once)
    (signature,) = report.signatures
    assert (signature.field_name, signature.indication, signature.reason) == (
        "Applicant",
        Indication.TOTAL_PASSED,
        Reason.OK,
    )
    assert "CHAN Tai Man" in signature.signer
    assert signature.coverage.whole_document and signature.coverage.revision == 2
    assert signature.coverage.covered_bytes < len(signed_once)  # all but the signature value itself
    assert signature.level is SignatureLevel.B_B and signature.timestamps == ()
    assert signature.cms.passed and signature.cms.digest_algorithm == "sha256"


def test_a_pdf_signed_twice_gives_two_reports_the_first_covering_an_earlier_revision(
    pdf_verifier: PdfVerifier, signed_twice: bytes, signed_once: bytes
) -> None:
    report = verify(pdf_verifier, signed_twice)
    first, second = report.signatures
    assert report.passed and report.revisions == 3
    assert (first.field_name, second.field_name) == ("Applicant", "Director")
    assert first.coverage.coverage is Coverage.ENTIRE_REVISION and first.coverage.revision == 2
    assert first.coverage.covered_bytes == verify(pdf_verifier, signed_once).signatures[0].coverage.covered_bytes
    assert first.modifications.change is Change.FORM_FILLING  # the second signature, which is allowed
    assert second.coverage.whole_document and second.coverage.revision == 3
    assert "CHAN Ou Mun" in second.signer


def test_a_page_changed_after_signing_is_refused(pdf_verifier: PdfVerifier, signed_once: bytes) -> None:
    report = verify(pdf_verifier, pades.change_page(signed_once))
    (signature,) = report.signatures
    assert signature.cms.passed  # the signed revision itself is intact
    assert (signature.indication, signature.sub_indication, signature.reason) == (
        Indication.TOTAL_FAILED,
        SubIndication.FORMAT_FAILURE,
        Reason.PDF_MODIFIED_AFTER_SIGNING,
    )
    assert signature.modifications.change is Change.OTHER and not report.passed
    assert signature.message.en and signature.message.zh_hant and signature.message.zh_hans


def test_a_signature_after_a_no_changes_certification_violates_its_docmdp(
    pki: TestPKI, pdf_verifier: PdfVerifier, base: bytes
) -> None:
    certified = pades.sign(base, pki, "hk-personal", "Author", certify=pades.MDPPerm.NO_CHANGES)
    assert verify(pdf_verifier, certified).passed
    report = verify(pdf_verifier, pades.sign(certified, pki, "mo-personal", "Second", disregard_docmdp=True))
    author, second = report.signatures
    assert author.modifications.docmdp == 1 and author.modifications.change is Change.FORM_FILLING
    assert (author.indication, author.reason) == (Indication.TOTAL_FAILED, Reason.PDF_MDP_VIOLATION)
    assert second.passed and not report.passed


def test_a_signature_the_certification_permits_passes(pki: TestPKI, pdf_verifier: PdfVerifier, base: bytes) -> None:
    certified = pades.sign(base, pki, "hk-personal", "Author", certify=pades.MDPPerm.FILL_FORMS)
    report = verify(pdf_verifier, pades.sign(certified, pki, "mo-personal", "Second"))
    assert report.passed and report.signatures[0].modifications.docmdp == 2


def test_a_changed_signed_byte_is_a_hash_failure(pdf_verifier: PdfVerifier, signed_once: bytes) -> None:
    at = signed_once.index(b"Application for business registration")
    tampered = signed_once[:at] + b"B" + signed_once[at + 1 :]
    (signature,) = verify(pdf_verifier, tampered).signatures
    assert (signature.indication, signature.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE)


def test_timestamps_of_a_listed_tsa_are_proofs_and_make_the_signature_b_t(
    pki: TestPKI, pdf_verifier: PdfVerifier, base: bytes, signed_twice: bytes
) -> None:
    tsa = pades.PkiTsa("hk-tsa")
    report = verify(pdf_verifier, pades.timestamp(signed_twice, tsa))
    assert report.passed and len(report.signatures) == 2 and report.revisions == 4
    (stamp,) = report.document_timestamps
    assert (stamp.kind, stamp.status, stamp.revision) == (TimestampKind.DOCUMENT, TimestampStatus.PASSED, 4)
    assert stamp.gen_time is not None and "HK Time-Stamping Unit" in stamp.authority
    assert report.signatures[1].modifications.change is Change.LTA_UPDATES

    (signature,) = verify(pdf_verifier, pades.sign(base, pki, "hk-personal", "Applicant", timestamper=tsa)).signatures
    assert signature.passed and signature.level is SignatureLevel.B_T
    (token,) = signature.timestamps
    assert (token.kind, token.status) == (TimestampKind.SIGNATURE, TimestampStatus.PASSED)
    assert signature.cms.proven_signing_time == token.gen_time


# pyHanko's in-process TSA binds its certificate with ESS signing-certificate v1 (SHA-1): refused.
@pytest.mark.parametrize(("tsa", "why"), [("unlisted", "tsa_not_trusted"), ("in-memory", "algorithm_not_allowed")])
def test_timestamps_that_are_no_proof_are_listed_as_failed(
    pki: TestPKI, pdf_verifier: PdfVerifier, base: bytes, tsa: str, why: str
) -> None:
    stamper = pades.PkiTsa("hk-tsa-unlisted") if tsa == "unlisted" else pades.test_tsa(pki)
    signed = pades.sign(base, pki, "hk-personal", "Applicant", timestamper=stamper)
    report = verify(pdf_verifier, pades.timestamp(signed, stamper))
    (signature,) = report.signatures
    assert signature.passed and signature.level is SignatureLevel.B_B  # the signature stands, unproven
    (token,) = signature.timestamps
    (stamp,) = report.document_timestamps
    assert token.status is stamp.status is TimestampStatus.FAILED
    assert stamp.detail.startswith(why) and token.detail.startswith(why), stamp.detail


@pytest.mark.parametrize(("signer", "digest"), [("hk-personal-ec", "sha256"), ("gd-personal", "sm3")])
def test_ec_and_sm2_signers_pass(
    pki: TestPKI, pdf_verifier: PdfVerifier, base: bytes, signer: str, digest: str
) -> None:
    (signature,) = verify(pdf_verifier, pades.sign(base, pki, signer, "Applicant")).signatures
    assert signature.passed, signature
    assert signature.cms.digest_algorithm == digest


def test_a_revoked_signer_fails_as_in_cms(pki: TestPKI, pdf_verifier: PdfVerifier, base: bytes) -> None:
    (signature,) = verify(pdf_verifier, pades.sign(base, pki, "hk-revoked", "Applicant")).signatures
    assert signature.indication is not Indication.TOTAL_PASSED
    assert signature.reason is signature.cms.reason  # the CMS judgement, unchanged


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"PK\x03\x04 not a pdf", "not_a_pdf"),
        (b"%PDF-1.7\n garbage", "malformed"),
        (b"%PDF-1.7\n" + b"0" * MAX_PDF_BYTES, "too_large"),
    ],
)
def test_bad_input_names_the_pdf_field(pdf_verifier: PdfVerifier, data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        verify(pdf_verifier, data)
    assert (raised.value.field, raised.value.reason) == ("pdf", reason)


def test_a_pdf_without_signatures_is_refused(pdf_verifier: PdfVerifier, base: bytes) -> None:
    with pytest.raises(InvalidInput) as raised:
        verify(pdf_verifier, base)
    assert (raised.value.field, raised.value.reason) == ("pdf", "no_signatures")


def _hex_spans(pdf: bytes) -> list[tuple[int, int]]:
    """Where each signature's /Contents hex digits are."""
    spans = []
    for match in re.finditer(rb"/Contents\s*<([0-9a-fA-F]+)>", pdf):
        spans.append((match.start(1), match.end(1)))
    return spans


def test_broken_signature_containers_are_reported_or_refused_never_an_error(
    pki: TestPKI, pdf_verifier: PdfVerifier, signed_twice: bytes
) -> None:
    """Hex digits changed inside the CMS (the file stays a well-formed PDF): each outcome is a
    report, with a broken CMS as that signature's TOTAL_FAILED, or INVALID_ARGUMENT on `pdf`."""
    pdf = pades.timestamp(signed_twice, pades.PkiTsa("hk-tsa"))
    spans, rnd, outcomes = _hex_spans(pdf), random.Random(20261206), set()
    for _ in range(30):
        data = bytearray(pdf)
        start, end = rnd.choice(spans)
        for _ in range(rnd.randint(1, 6)):
            data[rnd.randrange(start, min(end, start + 4000))] = ord(rnd.choice("0123456789abcdef"))
        try:
            report = verify(pdf_verifier, bytes(data))
        except InvalidInput as exc:
            assert exc.field == "pdf", exc
            outcomes.add("invalid")
            continue
        assert len(report.signatures) == 2 and len(report.document_timestamps) == 1
        outcomes.update(s.reason.value for s in report.signatures if not s.passed)
    assert {"malformed", "digest_mismatch"} <= outcomes, outcomes


def test_bytes_changed_anywhere_give_a_report_or_invalid_argument(signed_twice: bytes) -> None:
    reader, rnd = PyHankoPdfReader(), random.Random(6)
    for _ in range(150):
        data = bytearray(signed_twice)
        for _ in range(rnd.randint(1, 4)):
            at = rnd.randrange(len(data))
            data[at : at + rnd.randint(0, 8)] = bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 8)))
        try:
            reader.read(bytes(data), "pdf")
        except InvalidInput as exc:
            assert exc.field == "pdf"


def test_the_dss_is_read_and_what_does_not_parse_is_left_out(
    pki: TestPKI, pdf_verifier: PdfVerifier, base: bytes
) -> None:
    stamped = pades.sign(base, pki, "hk-personal", "Applicant", timestamper=pades.PkiTsa("hk-tsa"))
    answer = _ocsp_of(pki, "hk-personal")
    junk = b"\x30\x03\x0a\x01\x07"  # an OCSPResponse whose status is no status
    with_dss = pades.add_dss(stamped, [answer, junk], [pki.cert("hk-ca")])
    facts = PyHankoPdfReader().read(with_dss, "pdf")
    assert facts.dss is not None and facts.dss.ocsp_responses == (answer,)
    assert facts.dss.certificates == (pki.cert("hk-ca"),) and facts.dss_revision == 3
    assert facts.signatures[0].dss_covers_signer
    (signature,) = verify(pdf_verifier, with_dss).signatures
    assert signature.passed and signature.level is SignatureLevel.B_LT
    (without,) = verify(pdf_verifier, stamped).signatures
    assert without.passed and without.level is SignatureLevel.B_T
    other = pades.add_dss(stamped, [_ocsp_of(pki, "mo-personal")])  # data for someone else: not B-LT
    assert not PyHankoPdfReader().read(other, "pdf").signatures[0].dss_covers_signer


def _ocsp_of(pki: TestPKI, name: str) -> bytes:
    issuer = pki.entity(name)["issuer"]
    request = build_ocsp_request(pki.certificate(name), pki.certificate(issuer).public_key.sha1).dump()
    return RevocationAuthority(pki, issuer).ocsp_der(request, OcspBehaviour.NORMAL)
