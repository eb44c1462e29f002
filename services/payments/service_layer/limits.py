"""Why a payer's corridor usage refused a transfer: which limit, and what is left."""

from __future__ import annotations

from typing import Any

from baylink.errors import ResourceExhausted
from services.payments.domain.limits import CorridorLimit, UsagePeriods
from services.payments.domain.money import Money


def limit_refusal(
    row: Any, usage: UsagePeriods, limit: CorridorLimit, amount: Money, corridor: str
) -> ResourceExhausted:
    day = row.day_minor if row is not None and row.day_key == usage.day else 0
    day_count = row.day_count if row is not None and row.day_key == usage.day else 0
    year = row.year_minor if row is not None and row.year_key == usage.year else 0
    currency = amount.currency
    if day + amount.minor > limit.daily_minor:
        reason, left = "PAYER_DAILY_LIMIT_EXCEEDED", Money(currency, max(0, limit.daily_minor - day))
        text = f"{amount} exceeds the payer's daily {corridor} limit; {left} left today"
    elif year + amount.minor > limit.yearly_minor:
        reason, left = "PAYER_YEARLY_LIMIT_EXCEEDED", Money(currency, max(0, limit.yearly_minor - year))
        text = f"{amount} exceeds the payer's yearly {corridor} limit; {left} left this year"
    elif day_count + 1 > limit.max_per_day:
        reason, left = "VELOCITY_LIMIT_EXCEEDED", Money(currency, 0)
        text = f"the payer reached {limit.max_per_day} {corridor} transfers today"
    else:
        reason, left = "VELOCITY_LIMIT_EXCEEDED", Money(currency, 0)
        text = f"the payer reached {limit.max_per_bucket} {corridor} transfers in {limit.bucket_seconds} s"
    error = ResourceExhausted(text, subject=f"payer:{corridor}", reason=reason)
    error.metadata.update({"corridor": corridor, "remaining_minor_units": str(left.minor), "currency": currency})
    return error
