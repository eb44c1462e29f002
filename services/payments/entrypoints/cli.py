"""``baylink payments``: operate the payment link — participants, caps, rates, settlement, audit, ISO 20022.

Every command but ``audit`` asks the running payments service over gRPC (``--target HOST:PORT``,
default: the payments settings' address, 127.0.0.1:50053), through the same admin RPCs any client
uses. ``audit`` is offline: it reads the database directly (``--database-url``). Errors are one
line on stderr, reason code first. Exit codes: 1 refused or not found (and ``audit`` on any
breach), 2 usage: an invalid amount, currency or option, or the service not reachable.
"""

from __future__ import annotations

import sys
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from baylink.common.v1 import common_pb2
from baylink.payments.v1 import participant_pb2, settlement_pb2, transfer_pb2
from baylink.payments.v1 import payments_service_pb2 as api
from baylink.runtime.timestamps import to_timestamp
from services.payments.domain.money import parse_decimal
from services.payments.domain.participants import Jurisdiction, ParticipantKind
from services.payments.entrypoints import cli_render as show
from services.payments.entrypoints.cli_audit import audit
from services.payments.entrypoints.cli_client import connected

app = typer.Typer(name="payments", help="Operate the payment link.", no_args_is_help=True, add_completion=False)
TargetOption = Annotated[
    str,
    typer.Option(
        "--target",
        metavar="HOST:PORT",
        help="The payments service; default: BAYLINK_PAYMENTS_GRPC_HOST/_PORT, else 127.0.0.1:50053.",
    ),
]
ISO_KINDS = {
    "pacs.008": settlement_pb2.ISO20022_MESSAGE_TYPE_PACS_008,
    "pacs.002": settlement_pb2.ISO20022_MESSAGE_TYPE_PACS_002,
}


@app.command("participant-add")
def participant_add(
    participant_id: str,
    name: Annotated[str, typer.Option(help="English name.")],
    jurisdiction: Annotated[Jurisdiction, typer.Option()],
    currency: Annotated[list[str], typer.Option(help="ISO 4217; repeat for several.")],
    kind: Annotated[ParticipantKind, typer.Option()] = ParticipantKind.PSP,
    bic: Annotated[str, typer.Option()] = "",
    name_zh_hant: Annotated[str, typer.Option()] = "",
    name_zh_hans: Annotated[str, typer.Option()] = "",
    address: TargetOption = "",
) -> None:
    """Connect a participant; a position with a zero net debit cap is opened per currency."""
    request = api.CreateParticipantRequest(
        participant_id=participant_id,
        name=common_pb2.LocalizedText(en=name, zh_hant=name_zh_hant, zh_hans=name_zh_hans),
        currencies=currency,
        jurisdiction=common_pb2.Jurisdiction.Value(f"JURISDICTION_{jurisdiction.value}"),
        bic=bic,
        kind=participant_pb2.ParticipantKind.Value(f"PARTICIPANT_KIND_{kind.value}"),
    )
    with connected(address) as service:
        created = service.call("CreateParticipant", request).participant
    show.console.print(f"participant {created.participant_id}: {', '.join(created.currencies)}")


@app.command("participants")
def participants_list(address: TargetOption = "") -> None:
    """List participants."""
    with connected(address) as service:
        found = service.call("ListParticipants", api.ListParticipantsRequest()).participants
    show.participants(list(found))


@app.command("cap")
def cap(participant_id: str, amount: str, currency: str, address: TargetOption = "") -> None:
    """Set a participant's net debit cap in one currency (decimal amount, e.g. 1000000.00)."""
    with connected(address) as service:
        minor = 0 if _is_zero(amount) else parse_decimal(currency, amount, "cap").minor
        request = api.SetNetDebitCapRequest(
            participant_id=participant_id, net_debit_cap=common_pb2.Money(currency=currency, minor_units=minor)
        )
        position = service.call("SetNetDebitCap", request).position
    cap_set, available = show.money(position.net_debit_cap), show.money(position.available)
    show.console.print(f"{participant_id} {currency}: cap {cap_set}, available {available}")


@app.command("positions")
def positions(participant_id: str, address: TargetOption = "") -> None:
    """A participant's positions: committed net debit, reserved, cap and what is available."""
    with connected(address) as service:
        found = service.call("GetPosition", api.GetPositionRequest(participant_id=participant_id)).positions
    show.positions(list(found))


