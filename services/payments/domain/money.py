"""Money: ISO 4217 currencies, amounts as ``Decimal`` or integer minor units, and the rounding rules.

Amounts enter the link either as integer minor units or as decimal strings. A
decimal with more places than the currency's exponent is refused (never rounded
silently); rounding happens only inside pricing, by the rules named here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation

from baylink.errors import FieldViolation, InvalidInput

# ISO 4217 alphabetic codes and their minor-unit exponents. Only what a GBA
# payment link can plausibly meet; a code outside it is "unknown".
ISO_4217_EXPONENTS: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "MOP": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "TWD": 2,
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "JPY": 0,
    "KRW": 0,
    "BHD": 3,
    "KWD": 3,
}
# The currencies the link settles in.
LINK_CURRENCIES = frozenset({"HKD", "MOP", "CNY"})
# Signed 64-bit minor units, as Money.minor_units carries them.
MAX_MINOR_UNITS = 2**63 - 1
_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")

# The rounding rules, stated once:
# - a fee is rounded half-up to the minor unit;
# - what the payee receives is rounded down (the scheme never pays out more than it converted);
# - what the payer must send to make a fixed receive amount is rounded up.
FEE_ROUNDING = ROUND_HALF_UP
RECEIVE_ROUNDING = ROUND_DOWN
SEND_ROUNDING = ROUND_UP


def exponent(currency: str, field: str = "currency") -> int:
    """The ISO 4217 exponent of a link currency; refuses unknown or unsupported codes."""
    if currency not in ISO_4217_EXPONENTS:
        raise InvalidInput(
            f"{field}: {currency!r} is not an ISO 4217 currency code",
            [_violation(field, "unknown ISO 4217 currency code")],
            reason="UNKNOWN_CURRENCY",
        )
    if currency not in LINK_CURRENCIES:
        raise InvalidInput(
            f"{field}: {currency} is not settled on the link (HKD, MOP, CNY)",
            [_violation(field, "currency not supported on the link")],
            reason="UNSUPPORTED_CURRENCY",
        )
    return ISO_4217_EXPONENTS[currency]


@dataclass(frozen=True, order=True)
class Money:
    """An amount in integer minor units of an ISO 4217 currency."""

    currency: str
    minor: int

    @property
    def amount(self) -> Decimal:
        return Decimal(self.minor).scaleb(-ISO_4217_EXPONENTS[self.currency])

    def __str__(self) -> str:
        places = ISO_4217_EXPONENTS[self.currency]
        return f"{self.amount:.{places}f} {self.currency}"

    def plus(self, other: Money) -> Money:
        _same(self, other)
        return Money(self.currency, self.minor + other.minor)

    def minus(self, other: Money) -> Money:
        _same(self, other)
        return Money(self.currency, self.minor - other.minor)


def money(currency: str, minor: int, field: str = "amount", *, positive: bool = True) -> Money:
    """A validated amount from minor units: known link currency, within int64, positive unless told."""
    exponent(currency, f"{field}.currency")
    if positive and minor <= 0:
        raise InvalidInput(
            f"{field}: must be greater than zero",
            [_violation(f"{field}.minor_units", "must be greater than zero")],
            reason="AMOUNT_NOT_POSITIVE",
        )
    if abs(minor) > MAX_MINOR_UNITS:
        raise InvalidInput.field(f"{field}.minor_units", "out of range")
    return Money(currency, minor)


def parse_decimal(currency: str, value: str, field: str = "amount") -> Money:
    """A positive decimal string in major units → Money; over-precise values are refused."""
    places = exponent(currency, f"{field}.currency")
    text = value.strip()
    if not _DECIMAL.match(text):
        if text.startswith("-"):
            raise InvalidInput(
                f"{field}: must be greater than zero",
                [_violation(f"{field}.value", "must be greater than zero")],
                reason="AMOUNT_NOT_POSITIVE",
            )
        raise InvalidInput(
            f"{field}: {value!r} is not a plain decimal number",
            [_violation(f"{field}.value", "expected digits with an optional decimal point")],
            reason="AMOUNT_MALFORMED",
        )
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        raise InvalidInput.field(f"{field}.value", "not a decimal") from None
    decimals = len(text.split(".")[1]) if "." in text else 0
    if decimals > places and amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise InvalidInput(
            f"{field}: {currency} has {places} decimal places; {value!r} is more precise",
            [_violation(f"{field}.value", f"more than {places} decimal places for {currency}")],
            reason="AMOUNT_TOO_PRECISE",
        )
    return money(currency, int(amount.scaleb(places)), field)


def to_minor(currency: str, amount: Decimal, rounding: str) -> int:
    """Round a Decimal in major units to the currency's minor unit by the given rule."""
    places = ISO_4217_EXPONENTS[currency]
    return int(amount.quantize(Decimal(1).scaleb(-places), rounding=rounding).scaleb(places))


def _same(a: Money, b: Money) -> None:
    if a.currency != b.currency:
        raise ValueError(f"currency mismatch: {a.currency} vs {b.currency}")


def _violation(field: str, description: str) -> FieldViolation:
    return FieldViolation(field, description)
