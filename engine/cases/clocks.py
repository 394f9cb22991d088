"""Case clocks (限时办结): started at acceptance from the catalogue's promised limits,
paused while a correction (补正) or special procedure (特别程序) runs, extended by a
department lead, stopped when the item or case ends. Every change is an audit event and
every open task of the clock's scope carries its `due_at`, so lists never compute.

Which tasks start or pause a clock is said in the diagram, as task properties
(camunda:properties on the user task):
- `starts_clock`: a condition over the task's completed data, e.g.
  `acceptance_decision == 'accept'` on the front-desk acceptance;
- `pauses_clock`: a reason (e.g. 补正); the clock of the task's item pauses while the
  task is open.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine.cases import eventlog as audit
from engine.definitions.catalogue import Catalogue
from engine.worktime.clock import Clock
from engine.worktime.clock import SHANGHAI
from engine.worktime.deadlines import (DEFAULT_WARN_DAYS, END_OF_DAY, NORMAL, OVERDUE,
    STATE_LABELS, UNIT_ALIASES, WARNING, WORKING_DAY, Limit, Pause, due_at, paused_amount,
    state_of)
from engine.store.db import Database
from engine.store.models import (TASK_OPEN, CalendarDay, CalendarYear, CaseClock, CaseRecord,
    HumanTask)
from engine.errors import NotFound, ValidationFailed
from engine.worktime.workcalendar import HOLIDAY, WORKDAY, SpecialDay, WorkingCalendar

STARTS_CLOCK = "starts_clock"
PAUSES_CLOCK = "pauses_clock"
SPECIAL_PROCEDURES = ("听证", "招标拍卖", "检验检测", "鉴定", "专家评审", "现场勘验", "公示")
RECEIPT_NOTICE_DAYS = 5  # 一次性告知 within 5 working days of receipt, else accepted at receipt


@dataclass(frozen=True)
class ClockView:
    scope: str
    name: str
    limit: str
    statutory: str | None
    started_at: datetime
    due_at: datetime
    paused: bool
    stopped: bool
    state: str  # normal / warning / overdue
    state_label: str  # 正常 / 预警 / 逾期
    remaining_workdays: int

    def to_json(self) -> dict:
        from engine.cases.dto import _iso

        return {"scope": self.scope, "name": self.name, "limit": self.limit,
                "statutory": self.statutory, "started_at": _iso(self.started_at),
                "due_at": _iso(self.due_at), "paused": self.paused, "stopped": self.stopped,
                "state": self.state, "state_label": self.state_label,
                "remaining_workdays": self.remaining_workdays}


class CalendarSource:
    """The working calendar from the database, re-read at most every `ttl` seconds (an
    import on another host becomes visible here within that time)."""

    def __init__(self, db: Database, ttl: float = 60.0):
        self.db, self.ttl = db, ttl
        self._cached: tuple[float, WorkingCalendar] | None = None
        self._lock = threading.Lock()

    def get(self, session: Session | None = None) -> WorkingCalendar:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self.ttl:
                return self._cached[1]
        if session is None:
            with self.db.reading() as own:
                return self._load(own)
        return self._load(session)

    def _load(self, session: Session) -> WorkingCalendar:
        days = [SpecialDay(r.day, r.kind, r.name) for r in session.scalars(select(CalendarDay))]
        years = set(session.scalars(select(CalendarYear.year)))
        calendar = WorkingCalendar.from_days(days, years)
        with self._lock:
            self._cached = (time.monotonic(), calendar)
        return calendar

    def forget(self) -> None:
        with self._lock:
            self._cached = None

    def import_year(self, year: int, days: list[SpecialDay], *, actor: str,
                    at: datetime, source: str = "国务院办公厅通知") -> int:
        """Replace one year's official schedule (from the State Council's notice)."""
        problems = [f"{d.day} 不属于 {year} 年" for d in days if d.day.year != year]
        problems += [f"{d.day} 是周末，不需要登记为放假" for d in days
                     if d.kind == HOLIDAY and d.day.weekday() >= 5]
        problems += [f"{d.day} 是工作日，不需要登记为调休上班" for d in days
                     if d.kind == WORKDAY and d.day.weekday() < 5]
        if len({d.day for d in days}) != len(days):
            problems.append("同一天出现了两次")
        if not any(d.kind == HOLIDAY for d in days):
            problems.append("没有任何放假日")
        if problems:
            raise ValidationFailed(f"{year} 年放假安排有误：" + "；".join(problems[:10]))
        with self.db.transaction() as session:
            session.execute(delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                      CalendarDay.day <= date(year, 12, 31)))
            session.add_all(CalendarDay(day=d.day, kind=d.kind, name=d.name[:100], source=source)
                            for d in days)
            row = session.get(CalendarYear, year) or CalendarYear(year=year)
            row.source, row.imported_at, row.imported_by = source, at, actor
            session.merge(row)
        self.forget()
        return len(days)


def parse_schedule(text: str) -> tuple[int, list[SpecialDay]]:
    """A year's schedule as administrators type it from the notice, one day per line:
    `2027-01-01 休 元旦` (a weekday off) or `2027-01-09 班 元旦` (a weekend worked).
    `holiday`/`workday` work too; blank lines and lines starting with # are ignored."""
    kinds = {"休": HOLIDAY, "holiday": HOLIDAY, "班": WORKDAY, "workday": WORKDAY}
    days, problems = [], []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.replace(",", " ").split()
        try:
            day = date.fromisoformat(parts[0])
            kind = kinds[parts[1]]
        except (ValueError, IndexError, KeyError):
            problems.append(f"第 {number} 行格式应为「2027-01-01 休 元旦」")
            continue
        days.append(SpecialDay(day, kind, " ".join(parts[2:]) or "节假日"))
    if problems:
        raise ValidationFailed("；".join(problems[:10]))
    if not days:
        raise ValidationFailed("没有读到任何日期")
    years = {d.day.year for d in days}
    if len(years) != 1:
        raise ValidationFailed("一次只能导入一个年度的放假安排")
    return years.pop(), days


