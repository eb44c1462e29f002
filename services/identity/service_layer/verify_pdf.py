"""Use case VerifyPdfSignatures: every signature of a signed PDF (PAdES), one report each.

Each signature's CMS is judged by `SignatureVerifier.verify_cms` over the bytes of its byte range,
exactly as a detached CMS sent to VerifySignature is (trust lists, revocation, algorithms); the
PDF rules (`domain.pdf.judge_pdf_signature`) then add what the byte range covers and whether what
came after it was allowed. Signature timestamps are judged there too, as for any CMS (a trusted one
is the proof of existence and makes the level B-T); document timestamps are judged by the same
`TimestampVerifier.check_timestamp` over their byte range, and listed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

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
from services.identity.domain.report import SignatureReport, TimestampReport
from services.identity.service_layer.ports import FoundPdfSignature, PdfSignatureReader
from services.identity.service_layer.verify_signature import SignatureVerifier, VerifyCmsSignature


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
        document_timestamps: list[ListedTimestamp] = []
        for found in facts.signatures:
            if found.kind is SignatureKind.DOCUMENT_TIMESTAMP:
                for stamp in found.timestamps:
                    document_timestamps.append(await self._document_timestamp(stamp, found.coverage.revision))
            else:
                reports.append(await self._one(found, command))
        return PdfReport(
            tuple(reports),
            tuple(document_timestamps),
            facts.revisions,
            facts.file_bytes,
            hashlib.sha256(command.pdf).digest(),
        )

    async def _one(self, found: FoundPdfSignature, command: VerifyPdfSignatures) -> PdfSignatureReport:
        cms = await self._verifier.verify_cms(
            VerifyCmsSignature(
                signature=found.cms,
                document=found.signed_content,
                intermediates=command.intermediates,
                policy=command.policy,
            )
        )
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

    async def _document_timestamp(self, found: FoundTimestamp, revision: int) -> ListedTimestamp:
        report = await self._verifier.timestamps.check_timestamp(found.token, found.imprinted)
        return _listed(report, TimestampKind.DOCUMENT, found.field_name, revision)


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
