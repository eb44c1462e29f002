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
from zoneinfo import ZoneInfo


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


def periods(now: datetime, zone: ZoneInfo, bucket_seconds: int) -> UsagePeriods:
    local = now.astimezone(zone)
    bucket = int(now.timestamp()) // max(1, bucket_seconds)
    return UsagePeriods(day=local.strftime("%Y-%m-%d"), year=local.strftime("%Y"), bucket=str(bucket))


def corridor_of(send_currency: str, receive_currency: str) -> str:
    return f"{send_currency}>{receive_currency}"
