"""Make SpiffWorkflow read the engine's clock, never the wall clock.

SpiffWorkflow reads the time in two places: its timer module computes and checks timer
events with `datetime.now(timezone.utc)`, and every task stamps `last_state_change` with
`time.time()`. Deadlines must follow the one injectable clock (tests freeze and move it; a
replay re-runs a case at its recorded times; a migration must not fire a timer because the
server's date moved on), so both module globals are replaced by stand-ins that ask the clock
of the engine call being run (a context variable, so concurrent steps on different clocks
never mix).

Every engine path that drives SpiffWorkflow (a step, a migration, a replay) runs inside
`running_on(clock)`. A read outside one is a bug: in strict mode (the test suite) it raises,
otherwise it falls back to the system clock object so that production keeps working.
"""
from __future__ import annotations

import contextvars
import time as _time_module
from contextlib import contextmanager
from datetime import datetime as _datetime
from typing import Iterator

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_module
import SpiffWorkflow.task as _task_module

from engine.worktime.clock import Clock, SystemClock

_current: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("onething_clock",
                                                                         default=None)
_fallback: Clock = SystemClock()
_strict = False


class UnclockedRead(RuntimeError):
    """SpiffWorkflow asked for the time outside `running_on(clock)`."""


def strict(on: bool = True) -> None:
    """Refuse reads outside `running_on` (tests turn this on to find such paths)."""
    global _strict
    _strict = on


def current_clock() -> Clock:
    clock = _current.get()
    if clock is not None:
        return clock
    if _strict:
        raise UnclockedRead("SpiffWorkflow read the time outside running_on(clock)")
    return _fallback


class ClockedDatetime(_datetime):
    """`datetime` whose `now()` is the clock of the current engine call."""

    @classmethod
    def now(cls, tz=None):
        moment = current_clock().now()
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)


class _ClockedTime:
    """Stands in for the `time` module inside SpiffWorkflow.task (only `time()` is used)."""

    def __getattr__(self, name):
        return getattr(_time_module, name)

    @staticmethod
    def time() -> float:
        return current_clock().now().timestamp()


_timer_module.datetime = ClockedDatetime
_task_module.time = _ClockedTime()


@contextmanager
def running_on(clock: Clock) -> Iterator[None]:
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)
