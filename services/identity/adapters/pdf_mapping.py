"""PDF signature reports (PAdES) to protobuf, at the edge; the CMS part maps as VerifySignature's."""

from __future__ import annotations

from baylink.identity.v1 import identity_service_pb2 as api
from baylink.runtime.timestamps import set_timestamp
from services.identity.adapters import proto_mapping as m
from services.identity.domain.pdf import (
    Change,
    Coverage,
    ListedTimestamp,
    PdfReport,
    PdfSignatureReport,
    TimestampStatus,
)
from services.identity.domain.report import SignatureLevel

_COVERAGE = {
    Coverage.ENTIRE_FILE: api.PDF_COVERAGE_ENTIRE_FILE,
    Coverage.ENTIRE_REVISION: api.PDF_COVERAGE_ENTIRE_REVISION,
    Coverage.PARTIAL: api.PDF_COVERAGE_PARTIAL,
}
_CHANGE = {
    Change.NONE: api.PDF_CHANGE_NONE,
    Change.LTA_UPDATES: api.PDF_CHANGE_LTA_UPDATES,
    Change.FORM_FILLING: api.PDF_CHANGE_FORM_FILLING,
    Change.ANNOTATIONS: api.PDF_CHANGE_ANNOTATIONS,
    Change.OTHER: api.PDF_CHANGE_OTHER,
}
_LEVEL = {
    SignatureLevel.B_B: api.PADES_LEVEL_B_B,
    SignatureLevel.B_T: api.PADES_LEVEL_B_T,
    SignatureLevel.B_LT: api.PADES_LEVEL_B_LT,
    SignatureLevel.B_LTA: api.PADES_LEVEL_B_LTA,
}
_JUDGEMENT = {
    TimestampStatus.NOT_JUDGED: api.TIMESTAMP_JUDGEMENT_NOT_JUDGED,
    TimestampStatus.PASSED: api.TIMESTAMP_JUDGEMENT_PASSED,
    TimestampStatus.FAILED: api.TIMESTAMP_JUDGEMENT_FAILED,
}


def pdf_response(r: PdfReport) -> api.VerifyPdfSignaturesResponse:
    response = api.VerifyPdfSignaturesResponse(
        revisions=r.revisions, file_bytes=r.file_bytes, sha256=r.digest_sha256, all_passed=r.passed
    )
    for signature in r.signatures:
        _fill_signature(response.signatures.add(), signature)
    for stamp in r.document_timestamps:
        _fill_timestamp(response.document_timestamps.add(), stamp)
    return response


def _fill_signature(out: api.PdfSignatureReport, s: PdfSignatureReport) -> None:
    m.fill_signature_response(out.cms, s.cms)
    out.report.CopyFrom(out.cms.report)
    if s.reason is not s.cms.reason:  # the PDF around the CMS failed: its verdict, its message
        out.report.indication = m.indication(s.indication)  # type: ignore[assignment]  # an Indication number
        out.report.sub_indication = m.sub_indication(s.sub_indication)  # type: ignore[assignment]
        out.report.reason = s.reason.value
        del out.report.messages[:]
        out.report.messages.append(m.localized(s.message))
        out.report.detail = s.modifications.detail if s.modifications.refusal is s.reason else ""
    out.field_name = s.field_name
    out.signer = s.signer
    out.revision = s.coverage.revision
    out.revisions = s.coverage.revisions
    out.coverage = _COVERAGE[s.coverage.coverage]  # type: ignore[assignment]  # a PdfCoverage number
    out.covered_bytes = s.coverage.covered_bytes
    out.byte_range.extend(s.coverage.byte_range)
    out.change_after_signing = _CHANGE[s.modifications.change]  # type: ignore[assignment]
    out.docmdp_permission = s.modifications.docmdp or 0
    out.field_locks = s.modifications.field_locks
    out.level = _LEVEL[s.level]  # type: ignore[assignment]  # a PadesLevel number
    for stamp in s.timestamps:
        _fill_timestamp(out.timestamps.add(), stamp)
    if s.claimed_signing_time is not None:
        set_timestamp(out.claimed_signing_time, s.claimed_signing_time)
    out.sub_filter = s.sub_filter


def _fill_timestamp(out: api.PdfTimestamp, t: ListedTimestamp) -> None:
    if t.gen_time is not None:
        set_timestamp(out.gen_time, t.gen_time)
    out.authority = t.authority
    out.judgement = _JUDGEMENT[t.status]  # type: ignore[assignment]  # a TimestampJudgement number
    out.detail = t.detail
    out.field_name = t.field_name
    out.revision = t.revision
