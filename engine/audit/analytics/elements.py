"""Per BPMN element: how often it was done and how long it took (the heatmap)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import TASK_COMPLETED, TASK_OPEN, CaseRecord, HumanTask
from engine.worktime.workcalendar import WorkingCalendar
from engine.audit.analytics.common import Period, filtered, mean, rounded, working_hours


@dataclass
class ElementStat:
    """One BPMN element of one process: how often it was done and how long it took
    (working hours from the task's arrival to its completion)."""

    element_id: str
    name: str
    completed: int = 0
    open: int = 0
    hours: list[float] = field(default_factory=list, repr=False)

    @property
    def avg_hours(self) -> float | None:
        return mean(self.hours)

    @property
    def max_hours(self) -> float | None:
        return max(self.hours) if self.hours else None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.element_id, "name": self.name, "completed": self.completed,
                "open": self.open, "avg_hours": rounded(self.avg_hours),
                "max_hours": rounded(self.max_hours)}


def element_stats(session: Session, calendar: WorkingCalendar, process_key: str, *,
                  period: Period = Period(), called: dict[str, str] | None = None
                  ) -> dict[str, ElementStat]:
    """element id -> ElementStat for `process_key`, from the human tasks of that process
    whose arrival falls in `period` (version: of the case's own process). `called` maps a
    call activity id of this process to the item process it calls: its duration is the
    span of that item's tasks in each case."""
    stats: dict[str, ElementStat] = {}
    keys = [process_key, *(called or {}).values()]
    base = select(HumanTask).join(CaseRecord, CaseRecord.id == HumanTask.case_id)
    rows = session.execute(filtered(base, period, HumanTask.created_at)
                           .where(HumanTask.process_key.in_(keys))
                           .where(HumanTask.state.in_((TASK_COMPLETED, TASK_OPEN)))
                           .order_by(HumanTask.created_at)).scalars()
    spans: dict[tuple[str, int], list[datetime | None]] = {}
    for row in rows:
        if row.process_key != process_key:
            span = spans.setdefault((row.process_key, row.case_id), [row.created_at, None])
            span[0] = min(span[0], row.created_at)
            if row.state == TASK_OPEN:
                span.append(None)  # still running in this case
            elif row.completed_at is not None:
                span[1] = max(span[1] or row.completed_at, row.completed_at)
            continue
        stat = stats.setdefault(row.task_spec, ElementStat(row.task_spec, row.name))
        if row.state == TASK_OPEN:
            stat.open += 1
        elif row.completed_at is not None:
            stat.completed += 1
            stat.hours.append(working_hours(calendar, row.created_at, row.completed_at))
    for call_id, item_key in (called or {}).items():
        stat = stats.setdefault(call_id, ElementStat(call_id, item_key))
        for (key, _case), span in spans.items():
            if key != item_key:
                continue
            if len(span) > 2 or span[1] is None:
                stat.open += 1
            else:
                stat.completed += 1
                stat.hours.append(working_hours(calendar, span[0], span[1]))
    return stats
