"""Use case VerifyPdfSignatures: every signature of a signed PDF (PAdES), one report each.

Each signature's CMS is judged by `SignatureVerifier.verify_cms` over the bytes of its byte range,
exactly as a detached CMS sent to VerifySignature is (trust lists, revocation, algorithms); the
PDF rules (`domain.pdf.judge_pdf_signature`) then add what the byte range covers and whether what
came after it was allowed. Timestamps go to the `TimestampJudge`; `NotJudgedYet` lists them as
not judged until a timestamp verifier is wired in its place.
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
    TimestampStatus,
    TimestampVerdict,
    judge_pdf_signature,
    level_of,
)
from services.identity.domain.policy import ValidationPolicy
from services.identity.service_layer.ports import FoundPdfSignature, PdfSignatureReader, TimestampJudge
from services.identity.service_layer.verify_signature import SignatureVerifier, VerifyCmsSignature


@dataclass(frozen=True)
class VerifyPdfSignatures:
    pdf: bytes
    intermediates: tuple[bytes, ...] = ()
    policy: ValidationPolicy = field(default_factory=ValidationPolicy)


class NotJudgedYet:
    """The `TimestampJudge` until timestamps can be judged: every timestamp is listed, none trusted."""

    async def judge(self, found: FoundTimestamp) -> TimestampVerdict:
        return TimestampVerdict(TimestampStatus.NOT_JUDGED, "no timestamp verifier is configured")


class PdfVerifier:
    def __init__(self, verifier: SignatureVerifier, reader: PdfSignatureReader, timestamps: TimestampJudge) -> None:
        self._verifier = verifier
        self._reader = reader
        self._timestamps = timestamps

    async def verify(self, command: VerifyPdfSignatures) -> PdfReport:
        facts = self._reader.read(command.pdf, "pdf")
        reports: list[PdfSignatureReport] = []
        document_timestamps: list[ListedTimestamp] = []
        for found in facts.signatures:
            if found.kind is SignatureKind.DOCUMENT_TIMESTAMP:
                document_timestamps.extend([await self._listed(t, found.coverage.revision) for t in found.timestamps])
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
        timestamps = tuple([await self._listed(t, found.coverage.revision) for t in found.timestamps])
        return PdfSignatureReport(
            found.field_name,
            found.signer,
            indication,
            sub,
            reason,
            cms,
            found.coverage,
            found.modifications,
            level_of(timestamps),
            timestamps,
            found.claimed_signing_time,
            found.sub_filter,
            _digest(cms.digest_algorithm, found.signed_content),
        )

    async def _listed(self, found: FoundTimestamp, revision: int) -> ListedTimestamp:
        verdict = await self._timestamps.judge(found)
        return ListedTimestamp(
            found.kind, found.gen_time, found.authority, verdict.status, verdict.detail, found.field_name, revision
        )


def _digest(name: str, content: bytes) -> bytes:
    """The byte range's digest as the CMS names it (for the fact event); empty if it names none."""
    try:
        return hashlib.new(name, content).digest() if name else b""
    except ValueError:
        return b""
