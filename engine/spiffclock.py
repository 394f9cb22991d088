"""Make SpiffWorkflow's timer events read the engine's clock.

SpiffWorkflow computes and checks timer events with `datetime.now(timezone.utc)` inside
its timer module. Deadlines must follow the one injectable clock (tests freeze and move
it; a replay re-runs a case at its recorded times), so that module's `datetime` is
replaced by a subclass whose `now()` asks the clock of the step being run (a context
variable, so concurrent steps on different clocks never mix). Outside a step it is the
ordinary wall clock.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from datetime import datetime as _datetime
from typing import Iterator

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_module

from .clock import Clock

_current: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("onething_clock",
                                                                         default=None)


class ClockedDatetime(_datetime):
    """`datetime` whose `now()` is the clock of the current step."""

    @classmethod
    def now(cls, tz=None):
        clock = _current.get()
        if clock is None:
            return _datetime.now(tz)
        moment = clock.now()
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)


_timer_module.datetime = ClockedDatetime


@contextmanager
def running_on(clock: Clock) -> Iterator[None]:
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)
