"""Database rows ⇄ domain objects."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.payments.domain.money import Money
from services.payments.domain.participants import Jurisdiction, Participant, ParticipantKind
from services.payments.domain.pricing import AmountType, Quote, Rate
from services.payments.domain.settlement import SettlementWindow, WindowState
from services.payments.domain.transfer import Refusal, Transfer, TransferState


def transfer_values(t: Transfer) -> dict[str, Any]:
    return {
        "transfer_id": t.transfer_id,
        "request_hash": t.request_hash,
        "quote_id": t.quote_id,
        "payer_id": t.payer_id,
        "payee_id": t.payee_id,
        "send_currency": t.send.currency,
        "send_minor": t.send.minor,
        "receive_currency": t.receive.currency,
        "receive_minor": t.receive.minor,
        "fee_minor": t.fee.minor,
        "customer_rate": t.customer_rate,
        "reference": t.reference,
        "payer_pseudonym": t.payer_pseudonym,
        "payer_name": t.payer_name,
        "payee_name": t.payee_name,
        "state": t.state.value,
        "uetr": t.uetr,
        "created_at": t.created_at,
        "reserved_at": t.reserved_at,
        "completed_at": t.completed_at,
        "expires_at": t.expires_at,
        "corridor": t.corridor,
        "usage_day": t.usage_day,
        "usage_year": t.usage_year,
        "abort_code": t.abort_code,
        "abort_reason": t.abort_reason,
        "refusal": t.refusal.to_json() if t.refusal else None,
        "settlement_window_id": t.settlement_window_id,
    }


def transfer_from(row: Any) -> Transfer:
    return Transfer(
        transfer_id=row.transfer_id,
        request_hash=row.request_hash,
        quote_id=row.quote_id,
        payer_id=row.payer_id,
        payee_id=row.payee_id,
        send=Money(row.send_currency, row.send_minor),
        receive=Money(row.receive_currency, row.receive_minor),
        fee=Money(row.send_currency, row.fee_minor),
        customer_rate=row.customer_rate,
        reference=row.reference,
        payer_pseudonym=row.payer_pseudonym,
        payer_name=row.payer_name,
        payee_name=row.payee_name,
        state=TransferState(row.state),
        uetr=row.uetr,
        created_at=row.created_at,
        reserved_at=row.reserved_at,
        completed_at=row.completed_at,
        expires_at=row.expires_at,
        corridor=row.corridor,
        usage_day=row.usage_day,
        usage_year=row.usage_year,
        abort_code=row.abort_code,
        abort_reason=row.abort_reason,
        refusal=Refusal.from_json(row.refusal) if row.refusal else None,
        settlement_window_id=row.settlement_window_id,
    )


def quote_values(q: Quote) -> dict[str, Any]:
    return {
        "quote_id": q.quote_id,
        "request_hash": q.request_hash,
        "payer_id": q.payer_id,
        "payee_id": q.payee_id,
        "amount_type": q.amount_type.value,
        "send_currency": q.send.currency,
        "send_minor": q.send.minor,
        "receive_currency": q.receive.currency,
        "receive_minor": q.receive.minor,
        "fee_minor": q.fee.minor,
        "mid_rate": str(q.mid_rate),
        "customer_rate": str(q.customer_rate),
        "rate_valid_from": q.rate_valid_from,
        "created_at": q.created_at,
        "expires_at": q.expires_at,
        "transfer_id": q.transfer_id,
    }


def quote_from(row: Any) -> Quote:
    return Quote(
        quote_id=row.quote_id,
        request_hash=row.request_hash,
        payer_id=row.payer_id,
        payee_id=row.payee_id,
        amount_type=AmountType(row.amount_type),
        send=Money(row.send_currency, row.send_minor),
        receive=Money(row.receive_currency, row.receive_minor),
        fee=Money(row.send_currency, row.fee_minor),
        mid_rate=Decimal(row.mid_rate),
        customer_rate=Decimal(row.customer_rate),
        rate_valid_from=row.rate_valid_from,
        created_at=row.created_at,
        expires_at=row.expires_at,
        transfer_id=row.transfer_id,
    )


def rate_from(row: Any) -> Rate:
    return Rate(
        source_currency=row.source_currency,
        target_currency=row.target_currency,
        mid=Decimal(row.mid),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        spread_bps=row.spread_bps,
        fee_fixed_minor=row.fee_fixed_minor,
        fee_bps=row.fee_bps,
    )


def participant_from(row: Any) -> Participant:
    return Participant(
        participant_id=row.participant_id,
        name_en=row.name_en,
        name_zh_hant=row.name_zh_hant,
        name_zh_hans=row.name_zh_hans,
        name_pt=row.name_pt,
        jurisdiction=Jurisdiction(row.jurisdiction),
        kind=ParticipantKind(row.kind),
        bic=row.bic,
        currencies=tuple(c for c in row.currencies.split(",") if c),
        active=bool(row.active),
        created_at=row.created_at,
    )


def window_values(w: SettlementWindow) -> dict[str, Any]:
    return {
        "settlement_window_id": w.settlement_window_id,
        "state": w.state.value,
        "opened_at": w.opened_at,
        "closed_at": w.closed_at,
        "settled_at": w.settled_at,
        "reason": w.reason,
    }


def window_from(row: Any) -> SettlementWindow:
    return SettlementWindow(
        settlement_window_id=row.settlement_window_id,
        state=WindowState(row.state),
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        settled_at=row.settled_at,
        reason=row.reason,
    )
