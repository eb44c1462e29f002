"""Rates and quotes: the admin-set rate table and the arithmetic of a quote.

A rate names a currency pair, a mid rate, a validity period, the scheme's
spread and its fee. A quote fixes one side (send or receive) and computes the
other by the rules in ``money.py``:

- customer rate = mid × (1 − spread_bps/10 000), truncated to 8 decimal places;
- SEND:    principal = (send − fee_fixed) / (1 + fee_bps/10 000), rounded down;
           fee = send − principal; receive = principal × rate, rounded down;
- RECEIVE: principal = receive / rate, rounded up; fee = fee_fixed + principal ×
           fee_bps/10 000, rounded half-up; send = principal + fee.

Either way principal × rate ≥ receive, so the FX conversion account never pays
out more than it took in; the rounding residual stays with the scheme.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from baylink.errors import FailedPrecondition, InvalidInput, PreconditionViolation
from services.payments.domain.money import (
    FEE_ROUNDING,
    RECEIVE_ROUNDING,
    SEND_ROUNDING,
    Money,
    exponent,
    to_minor,
)

RATE_PLACES = Decimal("0.00000001")
BPS = Decimal(10_000)


class AmountType(enum.Enum):
    SEND = "SEND"
    RECEIVE = "RECEIVE"


@dataclass(frozen=True)
class Rate:
    source_currency: str
    target_currency: str
    mid: Decimal
    valid_from: datetime
    valid_until: datetime | None = None
    spread_bps: int = 0
    fee_fixed_minor: int = 0
    fee_bps: int = 0

    @property
    def pair(self) -> str:
        return f"{self.source_currency}>{self.target_currency}"

    @property
    def customer_rate(self) -> Decimal:
        return (self.mid * (1 - Decimal(self.spread_bps) / BPS)).quantize(RATE_PLACES, rounding=ROUND_DOWN)

    def valid_at(self, when: datetime) -> bool:
        return self.valid_from <= when and (self.valid_until is None or when < self.valid_until)


def validate_rate(rate: Rate) -> None:
    """Refuse a rate an operator could not have meant."""
    exponent(rate.source_currency, "rate.source_currency")
    exponent(rate.target_currency, "rate.target_currency")
    if not rate.mid.is_finite() or rate.mid <= 0:
        raise InvalidInput.field("rate.rate", "must be a positive decimal")
    if rate.source_currency == rate.target_currency and rate.mid != 1:
        raise InvalidInput.field("rate.rate", "a same-currency rate must be 1")
    if not 0 <= rate.spread_bps < 10_000:
        raise InvalidInput.field("rate.spread_bps", "must be 0..9999")
    if not 0 <= rate.fee_bps < 10_000:
        raise InvalidInput.field("rate.fee_bps", "must be 0..9999")
    if rate.fee_fixed_minor < 0:
        raise InvalidInput.field("rate.fee_fixed", "must not be negative")
    if rate.valid_until is not None and rate.valid_until <= rate.valid_from:
        raise InvalidInput.field("rate.valid_until", "must be after valid_from")
    if rate.customer_rate <= 0:
        raise InvalidInput.field("rate.spread_bps", "leaves no rate")


@dataclass(frozen=True)
class Price:
    """What a quote fixes: amounts, fee and the customer rate."""

    send: Money
    receive: Money
    fee: Money
    principal: Money
    customer_rate: Decimal


def price(rate: Rate, amount_type: AmountType, amount: Money) -> Price:
    """Price a payment at ``rate``; refuses amounts that leave nothing to deliver."""
    src, dst = rate.source_currency, rate.target_currency
    customer = rate.customer_rate
    fixed = Decimal(rate.fee_fixed_minor).scaleb(-exponent(src))
    share = Decimal(rate.fee_bps) / BPS
    if amount_type is AmountType.SEND:
        if amount.currency != src:
            raise InvalidInput.field("amount.currency", f"a SEND amount is in the payer's currency {src}")
        principal_minor = to_minor(src, (amount.amount - fixed) / (1 + share), RECEIVE_ROUNDING)
        principal = Money(src, principal_minor)
        fee = Money(src, amount.minor - principal_minor)
        receive = Money(dst, to_minor(dst, principal.amount * customer, RECEIVE_ROUNDING))
        send = amount
    else:
        if amount.currency != dst:
            raise InvalidInput.field("amount.currency", f"a RECEIVE amount is in the payee's currency {dst}")
        principal = Money(src, to_minor(src, amount.amount / customer, SEND_ROUNDING))
        fee = Money(src, to_minor(src, fixed + principal.amount * share, FEE_ROUNDING))
        send = principal.plus(fee)
        receive = amount
    if principal.minor <= 0 or receive.minor <= 0:
        raise FailedPrecondition(
            f"{amount} does not cover the fee of {fee}",
            [PreconditionViolation("AMOUNT", "amount", "amount does not exceed the fee")],
            reason="AMOUNT_BELOW_FEE",
        )
    return Price(send=send, receive=receive, fee=fee, principal=principal, customer_rate=customer)


@dataclass(frozen=True)
class Quote:
    quote_id: str
    request_hash: str
    payer_id: str
    payee_id: str
    amount_type: AmountType
    send: Money
    receive: Money
    fee: Money
    mid_rate: Decimal
    customer_rate: Decimal
    rate_valid_from: datetime
    created_at: datetime
    expires_at: datetime
    transfer_id: str | None = None

    @property
    def principal(self) -> Money:
        return self.send.minus(self.fee)

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at
