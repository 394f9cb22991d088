"""The sandbox with the hall's time functions bound to the injected clock: the one sandbox
used both to check definitions at deploy and to run them (and to re-execute them in the
audit), so a function that deploy accepts is one that cases can call."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from engine.sandbox.core import Sandbox
from engine.worktime.clock import SHANGHAI, Clock
from engine.worktime.deadlines import Limit, due_at
from engine.worktime.workcalendar import WorkingCalendar


class Calendars(Protocol):
    """Where the working-day calendar in force comes from (engine.cases.clocks.CalendarSource)."""

    def get(self) -> WorkingCalendar: ...


def clock_bound_sandbox(clock: Clock, calendars: Calendars | None = None) -> Sandbox:
    """`now()`, `today()`, and: `workdays_after(n)` is the end of the n-th working day from
    now (for timer events: timeDate expressions); `hours_after(n)` now plus n natural hours;
    `workdays_later(moment, n)` the end of the n-th working day after an ISO time."""
    def calendar() -> WorkingCalendar:
        return calendars.get() if calendars else WorkingCalendar.from_package()

    def workdays_after(count: int) -> str:
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 3650:
            raise ValueError("工作日数须为 0 到 3650 之间的整数")
        return due_at(calendar(), clock.now(), Limit(count)).isoformat()

    def hours_after(count: int) -> str:
        """Now plus `count` natural hours (12345 dispatch and sign-for limits)."""
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 24 * 366:
            raise ValueError("小时数须为 0 到 8784 之间的整数")
        return (clock.now() + timedelta(hours=count)).isoformat()

    def workdays_later(moment: str, count: int) -> str:
        """The end of the `count`-th working day after the ISO time `moment` (an approved
        extension moves a deadline, not today)."""
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 3650:
            raise ValueError("工作日数须为 0 到 3650 之间的整数")
        start = datetime.fromisoformat(str(moment)[:40])
        start = start if start.tzinfo else start.replace(tzinfo=SHANGHAI)
        return due_at(calendar(), start, Limit(count)).isoformat()

    return Sandbox().with_functions(now=lambda: clock.now(), today=lambda: clock.now().date(),
                                    workdays_after=workdays_after, hours_after=hours_after,
                                    workdays_later=workdays_later)
