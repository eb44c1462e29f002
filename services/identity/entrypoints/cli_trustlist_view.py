"""The human view of a signed trust list (`baylink trustlist show`)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from asn1crypto import x509
from rich.console import Group
from rich.table import Table
from rich.text import Text

from baylink.i18n import LocalText
from services.identity.domain.trustlist import TrustService
from services.identity.domain.trustlist_codec import SignedTrustList
from services.identity.entrypoints.cli_report import iso


def _subject(der: bytes) -> str:
    try:
        return str(x509.Certificate.load(der).subject.human_friendly)
    except (ValueError, TypeError, KeyError):
        return "(unreadable certificate)"


def _languages(value: LocalText) -> Text:
    return Text(f"{value.zh_hant}\n{value.zh_hans}\n{value.en}")


def _header(signed: SignedTrustList, now: datetime) -> Table:
    trust_list = signed.trust_list
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("jurisdiction", trust_list.jurisdiction.value)
    table.add_row("sequence", str(trust_list.sequence_number))
    table.add_row("issue date", iso(trust_list.issue_date))
    stale = " (past due: the list is stale)" if trust_list.is_stale(now) else ""
    table.add_row("next update", Text(f"{iso(trust_list.next_update)}{stale}", style="yellow" if stale else ""))
    table.add_row("scheme operator", _languages(trust_list.scheme_operator))
    table.add_row("signature", Text(f"{signed.algorithm} by {_subject(signed.signer_certificate_der)}"))
    table.add_row("signer sha256", hashlib.sha256(signed.signer_certificate_der).hexdigest())
    table.add_row("", Text("not checked here: run `baylink trustlist verify`", style="dim"))
    return table


def _history(service: TrustService, now: datetime) -> Text:
    current = service.status_at(now)
    lines = Text()
    for index, change in enumerate(service.status_history):
        lines.append(("\n" if index else "") + f"{change.status.value} since {iso(change.since)}")
    lines.append(f"\nnow: {current.value if current else 'not yet listed'}", style="bold")
    return lines


def _service(index: int, service: TrustService, now: datetime) -> Table:
    table = Table(title=f"service {index}: {service.name.en}", title_justify="left", show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("name", _languages(service.name))
    table.add_row("type", service.service_type.value)
    table.add_row("status history", _history(service, now))
    table.add_row("policies", Text("\n".join(sorted(service.recognised_policies)) or "-"))
    table.add_row("CA certificate", Text(_subject(service.certificate_der)))
    table.add_row("sha256", Text(service.fingerprint_sha256, style="cyan"))
    return table


def list_view(signed: SignedTrustList, now: datetime | None = None) -> Group:
    moment = now or datetime.now(UTC)
    services = [_service(i, s, moment) for i, s in enumerate(signed.trust_list.services)]
    return Group(_header(signed, moment), *services)
