"""The working-day calendar (法定节假日) as the administrator keeps it: which years the
official schedule is known for, the adjusted days, and the import of a year's notice. One
call each, administrator checked inside."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from engine.cases.clocks import parse_schedule
from engine.cases.dto import Actor
from engine.errors import NotAllowed
from engine.runtime import Runtime
from engine.store.models import CalendarDay, CalendarYear


@dataclass(frozen=True)
class KnownYear:
    """A year whose official schedule was imported: from where, by whom, when."""

    year: int
    source: str
    imported_by: str | None
    imported_at: datetime


@dataclass(frozen=True)
class AdjustedDay:
    """A day the schedule changes: a holiday on a weekday, or a working weekend."""

    day: date
    kind: str  # "holiday" or "workday"
    name: str


@dataclass(frozen=True)
class CalendarState:
    """The known years, newest first, and the adjusted days from this year on."""

    years: list[KnownYear]
    days: list[AdjustedDay]


def check_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotAllowed("只有系统管理员可以维护节假日安排")


def calendar_state(rt: Runtime, actor: Actor) -> CalendarState:
    """What the calendar knows today. NotAllowed for anyone but administrators."""
    check_admin(actor)
    first = date(rt.clock.now().year, 1, 1)
    with rt.db.reading() as session:
        years = [KnownYear(y.year, y.source, y.imported_by, y.imported_at)
                 for y in session.scalars(select(CalendarYear)
                                          .order_by(CalendarYear.year.desc()))]
        days = [AdjustedDay(d.day, d.kind, d.name)
                for d in session.scalars(select(CalendarDay).where(CalendarDay.day >= first)
                                         .order_by(CalendarDay.day))]
    return CalendarState(years, days)


def import_schedule(rt: Runtime, actor: Actor, text: str) -> tuple[int, int]:
    """Import one year's schedule (lines like '2027-01-01 休 元旦'), replacing what was
    known for that year: (year, days imported). ValidationFailed for a malformed text;
    NotAllowed for anyone but administrators."""
    check_admin(actor)
    year, days = parse_schedule(text)
    count = rt.clocks.calendars.import_year(year, days, actor=actor.username,
                                            at=rt.clock.now())
    return year, count
