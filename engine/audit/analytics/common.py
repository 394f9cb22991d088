"""What the analytics modules share: the period a figure covers, net working time,
and small helpers."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from engine.cases import canonical
from engine.worktime.clock import SHANGHAI
from engine.worktime.deadlines import office_hours_between
from engine.store.models import CaseRecord, ProcessDefinition
from engine.worktime.workcalendar import WorkingCalendar

@dataclass(frozen=True)
class Period:
    """Which cases count: accepted (clock started; for elements: task arrived) between two
    Beijing dates inclusive, and/or run on one version of the case's process."""

    start: date | None = None
    end: date | None = None
    version: int | None = None

    @property
    def label(self) -> str:
        parts = []
        if self.start or self.end:
            parts.append(f"{self.start or '…'} ~ {self.end or '…'}")
        if self.version is not None:
            parts.append(f"v{self.version}")
        return " · ".join(parts)  # "" = every case

    def lower(self) -> datetime | None:
        return datetime.combine(self.start, time(0), SHANGHAI) if self.start else None

    def upper(self) -> datetime | None:
        return (datetime.combine(self.end + timedelta(days=1), time(0), SHANGHAI)
                if self.end else None)


def working_hours(calendar: WorkingCalendar, start: datetime, end: datetime) -> float:
    """Office hours on working days between two moments (the deadlines' own count)."""
    return office_hours_between(calendar, start, end)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def versions_of(session: Session, process_key: str) -> list[int]:
    return list(session.scalars(select(ProcessDefinition.version)
                                .where(ProcessDefinition.key == process_key)
                                .order_by(ProcessDefinition.version)))


def filtered(stmt: Select, period: Period, column) -> Select:
    """`stmt` (which must already join CaseRecord) limited to `period`."""
    if period.lower() is not None:
        stmt = stmt.where(column >= period.lower())
    if period.upper() is not None:
        stmt = stmt.where(column < period.upper())
    if period.version is not None:
        stmt = (stmt.join(ProcessDefinition, ProcessDefinition.id == CaseRecord.definition_id)
                .where(ProcessDefinition.version == period.version))
    return stmt


def payload_of(text: str) -> dict[str, Any]:
    try:
        value = canonical.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def chunks(values: list[int], size: int):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
