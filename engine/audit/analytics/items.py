"""Per item (and the one-thing itself): handling time against the promised limit
(限时办结), overdue, 补正 and 容缺受理 rates, from the clocks and a few audit events."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import eventlog as audit
from engine.definitions.catalogue import Catalogue
from engine.worktime.clock import SHANGHAI
from engine.store.models import CaseClock, CaseEvent, CaseRecord
from engine.worktime.workcalendar import WorkingCalendar
from engine.audit.analytics.common import (Period, chunks, filtered, mean, payload_of, rate,
    rounded, working_hours)
from engine.worktime.deadlines import HOURS_PER_WORKDAY

CORRECTION_REASON = "补正"


@dataclass
class ItemStat:
    """One item (or the one-thing itself) over the cases in a period."""

    scope: str
    name: str
    promised: str | None = None          # e.g. "3 个工作日"
    promised_amount: int | None = None
    promised_unit: str | None = None     # 工作日 / 自然日 / 小时 (catalogue units)
    promised_days: float | None = None   # the promised limit in working days
    cases: int = 0                       # clocks started
    finished: int = 0                    # clocks stopped
    overdue: int = 0
    corrections: int = 0                 # cases with at least one 补正 pause of this scope
    deficiency: int = 0                  # cases accepted with deficiency (容缺受理)
    days: list[float] = field(default_factory=list, repr=False)

    @property
    def avg_days(self) -> float | None:
        return mean(self.days)

    @property
    def overdue_rate(self) -> float | None:
        return rate(self.overdue, self.cases)

    @property
    def correction_rate(self) -> float | None:
        return rate(self.corrections, self.cases)

    @property
    def deficiency_rate(self) -> float | None:
        return rate(self.deficiency, self.cases)

    @property
    def share_of_limit(self) -> float | None:
        """Average handling time as a fraction of the promised limit (1.0 = all of it)."""
        if self.avg_days is None or not self.promised_days:
            return None
        return self.avg_days / self.promised_days

    def to_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "name": self.name, "promised": self.promised,
                "promised_days": self.promised_days, "cases": self.cases,
                "finished": self.finished, "avg_days": rounded(self.avg_days),
                "overdue_rate": rounded(self.overdue_rate, 4),
                "correction_rate": rounded(self.correction_rate, 4),
                "deficiency_rate": rounded(self.deficiency_rate, 4)}


def item_stats(session: Session, calendar: WorkingCalendar, catalogue: Catalogue | None,
               now: datetime, *, process_key: str | None = None, period: Period = Period()
               ) -> list[ItemStat]:
    """Per clock scope (the case's own process first, then its items), over the cases of
    `process_key` (all when None) accepted in `period`."""
    stmt = (select(CaseClock, CaseRecord.process_key)
            .join(CaseRecord, CaseRecord.id == CaseClock.case_id))
    if process_key:
        stmt = stmt.where(CaseRecord.process_key == process_key)
    stmt = filtered(stmt, period, CaseClock.started_at).order_by(CaseClock.case_id,
                                                                   CaseClock.id)
    clocks = [(row, top) for row, top in session.execute(stmt)]
    case_ids = sorted({row.case_id for row, _ in clocks})
    pauses, corrected, deficient = _clock_facts(session, case_ids, now)
    stats: dict[str, ItemStat] = {}
    for row, top in clocks:
        stat = stats.get(row.scope)
        if stat is None:
            stat = stats[row.scope] = _item_stat(row, catalogue)
        stat.cases += 1
        end = row.stopped_at or now
        if row.stopped_at is not None:
            stat.finished += 1
            paused = sum(working_hours(calendar, a, b)
                         for a, b in pauses.get((row.case_id, row.scope), ()))
            stat.days.append(max(0.0, working_hours(calendar, row.started_at, end) - paused)
                             / HOURS_PER_WORKDAY)
        if _overdue(row, end):
            stat.overdue += 1
        if (row.case_id, row.scope) in corrected:
            stat.corrections += 1
        if _has_deficiency(deficient, row.case_id, row.scope, top, stat.name):
            stat.deficiency += 1
    tops = {top for _, top in clocks}
    return sorted(stats.values(), key=lambda s: (s.scope not in tops, s.scope))


def _item_stat(row: CaseClock, catalogue: Catalogue | None) -> ItemStat:
    entry = catalogue.get(row.scope) if catalogue else None
    stat = ItemStat(row.scope, entry.name if entry else row.name)
    if entry is not None:
        limit = entry.promised_limit
        stat.promised = str(limit)
        stat.promised_amount, stat.promised_unit = limit.amount, limit.unit
        stat.promised_days = (limit.amount if limit.unit != "小时"
                              else limit.amount / HOURS_PER_WORKDAY)
    else:
        stat.promised = f"{row.amount} 个工作日" if row.unit == "working_day" else None
        if stat.promised:
            stat.promised_amount, stat.promised_unit = row.amount, "工作日"
        stat.promised_days = float(row.amount) if row.unit == "working_day" else None
    return stat


def _overdue(row: CaseClock, end: datetime) -> bool:
    """Finished after its deadline, or still running past it (a paused clock is not
    running: its deadline moves while it waits)."""
    if row.stopped_at is None and row.paused_at is not None:
        return False
    return end > row.due_at


def _clock_facts(session: Session, case_ids: list[int], now: datetime):
    """From the audit log of the cases: the pause intervals per (case, scope), the
    (case, scope) pairs that paused for 补正, and 容缺受理: the cases accepted with
    deficiency and, where the deficiency list names them, (case, item) pairs."""
    pauses: dict[tuple[int, str], list[tuple[datetime, datetime]]] = defaultdict(list)
    corrected: set[tuple[int, str]] = set()
    deficient: set[int | tuple[int, str]] = set()
    open_pauses: dict[tuple[int, str], datetime] = {}
    kinds = (audit.CLOCK_PAUSED, audit.CLOCK_RESUMED, audit.TASK_COMPLETED, audit.CASE_STARTED)
    for chunk in chunks(case_ids, 500):
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(chunk),
                                                         CaseEvent.kind.in_(kinds))
                                 .order_by(CaseEvent.case_id, CaseEvent.seq))
        for event in events:
            payload = payload_of(event.payload)
            scope = payload.get("scope")
            if event.kind == audit.CLOCK_PAUSED and isinstance(scope, str):
                open_pauses[(event.case_id, scope)] = event.at
                if CORRECTION_REASON in str(payload.get("reason") or ""):
                    corrected.add((event.case_id, scope))
            elif event.kind == audit.CLOCK_RESUMED and isinstance(scope, str):
                began = open_pauses.pop((event.case_id, scope), None)
                if began is not None:
                    pauses[(event.case_id, scope)].append((began, event.at))
            else:
                for item in _deficiency(payload):
                    deficient.add(event.case_id)
                    if item:
                        deficient.add((event.case_id, item))
    for (case_id, scope), began in open_pauses.items():
        pauses[(case_id, scope)].append((began, now))
    return pauses, corrected, deficient


def _deficiency(payload: dict[str, Any]) -> list[str | None]:
    """容缺受理 in a start or completion: the items whose materials were deferred (None
    for a deferral not tied to an item), empty when the application was complete. Read
    from the `deficiency` list engine.acceptance.deficiency records, or else from a front desk
    that accepted with `materials_complete` false."""
    data = payload.get("data")
    if not isinstance(data, dict):
        return []
    listed = data.get("deficiency")
    if isinstance(listed, list) and listed:
        return [d.get("item") if isinstance(d, dict) and isinstance(d.get("item"), str)
                else None for d in listed]
    if data.get("acceptance_decision") == "accept" and data.get("materials_complete") is False:
        return [None]
    return []


def _has_deficiency(deficient: set, case_id: int, scope: str, top: str, name: str) -> bool:
    """An item counts when its own materials were deferred (the deficiency list names
    items by process key, item key or item name), or when the deferral names no item;
    the case's own scope counts for any deferral."""
    if case_id not in deficient:
        return False
    if scope == top:
        return True
    named = {s for c, s in (d for d in deficient if isinstance(d, tuple)) if c == case_id}
    return not named or bool({scope, scope.removeprefix("item_"), name} & named)


def handling_times(session: Session, calendar: WorkingCalendar, *, scope: str,
                   period: Period = Period()) -> list[tuple[datetime, float | None]]:
    """(accepted at, net handling working days or None while running) per case of one
    clock scope, for `weekly_series`."""
    stmt = filtered(select(CaseClock).join(CaseRecord, CaseRecord.id == CaseClock.case_id)
                     .where(CaseClock.scope == scope), period, CaseClock.started_at)
    rows = list(session.scalars(stmt.order_by(CaseClock.started_at)))
    pauses, _, _ = _clock_facts(session, sorted({r.case_id for r in rows}),
                                max((r.stopped_at or r.started_at for r in rows),
                                    default=datetime.now(SHANGHAI)))
    out = []
    for row in rows:
        days = None
        if row.stopped_at is not None:
            paused = sum(working_hours(calendar, a, b)
                         for a, b in pauses.get((row.case_id, row.scope), ()))
            days = max(0.0, working_hours(calendar, row.started_at, row.stopped_at) - paused
                       ) / HOURS_PER_WORKDAY
        out.append((row.started_at, days))
    return out
