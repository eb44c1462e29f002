"""`baylink identity verify --signature FILE.pdf`: the report of a signed PDF as a dict, and its view.

Offline runs give a `PdfReport`, online runs the service's VerifyPdfSignaturesResponse; both become
the same dict here (each signature's CMS part in the shape of `cli_report.signature_dict`).
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from services.identity.domain.pdf import ListedTimestamp, PdfReport, PdfSignatureReport
from services.identity.entrypoints.cli_render import _LANGUAGES, _STYLES, _facts, signature_view
from services.identity.entrypoints.cli_report import (
    Report,
    _enum_name,
    _timestamp,
    iso,
    signature_dict,
    signature_from_proto,
    text,
)


def _overall(signatures: list[Report]) -> str:
    failing = [s["indication"] for s in signatures if s["indication"] != "TOTAL_PASSED"]
    if not signatures:
        return "INDETERMINATE"
    return "TOTAL_PASSED" if not failing else "TOTAL_FAILED" if "TOTAL_FAILED" in failing else failing[0]


def _stamp(t: ListedTimestamp) -> Report:
    return {
        "kind": t.kind.value,
        "gen_time": iso(t.gen_time),
        "authority": t.authority,
        "judgement": t.status.value,
        "detail": t.detail,
        "field_name": t.field_name or None,
        "revision": t.revision or None,
    }


def _signature(s: PdfSignatureReport) -> Report:
    return {
        "field_name": s.field_name,
        "signer": s.signer,
        "indication": s.indication.value,
        "sub_indication": s.sub_indication.value if s.sub_indication else None,
        "reason": s.reason.value,
        "messages": [text(s.message)],
        "revision": s.coverage.revision,
        "revisions": s.coverage.revisions,
        "coverage": s.coverage.coverage.value,
        "covered_bytes": s.coverage.covered_bytes,
        "byte_range": list(s.coverage.byte_range),
        "change_after_signing": s.modifications.change.name.lower(),
        "docmdp_permission": s.modifications.docmdp,
        "field_locks": s.modifications.field_locks,
        "level": s.level.value,
        "timestamps": [_stamp(t) for t in s.timestamps],
        "claimed_signing_time": iso(s.claimed_signing_time),
        "sub_filter": s.sub_filter,
        "cms": signature_dict(s.cms),
    }


def pdf_dict(report: PdfReport) -> Report:
    signatures = [_signature(s) for s in report.signatures]
    return {
        "kind": "pdf",
        "indication": _overall(signatures),
        "all_passed": report.passed,
        "revisions": report.revisions,
        "file_bytes": report.file_bytes,
        "sha256": report.digest_sha256.hex(),
        "signatures": signatures,
        "document_timestamps": [_stamp(t) for t in report.document_timestamps],
    }


def _stamp_from_proto(t: Any, kind: str) -> Report:
    from baylink.identity.v1 import identity_service_pb2 as api

    judgement = _enum_name(api.TimestampJudgement, t.judgement, "TIMESTAMP_JUDGEMENT_")
    return {
        "kind": kind,
        "gen_time": _timestamp(t, "gen_time"),
        "authority": t.authority,
        "judgement": judgement.lower() if judgement else None,
        "detail": t.detail,
        "field_name": t.field_name or None,
        "revision": t.revision or None,
    }


def _signature_from_proto(s: Any) -> Report:
    from baylink.identity.v1 import identity_service_pb2 as api
    from services.identity.entrypoints.cli_report import validation_from_proto

    overall = validation_from_proto(s.report)
    coverage = _enum_name(api.PdfCoverage, s.coverage, "PDF_COVERAGE_")
    change = _enum_name(api.PdfChange, s.change_after_signing, "PDF_CHANGE_")
    level = _enum_name(api.PadesLevel, s.level, "PADES_LEVEL_")
    return {
        "field_name": s.field_name,
        "signer": s.signer,
        "indication": overall["indication"],
        "sub_indication": overall["sub_indication"],
        "reason": overall["reason"],
        "messages": overall["messages"],
        "revision": s.revision,
        "revisions": s.revisions,
        "coverage": coverage.lower() if coverage else None,
        "covered_bytes": s.covered_bytes,
        "byte_range": list(s.byte_range),
        "change_after_signing": change.lower() if change else None,
        "docmdp_permission": s.docmdp_permission or None,
        "field_locks": s.field_locks,
        "level": level.replace("_", "-") if level else None,
        "timestamps": [_stamp_from_proto(t, "signature") for t in s.timestamps],
        "claimed_signing_time": _timestamp(s, "claimed_signing_time"),
        "sub_filter": s.sub_filter,
        "cms": signature_from_proto(s.cms),
    }


def pdf_from_proto(response: Any) -> Report:
    signatures = [_signature_from_proto(s) for s in response.signatures]
    return {
        "kind": "pdf",
        "indication": _overall(signatures),
        "all_passed": response.all_passed,
        "revisions": response.revisions,
        "file_bytes": response.file_bytes,
        "sha256": response.sha256.hex(),
        "signatures": signatures,
        "document_timestamps": [_stamp_from_proto(t, "document") for t in response.document_timestamps],
    }


def _stamps(table: Table, label: str, stamps: list[Report]) -> None:
    for t in stamps:
        where = f" (field {t['field_name']}, revision {t['revision']})" if t["field_name"] else ""
        line = f"{t['gen_time'] or '?'} by {t['authority'] or '?'}: {t['judgement']}{where}"
        table.add_row(label, Text(line, style="yellow" if t["judgement"] == "not_judged" else ""))


def pdf_view(report: Report) -> Group:
    head = _facts()
    indication = report["indication"]
    head.add_row("document", Text(indication, style=_STYLES.get(indication, "")))
    head.add_row("revisions", Text(f"{report['revisions']} ({report['file_bytes']} bytes, sha256 {report['sha256']})"))
    _stamps(head, "document timestamp", report["document_timestamps"])
    parts: list[Any] = [Text("signed PDF", style="bold underline"), head]
    for s in report["signatures"]:
        table = _facts()
        table.add_row("signer", Text(s["signer"] or "-"))
        table.add_row("indication", Text(s["indication"] or "?", style=_STYLES.get(s["indication"] or "", "")))
        table.add_row("sub-indication", Text(s["sub_indication"] or "-"))
        table.add_row("reason", Text(s["reason"] or "-"))
        for message in s["messages"]:
            for language in _LANGUAGES:
                table.add_row(Text(f"message [{language}]"), Text(message[language]))
        whole = "the whole document" if s["coverage"] == "entire_file" else f"an earlier revision ({s['coverage']})"
        table.add_row(
            "covers", Text(f"{whole}: revision {s['revision']} of {s['revisions']}, {s['covered_bytes']} bytes")
        )
        table.add_row("changed after", Text(f"{s['change_after_signing']} (DocMDP {s['docmdp_permission'] or 'none'})"))
        table.add_row("level", Text(f"PAdES {s['level']}"))
        _stamps(table, "signature timestamp", s["timestamps"])
        parts += [Text(f"signature field {s['field_name']}", style="bold underline"), table, signature_view(s["cms"])]
    return Group(*parts)
