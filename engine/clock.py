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
