"""Per-person corridor limits and velocity: the rules, and the periods they count in.

A corridor is a currency pair (``HKD>CNY`` is northbound from Hong Kong). Each
has, per payer pseudonym, a daily and a yearly cap on the amount sent (in the
send currency, fee included) and a velocity rule: at most ``max_count``
transfers per fixed bucket of ``bucket_seconds`` and ``max_per_day`` per day.
Days and years are calendar periods in the business time zone (HK/mainland,
UTC+8), because that is how the schemes state them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from baylink.errors import ResourceExhausted
from services.payments.domain.money import Money


@dataclass(frozen=True)
class CorridorLimit:
    daily_minor: int
    yearly_minor: int
    max_per_day: int
    max_per_bucket: int
    bucket_seconds: int


@dataclass(frozen=True)
class UsagePeriods:
    day: str
    year: str
    bucket: str


@lru_cache(maxsize=64)  # a batch asks for the same moment once per transfer
def periods(now: datetime, zone: ZoneInfo, bucket_seconds: int) -> UsagePeriods:
    local = now.astimezone(zone)
    bucket = int(now.timestamp()) // max(1, bucket_seconds)
    return UsagePeriods(day=local.strftime("%Y-%m-%d"), year=local.strftime("%Y"), bucket=str(bucket))


def corridor_of(send_currency: str, receive_currency: str) -> str:
    return f"{send_currency}>{receive_currency}"


@dataclass(frozen=True)
class Usage:
    """A payer's counters in one corridor, as stored; each counts only in the period its key names."""

    day_key: str
    day_minor: int
    day_count: int
    year_key: str
    year_minor: int
    bucket_key: str
    bucket_count: int

    @classmethod
    def empty(cls, p: UsagePeriods) -> Usage:
        return cls(p.day, 0, 0, p.year, 0, p.bucket, 0)

    def taken(self, p: UsagePeriods, amount: int, limit: CorridorLimit) -> Usage | None:
        """The counters after one more transfer of ``amount``, or None if a limit would be exceeded.

        The rule itself; the conditional UPDATE in the ledger repository (``take_usage``) is only its
        race-safe enforcement in the database.
        """
        day = self.day_minor if self.day_key == p.day else 0
        day_count = self.day_count if self.day_key == p.day else 0
        year = self.year_minor if self.year_key == p.year else 0
        bucket = self.bucket_count if self.bucket_key == p.bucket else 0
        if (
            day + amount > limit.daily_minor
            or year + amount > limit.yearly_minor
            or day_count + 1 > limit.max_per_day
            or bucket + 1 > limit.max_per_bucket
        ):
            return None
        return Usage(p.day, day + amount, day_count + 1, p.year, year + amount, p.bucket, bucket + 1)


def limit_refusal(
    usage: Usage | None, p: UsagePeriods, limit: CorridorLimit, amount: Money, corridor: str
) -> ResourceExhausted:
    """Why ``usage`` (the payer's stored counters, None if it has none) leaves no room for
    ``amount``: which limit, and what is left."""
    day = usage.day_minor if usage is not None and usage.day_key == p.day else 0
    day_count = usage.day_count if usage is not None and usage.day_key == p.day else 0
    year = usage.year_minor if usage is not None and usage.year_key == p.year else 0
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
