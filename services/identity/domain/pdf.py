"""Signed PDFs (PAdES, ETSI EN 319 142-1): what a signature covers, what changed after it, and
the rules that turn those facts and the CMS judgement into one EN 319 102-1 answer per signature.

The CMS inside each signature is judged as any detached CMS is (`SignatureVerifier`); this module
adds what only a PDF has: the byte range (which revision of the file the signature covers) and
the incremental updates after it, which the signer's DocMDP/FieldMDP permissions may or may not
allow. Timestamps are listed with their judgement: signature timestamps as the CMS judgement made
them (proof of existence, level), document timestamps by the timestamp verifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

from baylink.i18n import LocalText
from services.identity.domain.messages import message_for
from services.identity.domain.report import Indication, Reason, SignatureLevel, SignatureReport, SubIndication

MAX_PDF_BYTES = 12 * 1024 * 1024  # under the 16 MiB gRPC message limit, with room for the rest
MAX_PDF_SIGNATURES = 20  # signatures and document timestamps together


class SignatureKind(StrEnum):
    SIGNATURE = "signature"  # /Type /Sig: a signer's CMS SignedData
    DOCUMENT_TIMESTAMP = "document_timestamp"  # /Type /DocTimeStamp: an RFC 3161 token over the byte range


class Coverage(StrEnum):
    """What the byte range covers (the PDF signature's ByteRange, read against the file's revisions)."""

    ENTIRE_FILE = "entire_file"  # every byte but the signature value itself
    ENTIRE_REVISION = "entire_revision"  # a whole earlier revision; later incremental updates follow
    PARTIAL = "partial"  # anything else: a gap or a revision not wholly covered


class Change(IntEnum):
    """The most a later incremental update did, in the order of the PDF DocMDP permissions."""

    NONE = 0
    LTA_UPDATES = 1  # validation data (DSS) and document timestamps only
    FORM_FILLING = 2  # form fields filled, further signatures added
    ANNOTATIONS = 3  # annotations added or changed
    OTHER = 4  # content changed: pages, objects, anything a permission cannot allow


class TimestampStatus(StrEnum):
    NOT_JUDGED = "not_judged"  # present and listed, not judged (the signature's CMS failed before)
    PASSED = "passed"
    FAILED = "failed"


class TimestampKind(StrEnum):
    SIGNATURE = "signature"  # over one signature's value (PAdES B-T)
    DOCUMENT = "document"  # over a revision of the whole file (/DocTimeStamp)


@dataclass(frozen=True)
class FoundTimestamp:
    """An RFC 3161 timestamp token found in the PDF, as read, before any judgement."""

    kind: TimestampKind
    token: bytes  # DER ContentInfo (SignedData over TSTInfo)
    imprinted: bytes  # the bytes its message imprint must be the digest of
    gen_time: datetime | None  # what the token says; only the TSA's word until judged
    authority: str  # the TSA's subject, for people
    field_name: str = ""  # document timestamps: their signature field


@dataclass(frozen=True)
class ListedTimestamp:
    kind: TimestampKind
    gen_time: datetime | None
    authority: str
    status: TimestampStatus
    detail: str = ""
    field_name: str = ""
    revision: int = 0  # document timestamps: the revision they cover (1 is the first)


@dataclass(frozen=True)
class ByteCoverage:
    revision: int  # the revision the signature covers, 1 for the original document
    revisions: int  # how many the file has
    covered_bytes: int  # bytes the signature's digest covers (the byte range)
    file_bytes: int
    coverage: Coverage
    byte_range: tuple[int, ...]

    @property
    def whole_document(self) -> bool:
        return self.coverage is Coverage.ENTIRE_FILE


@dataclass(frozen=True)
class ModificationFacts:
    """What came after the signed revision, and what the signature's permissions say of it."""

    change: Change
    docmdp: int | None  # the DocMDP /P in force for this signature (1, 2 or 3); None: no restriction
    field_locks: bool  # a FieldMDP lock applies to this signature
    detail: str = ""

    @property
    def refusal(self) -> Reason | None:
        if self.change is Change.OTHER:
            return Reason.PDF_MODIFIED_AFTER_SIGNING
        if self.docmdp is not None and self.change > self.docmdp:
            return Reason.PDF_MDP_VIOLATION
        return None


@dataclass(frozen=True)
class PdfSignatureReport:
    field_name: str
    signer: str  # the signer certificate's subject, for people ("" if none was found)
    indication: Indication
    sub_indication: SubIndication | None
    reason: Reason
    cms: SignatureReport  # the CMS judged exactly as VerifySignature judges a detached CMS
    coverage: ByteCoverage
    modifications: ModificationFacts
    level: SignatureLevel  # the CMS's: B-T only with a trusted signature timestamp
    timestamps: tuple[ListedTimestamp, ...]
    claimed_signing_time: datetime | None  # the signature dictionary's /M (the signer's word)
    sub_filter: str
    signed_digest: bytes = b""  # the byte range's digest under the CMS's digest algorithm

    @property
    def passed(self) -> bool:
        return self.indication is Indication.TOTAL_PASSED

    @property
    def message(self) -> LocalText:
        return message_for(self.reason.value)


@dataclass(frozen=True)
class PdfReport:
    signatures: tuple[PdfSignatureReport, ...]
    document_timestamps: tuple[ListedTimestamp, ...]
    revisions: int
    file_bytes: int
    digest_sha256: bytes  # of the whole file, for the fact events

    @property
    def passed(self) -> bool:
        return bool(self.signatures) and all(s.passed for s in self.signatures)


def judge_pdf_signature(
    cms: SignatureReport, coverage: ByteCoverage, modifications: ModificationFacts
) -> tuple[Indication, SubIndication | None, Reason]:
    """The PDF rules on top of the CMS judgement: a byte range that leaves gaps, or later changes
    the signer's permissions do not allow, fail the signature whatever its CMS says; otherwise the
    CMS judgement stands. Baylink refuses any content change after signing even when no DocMDP
    forbids it (see docs/identity.md, PAdES)."""
    if cms.indication is Indication.TOTAL_FAILED:
        return cms.indication, cms.sub_indication, cms.reason
    if coverage.coverage is Coverage.PARTIAL:
        return Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE, Reason.PDF_SIGNATURE_COVERAGE
    refusal = modifications.refusal
    if refusal is not None:
        return Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE, refusal
    return cms.indication, cms.sub_indication, cms.reason