class Clocks:
    def __init__(self, clock: Clock, catalogue: Catalogue | None, calendars: CalendarSource,
                 *, warn_days: int = DEFAULT_WARN_DAYS):
        self.clock, self.catalogue, self.calendars = clock, catalogue, calendars
        self.warn_days = warn_days

    # -- inside a case step (the caller's transaction) ------------------------------------

    def start(self, session: Session, case: CaseRecord, *, accepted_at: datetime,
              noticed: bool, actor: str) -> list[CaseClock]:
        """Start the clocks of the case and of each of its items (at acceptance)."""
        if self.catalogue is None or session.scalar(
                select(CaseClock.id).where(CaseClock.case_id == case.id).limit(1)):
            return []
        calendar = self.calendars.get(session)
        started = accepted_at
        deadline = calendar.add_workdays(case.created_at.date(), RECEIPT_NOTICE_DAYS)
        if not noticed and accepted_at.date() > deadline:
            started = case.created_at  # no notice in time: accepted from the day of receipt
        entry = self.catalogue.get(case.process_key)
        scopes = [case.process_key] + (list(entry.items) if entry else [])
        clocks = []
        for scope in scopes:
            item = self.catalogue.get(scope)
            if item is None:
                continue
            limit = Limit(item.promised_limit.amount, UNIT_ALIASES[item.promised_limit.unit])
            row = CaseClock(case_id=case.id, scope=scope, name=item.name, unit=limit.unit,
                            amount=limit.amount, statutory_amount=item.statutory_limit.amount,
                            warn_days=self.warn_days, started_at=started,
                            due_at=due_at(calendar, started, limit), paused_amount=0,
                            extension=0)
            session.add(row)
            clocks.append(row)
        session.flush()
        audit.append_event(session, case, kind=audit.CLOCK_STARTED, actor=actor,
                           at=accepted_at, definition_hash=case.pins[case.process_key],
                           payload={"started_at": started, "from_receipt": started != accepted_at,
                                    "clocks": {c.scope: c.due_at for c in clocks}})
        self.stamp_tasks(session, case.id)
        return clocks

    def pause(self, session: Session, case: CaseRecord, scope: str, *, at: datetime,
              reason: str, actor: str) -> None:
        row = self._running(session, case.id, scope)
        if row is None or row.paused_at is not None:
            return
        row.paused_at = at
        audit.append_event(session, case, kind=audit.CLOCK_PAUSED, actor=actor, at=at,
                           definition_hash=case.pins[case.process_key],
                           payload={"scope": scope, "reason": reason})

    def resume(self, session: Session, case: CaseRecord, scope: str, *, at: datetime,
               actor: str) -> None:
        row = self._running(session, case.id, scope)
        if row is None or row.paused_at is None:
            return
        calendar = self.calendars.get(session)
        row.paused_amount += paused_amount(calendar, row.unit, [Pause(row.paused_at, at)], at)
        row.paused_at = None
        row.due_at = self._due(calendar, row, at)
        audit.append_event(session, case, kind=audit.CLOCK_RESUMED, actor=actor, at=at,
                           definition_hash=case.pins[case.process_key],
                           payload={"scope": scope, "due_at": row.due_at})
        self.stamp_tasks(session, case.id)

    def extend(self, session: Session, case: CaseRecord, scope: str, *, amount: int,
               reason: str, at: datetime, actor: str) -> CaseClock:
        row = self._running(session, case.id, scope)
        if row is None:
            raise NotFound("该办件没有正在运行的计时")
        row.extension += amount
        row.due_at = self._due(self.calendars.get(session), row, at)
        audit.append_event(session, case, kind=audit.CLOCK_EXTENDED, actor=actor, at=at,
                           definition_hash=case.pins[case.process_key],
                           payload={"scope": scope, "amount": amount, "reason": reason,
                                    "due_at": row.due_at})
        self.stamp_tasks(session, case.id)
        return row

    def stop(self, session: Session, case_id: int, scopes: Iterable[str] | None,
             at: datetime) -> None:
        query = update(CaseClock).where(CaseClock.case_id == case_id,
                                        CaseClock.stopped_at.is_(None))
        if scopes is not None:
            query = query.where(CaseClock.scope.in_(list(scopes)))
        session.execute(query.values(stopped_at=at))

    def stamp_tasks(self, session: Session, case_id: int) -> None:
        """Every open task carries the due time of its item's clock (else the case's)."""
        clocks = {c.scope: c for c in session.scalars(
            select(CaseClock).where(CaseClock.case_id == case_id))}
        if not clocks:
            return
        case_scope = session.get(CaseRecord, case_id).process_key
        for task in session.scalars(select(HumanTask).where(HumanTask.case_id == case_id,
                                                            HumanTask.state == TASK_OPEN)):
            clock = clocks.get(task.process_key) or clocks.get(case_scope)
            if clock is not None and task.due_at != clock.due_at:
                task.due_at = clock.due_at

    # -- reading -----------------------------------------------------------------------------

    def band(self, state: str) -> tuple[datetime | None, datetime | None]:
        """The due times of tasks that are now in `state` (正常/预警/逾期), for list filters."""
        calendar = self.calendars.get()
        now = self.clock.now()
        warn_until = datetime.combine(calendar.add_workdays(now.date(), self.warn_days),
                                      END_OF_DAY, SHANGHAI)
        return {OVERDUE: (None, now), WARNING: (now, warn_until),
                NORMAL: (warn_until, None)}[state]

    def state_of(self, due: datetime | None) -> tuple[str, int] | None:
        if due is None:
            return None
        return state_of(self.calendars.get(), due, self.clock.now(), warn_days=self.warn_days)

    def summary_of(self, case_id: int) -> dict | None:
        """`summary` of a case by id, in its own read-only session (None: no such case)."""
        with self.calendars.db.reading() as session:
            case = session.get(CaseRecord, case_id)
            return self.summary(session, case) if case is not None else None

    def summary(self, session: Session, case: CaseRecord) -> dict:
        """The case's clock as the API and pages show it: before acceptance the deadline
        for a one-time notice (5 working days from receipt), after it the case's limit."""
        calendar = self.calendars.get(session)
        now = self.clock.now()
        views = self.views(session, case.id)
        own = next((v for v in views if v.scope == case.process_key), None)
        if own is None:
            due = due_at(calendar, case.created_at, Limit(RECEIPT_NOTICE_DAYS))
            state, left = state_of(calendar, due, case.ended_at or now, warn_days=self.warn_days)
            from engine.cases.dto import _iso

            return {"stage": "receipt", "deadline": _iso(due), "state": state,
                    "status": STATE_LABELS[state], "remaining_workdays": left,
                    "limit": f"{RECEIPT_NOTICE_DAYS} 个工作日（一次性告知）", "paused": False,
                    "calendar_warning": _calendar_warning(calendar, due), "items": []}
        return {"stage": "accepted", "deadline": own.to_json()["due_at"], "state": own.state,
                "status": own.state_label, "remaining_workdays": own.remaining_workdays,
                "limit": own.limit, "statutory": own.statutory, "paused": own.paused,
                "calendar_warning": _calendar_warning(calendar, own.due_at),
                "items": [v.to_json() for v in views if v.scope != case.process_key]}

    def views(self, session: Session, case_id: int) -> list[ClockView]:
        calendar = self.calendars.get(session)
        now = self.clock.now()
        rows = session.scalars(select(CaseClock).where(CaseClock.case_id == case_id)
                               .order_by(CaseClock.id))
        return [self.view(calendar, row, now) for row in rows]

    def view(self, calendar: WorkingCalendar, row: CaseClock, now: datetime) -> ClockView:
        due = self._due(calendar, row, now) if row.paused_at else row.due_at
        moment = row.stopped_at or now
        state, left = state_of(calendar, due, moment, warn_days=row.warn_days)
        unit = {"working_day": "工作日", "natural_day": "自然日"}.get(row.unit, "工作小时")
        return ClockView(row.scope, row.name, f"{row.amount + row.extension} 个{unit}",
                         f"{row.statutory_amount} 个{unit}" if row.statutory_amount else None,
                         row.started_at, due, row.paused_at is not None,
                         row.stopped_at is not None, state, STATE_LABELS[state], left)

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _running(session: Session, case_id: int, scope: str) -> CaseClock | None:
        return session.scalar(select(CaseClock).where(
            CaseClock.case_id == case_id, CaseClock.scope == scope,
            CaseClock.stopped_at.is_(None)))

    @staticmethod
    def _due(calendar: WorkingCalendar, row: CaseClock, now: datetime) -> datetime:
        pauses = [Pause(row.paused_at)] if row.paused_at else []
        limit = Limit(row.amount, row.unit or WORKING_DAY)
        # Closed pauses are already counted in paused_amount; an open one runs until now.
        return due_at(calendar, row.started_at, limit, pauses=pauses,
                      extension=row.extension + row.paused_amount, now=now)


def _calendar_warning(calendar: WorkingCalendar, due: datetime) -> str | None:
    years = calendar.unknown_years_between(due, due)
    if not years:
        return None
    return (f"{years[0]} 年的法定节假日安排尚未导入，期限暂按周一至周五计算；"
            "请管理员导入国务院办公厅放假通知")
