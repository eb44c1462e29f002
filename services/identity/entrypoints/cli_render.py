"""The human view of validation and signature reports (the dicts of `cli_report`)."""

from __future__ import annotations

import shutil
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

Report = dict[str, Any]
_STYLES = {"TOTAL_PASSED": "bold green", "TOTAL_FAILED": "bold red", "INDETERMINATE": "bold yellow"}
_LANGUAGES = ("zh-Hant", "zh-Hans", "en")


def console() -> Console:
    # Fingerprints are 64 characters: do not squeeze them into 80 columns when piped.
    return Console(width=max(shutil.get_terminal_size((140, 24)).columns, 120), highlight=False)


def _facts() -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    return table


def _outcome(table: Table, report: Report) -> None:
    indication = report["indication"] or "?"
    table.add_row("indication", Text(indication, style=_STYLES.get(indication, "")))
    table.add_row("sub-indication", Text(report["sub_indication"] or "-"))
    table.add_row("reason", Text(report["reason"] or "-"))


def _messages(table: Table, report: Report) -> None:
    for message in report["messages"]:
        for language in _LANGUAGES:
            table.add_row(Text(f"message [{language}]"), Text(message[language]))
    if report.get("detail"):
        table.add_row("detail", Text(report["detail"]))
    for warning in report.get("warnings", []):
        table.add_row("warning", Text(warning, style="yellow"))


def _chain(report: Report, title: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("#", no_wrap=True)
    table.add_column("certificate", overflow="fold")
    last = len(report["chain"]) - 1
    for index, element in enumerate(report["chain"]):
        role = "end entity" if index == 0 else "anchor" if index == last else "CA"
        cell = Text()
        if element["subject"]:  # online, the service describes only the end entity
            cell.append(f"{element['subject']}\n", style="bold")
            cell.append(f"issuer {element['issuer'] or '?'}\n")
            cell.append(f"serial {element['serial'] or '?'}  not after {element['not_after'] or '?'}\n")
        cell.append(f"sha256 {element['fingerprint_sha256']}", style="cyan")
        table.add_row(f"{index} {role}", cell)
    return table


def validation_view(report: Report, title: str = "certificate validation") -> Group:
    table = _facts()
    _outcome(table, report)
    table.add_row("validation time", Text(report["validation_time"] or "-"))
    table.add_row("jurisdiction", Text(report["jurisdiction"] or "-"))
    service = report.get("trust_service")
    if service:
        table.add_row("trust service", Text(" / ".join(service[lang] for lang in _LANGUAGES)))
    if report.get("authority_id"):
        table.add_row("authority", Text(report["authority_id"]))
    table.add_row("policies", Text(", ".join(report["policies"]) or "-"))
    _messages(table, report)
    parts: list[Any] = [Text(title, style="bold underline"), table]
    if report["chain"]:
        parts.append(_chain(report, "chain (end entity first, anchor last)"))
    else:
        parts.append(Text("chain: none could be built"))
    return Group(*parts)


def signature_view(report: Report) -> Group:
    table = _facts()
    _outcome(table, report)
    valid = report["signature_valid"]
    table.add_row("signature", Text("-" if valid is None else "verifies" if valid else "does not verify"))
    table.add_row("claimed signing time", Text(report["claimed_signing_time"] or "- (none in the signature)"))
    proven = report.get("proven_signing_time")
    table.add_row("proven signing time", Text(proven or "- (no trusted timestamp)", style="green" if proven else ""))
    table.add_row("level", Text(report.get("level") or "-"))
    table.add_row("verification time", Text(report["verification_time"] or "-"))
    table.add_row("signer sha256", Text(report["signer_fingerprint_sha256"] or "-"))
    algorithms = [a for a in (report["digest_algorithm"], report["signature_algorithm"]) if a]
    table.add_row("algorithms", Text(", ".join(algorithms) or "-"))
    _messages(table, report)
    parts: list[Any] = [Text("signature verification", style="bold underline"), table]
    if report.get("timestamps"):
        parts.append(_timestamps(report["timestamps"]))
    if report.get("archive_timestamps"):
        parts.append(_timestamps(report["archive_timestamps"], "archive time-stamps (oldest first)"))
    if report["at_verification_time"]:
        parts.append(validation_view(report["at_verification_time"], "signer's certificate at verification time"))
    if report["at_signing_time"]:
        when = "the proven signing time" if report.get("proven_signing_time") else "the claimed signing time"
        parts.append(validation_view(report["at_signing_time"], f"signer's certificate at {when}"))
    return Group(*parts)


def _timestamps(stamps: list[Report], title: str = "signature time-stamps") -> Table:
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("#", no_wrap=True)
    table.add_column("time-stamp", overflow="fold")
    for index, stamp in enumerate(stamps):
        cell = Text()
        verdict = "trusted: proof of existence" if stamp["trusted"] else "not trusted: proves nothing"
        cell.append(f"{verdict} ({stamp['reason'] or '?'})\n", style="green" if stamp["trusted"] else "yellow")
        cell.append(f"time {stamp['gen_time'] or '?'}\n")
        service = stamp.get("tsa_service")
        if service:
            cell.append(f"TSA service {' / '.join(service[lang] for lang in _LANGUAGES)} ({stamp['jurisdiction']})\n")
        cell.append(f"TSA {stamp['tsa_subject'] or '?'}\n")
        for message in stamp["messages"]:
            cell.append(f"{message['en']}\n")
        if stamp.get("detail"):
            cell.append(f"detail {stamp['detail']}\n")
        cell.append(f"sha256 {stamp['tsa_fingerprint_sha256'] or '?'}", style="cyan")
        table.add_row(str(index), cell)
    return table
