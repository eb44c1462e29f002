"""Protobuf ⇄ domain, at the edge. Amount validation happens here, once, for every entry point."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from baylink.common.v1 import common_pb2
from baylink.errors import InvalidInput
from baylink.payments.v1 import participant_pb2, settlement_pb2, transfer_pb2
from baylink.runtime.timestamps import set_timestamp as set_ts
from baylink.runtime.timestamps import to_timestamp as ts
from services.payments.domain.money import Money, money, parse_decimal
from services.payments.domain.participants import Participant, Position
from services.payments.domain.pricing import Quote, Rate
from services.payments.domain.settlement import SettlementReport, SettlementWindow
from services.payments.domain.transfer import Transfer, TransferState

_JURISDICTION = {"HK": common_pb2.JURISDICTION_HK, "MO": common_pb2.JURISDICTION_MO, "GD": common_pb2.JURISDICTION_GD}
_KIND = {"PSP": participant_pb2.PARTICIPANT_KIND_PSP, "FEE_COLLECTOR": participant_pb2.PARTICIPANT_KIND_FEE_COLLECTOR}


def from_ts(stamp: Timestamp, present: bool, field: str = "timestamp") -> datetime | None:
    """The moment, if given; InvalidInput naming the field for one no calendar holds (e.g. year 141338)."""
    if not present:
        return None
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidInput.field(field, "a timestamp between the years 1 and 9999") from None


def money_pb(m: Money) -> common_pb2.Money:
    return common_pb2.Money(currency=m.currency, minor_units=m.minor)


def amount_from(
    field: str,
    pb_money: common_pb2.Money,
    has_money: bool,
    decimal: transfer_pb2.DecimalAmount,
    has_decimal: bool,
) -> Money:
    """One amount from either form; both given must agree, neither given is refused."""
    parsed = None
    if has_decimal:
        parsed = parse_decimal(decimal.currency, decimal.value, f"{field}_decimal")
    if has_money:
        from_minor = money(pb_money.currency, pb_money.minor_units, field)
        if parsed is not None and parsed != from_minor:
            raise InvalidInput.field(f"{field}_decimal", f"disagrees with {field}")
        parsed = from_minor
    if parsed is None:
        raise InvalidInput.field(field, "required")
    return parsed


def jurisdiction_name(value: int) -> str:
    for name, number in _JURISDICTION.items():
        if number == value:
            return name
    raise InvalidInput.field("jurisdiction", "HK, MO or GD")


def kind_name(value: int) -> str:
    for name, number in _KIND.items():
        if number == value:
            return name
    return "PSP"


def participant_pb(p: Participant) -> participant_pb2.Participant:
    return participant_pb2.Participant(
        participant_id=p.participant_id,
        name=common_pb2.LocalizedText(zh_hant=p.name_zh_hant, zh_hans=p.name_zh_hans, en=p.name_en, pt=p.name_pt),
        currencies=list(p.currencies),
        active=p.active,
        created_at=ts(p.created_at),
        jurisdiction=_JURISDICTION[p.jurisdiction.value],
        bic=p.bic,
        kind=_KIND[p.kind.value],
    )


def position_pb(p: Position, as_of: datetime) -> participant_pb2.Position:
    return participant_pb2.Position(
        participant_id=p.participant_id,
        currency=p.currency,
        position=money_pb(p.position),
        reserved=money_pb(p.reserved),
        net_debit_cap=money_pb(p.net_debit_cap),
        available=money_pb(p.available),
        as_of=ts(as_of),
    )


def rate_pb(r: Rate) -> transfer_pb2.Rate:
    return transfer_pb2.Rate(
        source_currency=r.source_currency,
        target_currency=r.target_currency,
        rate=str(r.mid),
        valid_from=ts(r.valid_from),
        valid_until=ts(r.valid_until),
        spread_bps=r.spread_bps,
        fee_fixed=money_pb(Money(r.source_currency, r.fee_fixed_minor)),
        fee_bps=r.fee_bps,
    )


def quote_pb(q: Quote) -> transfer_pb2.Quote:
    return transfer_pb2.Quote(
        quote_id=q.quote_id,
        payer_participant_id=q.payer_id,
        payee_participant_id=q.payee_id,
        send_amount=money_pb(q.send),
        receive_amount=money_pb(q.receive),
        fee=money_pb(q.fee),
        rate=transfer_pb2.Rate(
            source_currency=q.send.currency,
            target_currency=q.receive.currency,
            rate=str(q.mid_rate),
            valid_from=ts(q.rate_valid_from),
        ),
        created_at=ts(q.created_at),
        expires_at=ts(q.expires_at),
        customer_rate=str(q.customer_rate),
        amount_type=transfer_pb2.AmountType.Value(f"AMOUNT_TYPE_{q.amount_type.value}"),
    )


def transfer_parties(t: Transfer) -> dict[str, object]:
    """The fields every transfer message shares (the API's Transfer and the transfer events)."""
    return {
        "transfer_id": t.transfer_id,
        "payer_participant_id": t.payer_id,
        "payee_participant_id": t.payee_id,
        "send_amount": money_pb(t.send),
        "reference": t.reference,
    }


_TRANSFER_STATES = {state: transfer_pb2.TransferState.Value(f"TRANSFER_STATE_{state.value}") for state in TransferState}


def transfer_pb(t: Transfer) -> transfer_pb2.Transfer:
    return fill_transfer(transfer_pb2.Transfer(), t)


def fill_transfer(target: transfer_pb2.Transfer, t: Transfer) -> transfer_pb2.Transfer:
    """Write the transfer into an empty message in place (a bulk answer fills hundreds: no copies)."""
    target.transfer_id = t.transfer_id
    target.payer_participant_id = t.payer_id
    target.payee_participant_id = t.payee_id
    target.send_amount.currency, target.send_amount.minor_units = t.send.currency, t.send.minor
    target.reference = t.reference
    target.quote_id = t.quote_id
    target.receive_amount.currency, target.receive_amount.minor_units = t.receive.currency, t.receive.minor
    target.state = _TRANSFER_STATES[t.state]
    set_ts(target.created_at, t.created_at)
    if t.reserved_at is not None:
        set_ts(target.reserved_at, t.reserved_at)
    if t.completed_at is not None:
        set_ts(target.completed_at, t.completed_at)
    set_ts(target.expires_at, t.expires_at)
    target.abort_reason = t.abort_reason
    target.settlement_window_id = t.settlement_window_id
    target.payer_pseudonym = t.payer_pseudonym
    target.uetr = t.uetr
    target.fee.currency, target.fee.minor_units = t.fee.currency, t.fee.minor
    target.abort_code = t.abort_code
    target.customer_rate = t.customer_rate
    return target


def window_pb(w: SettlementWindow) -> settlement_pb2.SettlementWindow:
    return settlement_pb2.SettlementWindow(
        settlement_window_id=w.settlement_window_id,
        state=settlement_pb2.SettlementWindowState.Value(f"SETTLEMENT_WINDOW_STATE_{w.state.value}"),
        opened_at=ts(w.opened_at),
        closed_at=ts(w.closed_at),
        reason=w.reason,
        settled_at=ts(w.settled_at),
    )


def report_pb(r: SettlementReport) -> settlement_pb2.SettlementReport:
    return settlement_pb2.SettlementReport(
        window=window_pb(r.window),
        positions=[
            settlement_pb2.NetSettlementPosition(
                participant_id=p.participant_id, net_amount=money_pb(p.net), transfer_count=p.transfer_count
            )
            for p in r.positions
        ],
        transfer_count=r.transfer_count,
    )