@app.command("rate-set")
def rate_set(
    source: str,
    target: str,
    mid: str,
    spread_bps: Annotated[int, typer.Option()] = 0,
    fee_fixed: Annotated[str, typer.Option(help="Fixed fee in the source currency, decimal.")] = "0",
    fee_bps: Annotated[int, typer.Option()] = 0,
    valid_until: Annotated[str, typer.Option(help="ISO 8601 with offset; empty: open-ended.")] = "",
    address: TargetOption = "",
) -> None:
    """Set the rate for a currency pair from now on."""
    try:
        Decimal(mid)
    except InvalidOperation:
        raise typer.BadParameter("mid must be a decimal") from None
    until = to_timestamp(_moment(valid_until)) if valid_until else None
    with connected(address) as service:
        fee = 0 if _is_zero(fee_fixed) else parse_decimal(source, fee_fixed, "fee_fixed").minor
        rate = transfer_pb2.Rate(
            source_currency=source,
            target_currency=target,
            rate=mid,
            valid_until=until,
            spread_bps=spread_bps,
            fee_fixed=common_pb2.Money(currency=source, minor_units=fee),
            fee_bps=fee_bps,
        )
        answered = service.call("SetRate", api.SetRateRequest(rate=rate)).rate
    show.console.print(show.rate_line(answered))


@app.command("windows")
def windows(address: TargetOption = "") -> None:
    """Settlement windows, newest first."""
    with connected(address) as service:
        found = service.call("ListSettlementWindows", api.ListSettlementWindowsRequest()).windows
    show.windows(list(found))


@app.command("settle")
def settle(
    window: Annotated[str, typer.Option(help="A window to settle; default: close the open one and settle it.")] = "",
    close_only: Annotated[bool, typer.Option(help="Close the open window, do not settle it.")] = False,
    address: TargetOption = "",
) -> None:
    """Close the open settlement window (the next one opens) and settle its net positions."""
    with connected(address) as service:
        chosen = window
        if not chosen:
            opened = service.call(
                "ListSettlementWindows",
                api.ListSettlementWindowsRequest(states=[settlement_pb2.SETTLEMENT_WINDOW_STATE_OPEN], limit=1),
            ).windows
            if not opened:
                raise typer.BadParameter("no open settlement window")
            chosen = opened[0].settlement_window_id
        report = service.call("GetSettlementReport", api.GetSettlementReportRequest(settlement_window_id=chosen)).report
        if report.window.state == settlement_pb2.SETTLEMENT_WINDOW_STATE_OPEN:
            closing = api.CloseSettlementWindowRequest(
                settlement_window_id=chosen, reason="closed by `baylink payments settle`"
            )
            report = service.call("CloseSettlementWindow", closing).report
        if not close_only:
            settling = api.SettleSettlementWindowRequest(settlement_window_id=chosen)
            report = service.call("SettleSettlementWindow", settling).report
    show.report(report)


app.command("audit")(audit)


@app.command("export")
def export_iso(
    transfer_id: str,
    message: Annotated[str, typer.Option(help="pacs.008 or pacs.002")] = "pacs.008",
    out: Annotated[Path | None, typer.Option(help="File to write; default stdout.")] = None,
    address: TargetOption = "",
) -> None:
    """Render a transfer as ISO 20022 (pacs.008 is validated against the official XSD)."""
    request = api.ExportIso20022Request(
        transfer_id=transfer_id,
        message_type=ISO_KINDS.get(message, settlement_pb2.ISO20022_MESSAGE_TYPE_UNSPECIFIED),
    )
    with connected(address) as service:
        rendered = service.call("ExportIso20022", request)
    if out is None:
        sys.stdout.write(rendered.document.decode())
    else:
        out.write_bytes(rendered.document)
        show.console.print(f"{rendered.message_definition} {rendered.message_id} → {out}")


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("valid_until must be ISO 8601, e.g. 2027-01-01T00:00:00+08:00") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("valid_until needs a UTC offset, e.g. +08:00")
    return moment


def _is_zero(amount: str) -> bool:
    try:
        return Decimal(amount) == 0
    except InvalidOperation:
        return False
