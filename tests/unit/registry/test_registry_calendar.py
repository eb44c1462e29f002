"""Working-day deadlines: weekends, mainland public holidays and adjusted working weekends."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from baylink import errors
from services.registry.adapters.calendar_file import CalendarError, load_calendar
from services.registry.domain.calendar import CHINA_TIME


@pytest.fixture(scope="module")
def calendar():  # type: ignore[no-untyped-def]
    return load_calendar()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 7), False),  # National Day bridge
        (date(2026, 10, 10), True),  # Saturday worked for it
        (date(2026, 9, 20), True),  # Sunday worked for it
        (date(2026, 2, 14), True),  # Saturday before Spring Festival
        (date(2026, 2, 23), False),  # last day of Spring Festival
        (date(2026, 6, 19), False),  # Dragon Boat
        (date(2026, 11, 28), False),  # an ordinary Saturday
        (date(2026, 11, 27), True),  # an ordinary Friday
        (date(2027, 2, 8), False),  # Spring Festival 2027 (provisional year)
    ],
)
def test_a_day_is_a_working_day_as_the_official_calendar_says(calendar, day: date, working: bool) -> None:  # type: ignore[no-untyped-def]
    assert calendar.is_working_day(day) is working


def test_a_deadline_skips_the_national_day_holidays_and_counts_the_worked_saturday(calendar) -> None:  # type: ignore[no-untyped-def]
    submitted = datetime(2026, 9, 30, 3, 0, tzinfo=UTC)  # Wednesday 11:00 in Foshan
    deadline = calendar.deadline(submitted, 3)
    assert deadline.astimezone(CHINA_TIME).date() == date(2026, 10, 10)  # Thu 8, Fri 9, Sat 10
    assert deadline.astimezone(CHINA_TIME).hour == 23 and deadline.tzinfo is not None


def test_a_submission_late_at_night_utc_counts_from_the_china_date(calendar) -> None:  # type: ignore[no-untyped-def]
    friday_night_utc_is_saturday_in_china = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    deadline = calendar.deadline(friday_night_utc_is_saturday_in_china, 1)
    assert deadline.astimezone(CHINA_TIME).date() == date(2026, 11, 30)  # the Monday


def test_a_year_the_calendar_does_not_cover_is_unavailable_not_guessed(calendar) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(errors.Unavailable):
        calendar.is_working_day(date(2031, 1, 2))


def test_a_working_weekend_that_is_a_weekday_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.toml"
    path.write_text("[[year]]\nyear = 2026\nprovisional = false\nholidays = []\nworking_weekends = [2026-11-27]\n")
    with pytest.raises(CalendarError, match="weekday"):
        load_calendar(path)
