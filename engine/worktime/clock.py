"""The one clock every deadline and timestamp reads. Tests freeze and move it.

Times are always aware; naive datetimes are refused so that no deadline is silently
computed in the server's local zone instead of Asia/Shanghai.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


def require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime refused: give a time zone (Asia/Shanghai)")
    return moment


class SystemClock:
    """Wall-clock time in Asia/Shanghai."""

    def now(self) -> datetime:
        return datetime.now(SHANGHAI)


class TravellingClock:
    """Wall-clock time that can be sent back to a moment and brought home again, so
    `onething demo` can seed cases accepted days ago (预警, 逾期) through the same commands
    a clerk uses. Once `home()` is called it is the wall clock again."""

    def __init__(self):
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(SHANGHAI) + self._offset

    def set(self, at: datetime) -> None:
        self._offset = require_aware(at) - datetime.now(SHANGHAI)

    def home(self) -> None:
        self._offset = timedelta(0)


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, at: datetime):
        self._at = require_aware(at).astimezone(SHANGHAI)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = require_aware(at).astimezone(SHANGHAI)

    def advance(self, **delta: float) -> datetime:
        self._at += timedelta(**delta)
        return self._at
