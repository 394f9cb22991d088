"""The working-day calendar: official holidays and make-up working days (调休).

Seeded from the package `chinesecalendar` (which only knows the years it was released
for); the State Council's notice for a later year can be imported. A date in a year the
calendar does not know falls back to Monday–Friday and says so (`warnings`), never
crashes: a deadline that late is still better than none, and the UI shows the warning.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterable

log = logging.getLogger(__name__)

HOLIDAY = "holiday"
WORKDAY = "workday"  # a weekend day worked to make up for a holiday (调休上班)


@dataclass(frozen=True)
class SpecialDay:
    day: date
    kind: str  # HOLIDAY or WORKDAY
    name: str


@dataclass
class WorkingCalendar:
    """Which days are working days. Immutable in use; build a new one after an import."""

    special: dict[date, SpecialDay] = field(default_factory=dict)
    known_years: frozenset[int] = frozenset()
    warnings: set[int] = field(default_factory=set)  # unknown years that were asked about

    @classmethod
    def from_days(cls, days: Iterable[SpecialDay], known_years: Iterable[int]) -> "WorkingCalendar":
        return cls({d.day: d for d in days}, frozenset(known_years))

    @classmethod
    def from_package(cls) -> "WorkingCalendar":
        """The official schedule as the installed `chinesecalendar` knows it."""
        return cls.from_days(package_days(), package_years())

    def knows(self, day: date) -> bool:
        return day.year in self.known_years

    def is_workday(self, day: date) -> bool:
        special = self.special.get(day)
        if special is not None:
            return special.kind == WORKDAY
        if not self.knows(day) and day.year not in self.warnings:
            self.warnings.add(day.year)
            log.warning("working-day calendar has no official schedule for %s; "
                        "counting Monday–Friday as working days", day.year)
        return day.weekday() < 5

    def add_workdays(self, start: date, count: int) -> date:
        """The `count`-th working day after `start` (start itself does not count, as a
        statutory period runs from the day after acceptance). count 0 → start."""
        day = start
        remaining = count
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (negative if end < start)."""
        if end < start:
            return -self.workdays_between(end, start)
        return sum(1 for n in range(1, (end - start).days + 1)
                   if self.is_workday(start + timedelta(days=n)))

    def unknown_years_between(self, start: date, end: date) -> list[int]:
        return [y for y in range(min(start, end).year, max(start, end).year + 1)
                if y not in self.known_years]


def package_years() -> frozenset[int]:
    import chinese_calendar

    return frozenset(d.year for d in chinese_calendar.holidays)


def package_days() -> list[SpecialDay]:
    """Only the days that differ from Monday–Friday: weekday holidays, weekend workdays."""
    import chinese_calendar

    holidays = [SpecialDay(d, HOLIDAY, name) for d, name in chinese_calendar.holidays.items()
                if d.weekday() < 5]
    workdays = [SpecialDay(d, WORKDAY, name) for d, name in chinese_calendar.workdays.items()
                if d.weekday() >= 5]
    return sorted(holidays + workdays, key=lambda d: d.day)
