"""Use case VerifyPdfSignatures: every signature of a signed PDF (PAdES), one report each.

Each signature's CMS is judged by `SignatureVerifier.verify_cms` over the bytes of its byte range,
exactly as a detached CMS sent to VerifySignature is (trust lists, revocation, algorithms); the
PDF rules (`domain.pdf.judge_pdf_signature`) then add what the byte range covers and whether what
came after it was allowed. Signature timestamps are judged there too, as for any CMS (a trusted one
is the proof of existence and makes the level B-T); document timestamps are judged by the same
`TimestampVerifier.check_timestamp` over their byte range, as a chain (below), and listed.

Long-term data (PAdES B-LT, B-LTA): the PDF's DSS is validation data each CMS judgement uses beside
fetching (its OCSP answers count when a responder does not answer), and B-LT when it holds
revocation data for the signer. The document timestamps of later revisions are archive time-stamps
of each earlier signature (`LongTerm`): the earliest trusted one proves the signature existed at its
time (the signer is then judged at it: revoked or expired since still passes), and one that also
covers the DSS makes B-LTA.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from services.identity.domain.errors import InvalidInput
from services.identity.domain.pdf import (
    FoundTimestamp,
    ListedTimestamp,
    PdfReport,
    PdfSignatureReport,
    SignatureKind,
    TimestampKind,
    TimestampStatus,
    judge_pdf_signature,
)
from services.identity.domain.policy import ValidationPolicy
from services.identity.domain.report import (
    Indication,
    Reason,
    SignatureReport,
    SubIndication,
    TimestampReport,
)
from services.identity.service_layer.ports import FoundPdfSignature, PdfFacts, PdfSignatureReader
from services.identity.service_layer.verify_signature import LongTerm, SignatureVerifier, VerifyCmsSignature
from services.identity.service_layer.verify_timestamp import ArchiveStamp


@dataclass(frozen=True)
class VerifyPdfSignatures:
    pdf: bytes
    intermediates: tuple[bytes, ...] = ()
    policy: ValidationPolicy = field(default_factory=ValidationPolicy)


class PdfVerifier:
    def __init__(self, verifier: SignatureVerifier, reader: PdfSignatureReader) -> None:
        self._verifier = verifier
        self._reader = reader

    async def verify(self, command: VerifyPdfSignatures) -> PdfReport:
        facts = self._reader.read(command.pdf, "pdf")
        reports: list[PdfSignatureReport] = []
        for found in facts.signatures:
            if found.kind is SignatureKind.SIGNATURE:
                reports.append(await self._one(found, command, _long_term(found, facts)))
        document_timestamps = await self._document_timestamps(facts)
        return PdfReport(
            tuple(reports),
            tuple(document_timestamps),
            facts.revisions,
            facts.file_bytes,
            hashlib.sha256(command.pdf).digest(),
        )

    async def _one(
        self, found: FoundPdfSignature, command: VerifyPdfSignatures, long_term: LongTerm
    ) -> PdfSignatureReport:
        try:
            cms = await self._verifier.verify_cms(
                VerifyCmsSignature(
                    signature=found.cms,
                    document=found.signed_content,
                    intermediates=command.intermediates,
                    policy=command.policy,
                    long_term=long_term,
                )
            )
        except InvalidInput as exc:
            if exc.field.split(".")[0] != "signature":  # the request's own (intermediates): the caller's
                raise
            # A CMS that cannot be read is this signature's failure; the others are still judged.
            cms = SignatureReport(
                Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE, Reason.MALFORMED, False, None, None, None,
                detail=exc.message,
            )  # fmt: skip
        indication, sub, reason = judge_pdf_signature(cms, found.coverage, found.modifications)
        timestamps = _signature_timestamps(cms, found.timestamps)
        return PdfSignatureReport(
            found.field_name,
            found.signer,
            indication,
            sub,
            reason,
            cms,
            found.coverage,
            found.modifications,
            cms.level,
            timestamps,
            found.claimed_signing_time,
            found.sub_filter,
            _digest(cms.digest_algorithm, found.signed_content),
        )

    async def _document_timestamps(self, facts: PdfFacts) -> tuple[ListedTimestamp, ...]:
        """Every document timestamp judged as archive time-stamps are (each covers the ones before
        it): the last one now, each earlier one at the time the next trusted one proves."""
        found = [
            (stamp, later.coverage.revision)
            for later in facts.signatures
            if later.kind is SignatureKind.DOCUMENT_TIMESTAMP
            for stamp in later.timestamps
        ]
        stamps = [ArchiveStamp(stamp.token, stamp.imprinted) for stamp, _ in found]
        _, judged = await self._verifier.timestamps.archive_chain(stamps, (), facts.dss)
        return tuple(
            _listed(report, TimestampKind.DOCUMENT, stamp.field_name, revision)
            for (stamp, revision), report in zip(found, judged, strict=True)
        )


def _long_term(found: FoundPdfSignature, facts: PdfFacts) -> LongTerm:
    """What keeps `found` provable from the rest of the PDF: the DSS, and as archive time-stamps the
    document timestamps of later revisions (each covers every revision before its own), oldest first."""
    dss_from = facts.dss_revision if found.dss_covers_signer and facts.dss_revision is not None else None
    stamps = tuple(
        ArchiveStamp(stamp.token, stamp.imprinted, dss_from is not None and dss_from <= later.coverage.revision)
        for later in facts.signatures
        if later.kind is SignatureKind.DOCUMENT_TIMESTAMP and later.coverage.revision > found.coverage.revision
        for stamp in later.timestamps
    )
    return LongTerm(found.dss_covers_signer, stamps, facts.dss)


def _signature_timestamps(cms: SignatureReport, found: tuple[FoundTimestamp, ...]) -> tuple[ListedTimestamp, ...]:
    """The signature timestamps as the CMS judgement judged them; when it stopped before them (the
    signature itself failed), those the PDF carries, not judged."""
    if cms.timestamps or not found:
        return tuple(_listed(t, TimestampKind.SIGNATURE) for t in cms.timestamps)
    return tuple(
        ListedTimestamp(t.kind, t.gen_time, t.authority, TimestampStatus.NOT_JUDGED, "the signature did not verify")
        for t in found
    )


def _listed(report: TimestampReport, kind: TimestampKind, field_name: str = "", revision: int = 0) -> ListedTimestamp:
    status = TimestampStatus.PASSED if report.trusted else TimestampStatus.FAILED
    detail = report.reason.value + (f": {report.detail}" if report.detail else "")
    return ListedTimestamp(kind, report.gen_time, report.tsa_subject, status, detail, field_name, revision)


def _digest(name: str, content: bytes) -> bytes:
    """The byte range's digest as the CMS names it (for the fact event); empty if it names none."""
    try:
        return hashlib.new(name, content).digest() if name else b""
    except ValueError:
        return b""
