"""Amounts, currencies and the stated FX rounding: exact examples and properties."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baylink.errors import FailedPrecondition, InvalidInput
from services.payments.domain.money import Money, money, parse_decimal
from services.payments.domain.pricing import AmountType, Rate, price

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HKD_CNY = Rate("HKD", "CNY", Decimal("0.92"), T0, spread_bps=50, fee_fixed_minor=500)


@pytest.mark.parametrize(
    ("currency", "value", "reason"),
    [
        ("HKD", "0", "AMOUNT_NOT_POSITIVE"),
        ("HKD", "0.00", "AMOUNT_NOT_POSITIVE"),
        ("HKD", "-5.00", "AMOUNT_NOT_POSITIVE"),
        ("HKD", "12.345", "AMOUNT_TOO_PRECISE"),
        ("CNY", "0.001", "AMOUNT_TOO_PRECISE"),
        ("HKD", "1e3", "AMOUNT_MALFORMED"),
        ("HKD", "1,000.00", "AMOUNT_MALFORMED"),
        ("XYZ", "10.00", "UNKNOWN_CURRENCY"),
        ("hkd", "10.00", "UNKNOWN_CURRENCY"),
        ("USD", "10.00", "UNSUPPORTED_CURRENCY"),
    ],
)
def test_bad_decimal_amounts_are_refused_with_a_specific_reason(currency: str, value: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_decimal(currency, value)
    assert caught.value.reason == reason
    assert caught.value.violations


def test_trailing_zeros_beyond_the_exponent_are_not_extra_precision() -> None:
    assert parse_decimal("HKD", "12.5000") == Money("HKD", 1250)
    assert parse_decimal("MOP", "7") == Money("MOP", 700)


def test_zero_and_negative_minor_units_are_refused() -> None:
    for minor in (0, -1):
        with pytest.raises(InvalidInput) as caught:
            money("HKD", minor)
        assert caught.value.reason == "AMOUNT_NOT_POSITIVE"


def test_send_quote_rounds_the_receive_amount_down() -> None:
    p = price(HKD_CNY, AmountType.SEND, Money("HKD", 100_000))  # HK$1,000.00
    assert p.customer_rate == Decimal("0.91540000")  # 0.92 less 50 bps
    assert p.fee == Money("HKD", 500)
    assert p.principal == Money("HKD", 99_500)
    assert p.receive == Money("CNY", 91_082)  # 995.00 × 0.9154 = 910.823 → 910.82


def test_receive_quote_rounds_the_send_amount_up() -> None:
    p = price(HKD_CNY, AmountType.RECEIVE, Money("CNY", 50_000))  # ¥500.00 to arrive
    # 500 / 0.9154 = 546.2093… → 546.21, plus the fixed fee
    assert p.principal == Money("HKD", 54_621)
    assert p.send == Money("HKD", 55_121)
    assert p.receive == Money("CNY", 50_000)


def test_an_amount_that_does_not_cover_the_fee_is_refused() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        price(HKD_CNY, AmountType.SEND, Money("HKD", 500))
    assert caught.value.reason == "AMOUNT_BELOW_FEE"


def test_a_send_amount_in_the_wrong_currency_is_refused() -> None:
    with pytest.raises(InvalidInput):
        price(HKD_CNY, AmountType.SEND, Money("CNY", 10_000))


rates = st.builds(
    lambda mid, spread, fee, bps: Rate("HKD", "CNY", mid, T0, None, spread, fee, bps),
    st.decimals(min_value=Decimal("0.05"), max_value=Decimal("20"), places=6),
    st.integers(0, 300),
    st.integers(0, 2_000),
    st.integers(0, 100),
)


@given(rates, st.integers(3_000, 10**10))
def test_send_pricing_never_pays_out_more_than_was_converted(rate: Rate, minor: int) -> None:
    p = price(rate, AmountType.SEND, Money("HKD", minor))
    assert p.send.minor == p.principal.minor + p.fee.minor
    assert Decimal(p.receive.minor) <= Decimal(p.principal.minor) * p.customer_rate
    # …and by less than one minor unit: rounding down, not worse
    assert Decimal(p.principal.minor) * p.customer_rate - p.receive.minor < 1


@given(rates, st.integers(1, 10**10))
def test_receive_pricing_charges_the_least_principal_that_covers_the_amount(rate: Rate, minor: int) -> None:
    p = price(rate, AmountType.RECEIVE, Money("CNY", minor))
    assert Decimal(p.principal.minor) * p.customer_rate >= minor
    assert Decimal(p.principal.minor - 1) * p.customer_rate < minor
    assert p.send.minor == p.principal.minor + p.fee.minor
