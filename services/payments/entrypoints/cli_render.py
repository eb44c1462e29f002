"""What `baylink payments` prints, from the service's answers: the same lines and tables as always."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console
from rich.table import Table

from baylink.common.v1 import common_pb2
from baylink.payments.v1 import participant_pb2, settlement_pb2, transfer_pb2
from services.payments.domain.money import Money
from services.payments.domain.pricing import Rate

console = Console()


def money(pb: common_pb2.Money) -> str:
    return str(Money(pb.currency, pb.minor_units))


def _moment(stamp: Timestamp, present: bool) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if present else None


def participants(found: list[participant_pb2.Participant]) -> None:
    table = Table("participant", "jurisdiction", "kind", "currencies", "active", "name")
    for p in found:
        jurisdiction = common_pb2.Jurisdiction.Name(p.jurisdiction).removeprefix("JURISDICTION_")
        kind = participant_pb2.ParticipantKind.Name(p.kind).removeprefix("PARTICIPANT_KIND_")
        table.add_row(p.participant_id, jurisdiction, kind, ",".join(p.currencies), str(p.active), p.name.en)
    console.print(table)


def positions(found: list[participant_pb2.Position]) -> None:
    table = Table("currency", "position", "reserved", "net debit cap", "available")
    for p in found:
        table.add_row(p.currency, money(p.position), money(p.reserved), money(p.net_debit_cap), money(p.available))
    console.print(table)


def rate_line(r: transfer_pb2.Rate) -> str:
    """The pair, mid and customer rate, the customer rate worked out as the service prices with it."""
    rate = Rate(
        r.source_currency,
        r.target_currency,
        Decimal(r.rate),
        _moment(r.valid_from, r.HasField("valid_from")) or datetime.now(UTC),
        _moment(r.valid_until, r.HasField("valid_until")),
        r.spread_bps,
        r.fee_fixed.minor_units,
        r.fee_bps,
    )
    return f"{rate.pair}: mid {rate.mid}, customer {rate.customer_rate}"


def window_state(value: settlement_pb2.SettlementWindowState.ValueType) -> str:
    return settlement_pb2.SettlementWindowState.Name(value).removeprefix("SETTLEMENT_WINDOW_STATE_")


def windows(found: list[settlement_pb2.SettlementWindow]) -> None:
    table = Table("window", "state", "opened", "closed", "settled")
    for w in found:
        table.add_row(
            w.settlement_window_id,
            window_state(w.state),
            str(_moment(w.opened_at, w.HasField("opened_at"))),
            str(_moment(w.closed_at, w.HasField("closed_at"))),
            str(_moment(w.settled_at, w.HasField("settled_at"))),
        )
    console.print(table)


def report(r: settlement_pb2.SettlementReport) -> None:
    w = r.window
    console.print(f"window {w.settlement_window_id}: {window_state(w.state)}, {r.transfer_count} transfers")
    table = Table("participant", "net (+ pays in, − receives)", "transfers")
    for p in r.positions:
        table.add_row(p.participant_id, money(p.net_amount), str(p.transfer_count))
    console.print(table)
