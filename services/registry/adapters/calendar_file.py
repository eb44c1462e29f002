"""Load the working-day calendar (``data/calendar/mainland.toml``)."""

from __future__ import annotations

import logging
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.registry.domain.calendar import WorkingCalendar

CALENDAR_FILE = Path(__file__).resolve().parents[1] / "data" / "calendar" / "mainland.toml"
log = logging.getLogger("baylink.registry.calendar")


class CalendarError(ValueError):
    """The calendar file does not validate."""


class YearEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    year: Annotated[int, Field(ge=2000, le=2100)]
    provisional: bool
    holidays: list[date]
    working_weekends: list[date]

    @model_validator(mode="after")
    def _consistent(self) -> YearEntry:
        for day in (*self.holidays, *self.working_weekends):
            if day.year != self.year:
                raise ValueError(f"{day} is not in {self.year}")
        for day in self.working_weekends:
            if day.weekday() < 5:
                raise ValueError(f"working weekend {day} is a weekday")
            if day in self.holidays:
                raise ValueError(f"{day} is both a holiday and a working day")
        return self


class CalendarFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    year: Annotated[list[YearEntry], Field(min_length=1)]


def load_calendar(path: Path = CALENDAR_FILE) -> WorkingCalendar:
    try:
        data = CalendarFile.model_validate(tomllib.loads(path.read_text("utf-8")))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise CalendarError(f"{path.name}: {exc}") from exc
    years = [y.year for y in data.year]
    if len(years) != len(set(years)):
        raise CalendarError(f"{path.name}: a year is listed twice")
    for entry in data.year:
        if entry.provisional:
            log.info("working-day calendar for %s is provisional (official notice not yet in the file)", entry.year)
    return WorkingCalendar.of(
        years,
        (d for y in data.year for d in y.holidays),
        (d for y in data.year for d in y.working_weekends),
    )
