"""Statutory and promised time limits (限时办结): when a clock is due, and whether it is
正常, 预警 or 逾期. Pure functions over a WorkingCalendar; the case clock table and its
events live in engine/clocks.py.

Conventions (行政许可法): a period counts from the day after acceptance; a deadline is
the end of its last day (Beijing time); paused time (补正, 特别程序) does not count, in
the unit of the limit; an extension adds to the limit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterable

from engine.worktime.clock import SHANGHAI, require_aware
from engine.worktime.workcalendar import WorkingCalendar

WORKING_DAY, NATURAL_DAY, WORKING_HOUR = "working_day", "natural_day", "working_hour"
UNITS = {WORKING_DAY: "工作日", NATURAL_DAY: "自然日", WORKING_HOUR: "工作小时"}
UNIT_ALIASES = {"工作日": WORKING_DAY, "自然日": NATURAL_DAY, "小时": WORKING_HOUR,
                "工作小时": WORKING_HOUR, **{k: k for k in UNITS}}

NORMAL, WARNING, OVERDUE = "normal", "warning", "overdue"
STATE_LABELS = {NORMAL: "正常", WARNING: "预警", OVERDUE: "逾期"}
DEFAULT_WARN_DAYS = 2  # local: 预警 when this many working days or fewer are left

# Office hours for limits counted in working hours (local; a day holds 7 hours).
OFFICE_HOURS = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))
HOURS_PER_WORKDAY = sum((datetime.combine(date.min, close) - datetime.combine(date.min, opens))
                        .total_seconds() for opens, close in OFFICE_HOURS) / 3600
END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class Limit:
    amount: int
    unit: str = WORKING_DAY

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"未知的时限单位：{self.unit}")
        if self.amount < 0:
            raise ValueError("时限不能为负数")

    def __str__(self) -> str:
        return f"{self.amount} 个{UNITS[self.unit]}"


@dataclass(frozen=True)
class Pause:
    start: datetime
    end: datetime | None = None  # None: still paused


def _local(moment: datetime) -> datetime:
    return require_aware(moment).astimezone(SHANGHAI)


def _end_of(day: date) -> datetime:
    return datetime.combine(day, END_OF_DAY, SHANGHAI)


def paused_amount(calendar: WorkingCalendar, unit: str, pauses: Iterable[Pause],
                  now: datetime) -> int:
    """How much of the limit's unit the pauses took (an open pause runs until now)."""
    total = 0
    for pause in pauses:
        start, end = _local(pause.start), _local(pause.end or now)
        if end <= start:
            continue
        if unit == WORKING_DAY:
            total += calendar.workdays_between(start.date(), end.date())
        elif unit == NATURAL_DAY:
            total += (end.date() - start.date()).days
        else:
            total += int(office_hours_between(calendar, start, end))
    return total


def due_at(calendar: WorkingCalendar, started: datetime, limit: Limit, *,
           pauses: Iterable[Pause] = (), extension: int = 0, now: datetime | None = None
           ) -> datetime:
    """When the limit runs out, with pauses not counted and any extension added."""
    started = _local(started)
    amount = limit.amount + extension + paused_amount(calendar, limit.unit, pauses,
                                                       now or started)
    if limit.unit == WORKING_DAY:
        return _end_of(calendar.add_workdays(started.date(), amount))
    if limit.unit == NATURAL_DAY:
        return _end_of(started.date() + timedelta(days=amount))
    return _add_office_hours(calendar, started, amount)


def state_of(calendar: WorkingCalendar, due: datetime, now: datetime, *,
             warn_days: int = DEFAULT_WARN_DAYS) -> tuple[str, int]:
    """(正常/预警/逾期 as NORMAL/WARNING/OVERDUE, working days left — negative when late)."""
    due, now = _local(due), _local(now)
    left = calendar.workdays_between(now.date(), due.date())
    if now > due:
        return OVERDUE, min(left, 0)
    return (WARNING if left <= warn_days else NORMAL), left


def _add_office_hours(calendar: WorkingCalendar, start: datetime, hours: int) -> datetime:
    remaining = timedelta(hours=hours)
    day, moment = start.date(), start
    while True:
        if calendar.is_workday(day):
            for opens, closes in OFFICE_HOURS:
                begin = max(moment, datetime.combine(day, opens, SHANGHAI))
                end = datetime.combine(day, closes, SHANGHAI)
                if begin >= end:
                    continue
                if end - begin >= remaining:
                    return begin + remaining
                remaining -= end - begin
        day += timedelta(days=1)
        moment = datetime.combine(day, time(0), SHANGHAI)


def office_hours_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> float:
    """Office hours on working days between two moments (0 when `end` is not after
    `start`): what a limit in hours counts, and what analytics call net working time."""
    if end <= start:
        return 0.0
    start, end = _local(start), _local(end)
    total = timedelta()
    day = start.date()
    while day <= end.date():
        if calendar.is_workday(day):
            for opens, closes in OFFICE_HOURS:
                begin = max(start, datetime.combine(day, opens, SHANGHAI))
                finish = min(end, datetime.combine(day, closes, SHANGHAI))
                if finish > begin:
                    total += finish - begin
        day += timedelta(days=1)
    return total.total_seconds() / 3600
