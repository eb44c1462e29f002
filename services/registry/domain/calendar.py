"""Working days of the mainland: weekends and public holidays, with the adjusted working weekends.

Deadlines count working days from the day after submission, in China Standard Time (UTC+8, no
daylight saving), and fall at the end of the last working day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from baylink import errors

CHINA_TIME = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True)
class WorkingCalendar:
    years: frozenset[int]
    holidays: frozenset[date]  # days off, including statutory days that fall on weekends
    working_weekends: frozenset[date]  # Saturdays or Sundays declared working days (调休上班)

    @classmethod
    def of(cls, years: Iterable[int], holidays: Iterable[date], working_weekends: Iterable[date]) -> WorkingCalendar:
        return cls(frozenset(years), frozenset(holidays), frozenset(working_weekends))

    def is_working_day(self, day: date) -> bool:
        if day.year not in self.years:
            raise errors.Unavailable(
                f"the working-day calendar does not cover {day.year}; add it to services/registry/data/calendar",
                reason="CALENDAR_NOT_COVERED",
            )
        if day in self.working_weekends:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself is not counted)."""
        if days < 1:
            raise ValueError("a time limit is at least one working day")
        day, counted = start, 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def deadline(self, submitted_at: datetime, working_days: int) -> datetime:
        """End of the last working day (China time) of the time limit, as aware UTC."""
        local_day = submitted_at.astimezone(CHINA_TIME).date()
        last = self.add_working_days(local_day, working_days)
        end = datetime.combine(last + timedelta(days=1), time(0, 0), CHINA_TIME) - timedelta(microseconds=1)
        return end.astimezone(UTC)
