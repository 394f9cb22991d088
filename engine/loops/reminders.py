"""主动提醒: issued licences that expire get a renewal reminder before they do.

Every approved item is in the `supervision_push` register with its `valid_until` (from
the catalogue entry's `validity`, e.g. 食品经营许可 5 years, counted from the decision). The
background job (`onething worker`) finds licences that were not revoked (and whose case
was not cancelled) and whose reminder day — `valid_until` minus `days_before` days
(ONETHING_RENEWAL_REMIND_DAYS, default 60) — has come, and for each starts one
licence_renewal case (processes/loops/licence_renewal.bpmn): a 续期提醒 task for the front
desk (综合受理窗口), due 30 days before expiry (the legal renewal deadline). The front desk
calls the holder and starts the renewal at the counter pre-filled from the old case
(`/counter/<key>?from_case=<id>`).

For other pages (the case page, the applicant portal) the query is
`reminders_for_case(session, case_id)` — or `Reminders.for_case(case_id)`, which opens its
own read session — returning `ReminderView`s, soonest expiry first. A reminder is produced
exactly once per (case, item): the row is unique and is written in the renewal case's start
step.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.cases import eventlog as audit
from engine.worktime.clock import SHANGHAI
from engine.i18n import N_
from engine.errors import Conflict
from engine.store.models import CASE_CANCELLED, CaseRecord
from engine.store.models_loops import (REMINDER_CLOSED, REMINDER_OPEN, REMINDER_RENEWED,
    LicenceReminder, SupervisionPush)
from engine.cases.dto import SYSTEM

log = logging.getLogger(__name__)

RENEWAL_PROCESS = "licence_renewal"
RENEW_BEFORE_DAYS = 30  # 行政许可法: apply for renewal 30 days before expiry
REVOKED = "revoke"  # a licence revoked by a violation notice is not renewed
STATE_LABELS = {REMINDER_OPEN: N_("待提醒"), REMINDER_RENEWED: N_("已受理续期"),
                REMINDER_CLOSED: N_("已提醒")}


@dataclass(frozen=True)
class ReminderView:
    id: int
    case_id: int
    case_number: str
    process_key: str  # of the original case: the counter pre-fills a new one from it
    item_key: str
    item_name: str
    licence_no: str | None
    holder: str | None
    valid_until: date
    remind_on: date
    state: str
    renewal_case_id: int | None
    created_at: datetime
    closed_at: datetime | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


class Reminders:
    def __init__(self, db, cases, clock, *, days_before: int = 60, batch: int = 100):
        self.db, self.cases, self.clock = db, cases, clock
        self.days_before, self.batch = days_before, batch

    # -- the background job ------------------------------------------------------------

    def due(self) -> list[int]:
        """Register rows whose licence was issued and whose reminder day has come, with
        no reminder yet (expired licences are not reminded)."""
        today = self.clock.now().astimezone(SHANGHAI).date()
        until = today + timedelta(days=self.days_before)
        with self.db.reading() as session:
            return list(session.scalars(
                _unreminded(select(SupervisionPush.id), today, until)
                .order_by(SupervisionPush.valid_until, SupervisionPush.id).limit(self.batch)))

    def run_due(self) -> int:
        """Produce the reminders that are due; returns how many."""
        with self.db.reading() as session:
            if self.cases.definitions.latest(session, RENEWAL_PROCESS) is None:
                return 0
        made = 0
        for push_id in self.due():
            try:
                made += self.remind(push_id) is not None
            except Conflict:
                continue  # another worker produced it
        return made

    def remind(self, push_id: int):
        """Start the renewal case of one licence (its start step writes the reminder)."""
        with self.db.reading() as session:
            push = session.get(SupervisionPush, push_id)
            original = session.get(CaseRecord, push.case_id)
        data = self.cases.get_case(original.id, SYSTEM, with_data=True).data
        renew_by = datetime.combine(push.valid_until - timedelta(days=RENEW_BEFORE_DAYS),
                                    time(17, 0), SHANGHAI)
        mobile = data.get("contact_mobile") or data.get("applicant_mobile") or ""
        start = {"source_case_id": original.id, "source_case_number": original.number,
                 "source_process": original.process_key, "item_key": push.item_key,
                 "item_name": push.item_name, "licence_no": push.licence_no or "",
                 "holder": push.holder or "", "valid_until": push.valid_until.isoformat(),
                 "remind_on": (push.valid_until - timedelta(days=self.days_before)).isoformat(),
                 "renew_by": renew_by.isoformat(), "contact_mobile": str(mobile)[:20]}
        return self.cases.start_case(RENEWAL_PROCESS, start, SYSTEM,
                                     title=f"到期续办提醒：{push.item_name}（{original.number}）")

    # -- the step hook -----------------------------------------------------------------

    def on_step(self, ctx) -> None:
        if ctx.case.process_key != RENEWAL_PROCESS:
            return
        session = ctx.session
        row = session.scalar(select(LicenceReminder).where(
            LicenceReminder.renewal_case_id == ctx.case.id))
        if row is None:
            row = self._record(session, ctx.case, ctx.workflow.task_tree.data, ctx.now)
        if ctx.completed and row.state == REMINDER_OPEN:
            applied = ctx.workflow.data.get("renewal_outcome") == "applied"
            row.state = REMINDER_RENEWED if applied else REMINDER_CLOSED
            row.closed_at = ctx.now

    @staticmethod
    def _record(session: Session, case, data, now) -> LicenceReminder:
        original = session.get(CaseRecord, data.get("source_case_id"))
        if original is None or session.scalar(select(LicenceReminder.id).where(
                LicenceReminder.case_id == original.id,
                LicenceReminder.item_key == data.get("item_key"))):
            raise Conflict("该证照已提醒过")
        row = LicenceReminder(
            case_id=original.id, item_key=data["item_key"], item_name=data["item_name"],
            licence_no=data.get("licence_no") or None, holder=data.get("holder") or None,
            valid_until=date.fromisoformat(data["valid_until"]),
            remind_on=date.fromisoformat(data["remind_on"]), state=REMINDER_OPEN,
            renewal_case_id=case.id, created_at=now)
        session.add(row)
        audit.append_event(session, original, kind=audit.RENEWAL_REMINDED, actor=SYSTEM.username,
                           at=now, definition_hash=original.pins[original.process_key],
                           payload={"item": row.item_key, "licence_no": row.licence_no,
                                    "valid_until": data["valid_until"],
                                    "renewal_case": case.id})
        original.updated_at = now
        return row

    # -- queries -----------------------------------------------------------------------

    def for_case(self, case_id: int) -> list[ReminderView]:
        """The renewal reminders of one original case (see `reminders_for_case`)."""
        with self.db.reading() as session:
            return reminders_for_case(session, case_id)

    def listing(self, *, state: str | None = None, limit: int = 200) -> list[ReminderView]:
        """All reminders, soonest expiry first (the front desk's 主动提醒 page)."""
        query = _query()
        if state in STATE_LABELS:
            query = query.where(LicenceReminder.state == state)
        query = query.order_by(LicenceReminder.valid_until, LicenceReminder.id)
        with self.db.reading() as session:
            return [_view(row, number, key) for row, number, key in
                    session.execute(query.limit(max(1, min(limit, 1000))))]

    def upcoming(self, *, within_days: int | None = None, limit: int = 100):
        """Issued licences expiring within `within_days` (default: the reminder window)
        that have no reminder yet: what the job will remind next."""
        today = self.clock.now().astimezone(SHANGHAI).date()
        horizon = today + timedelta(days=within_days or self.days_before * 2)
        with self.db.reading() as session:
            rows = session.execute(
                _unreminded(select(SupervisionPush, CaseRecord.number), today, horizon)
                .order_by(SupervisionPush.valid_until).limit(limit)).all()
        return [(row.item_name, row.licence_no, row.holder, row.valid_until, number,
                 row.case_id) for row, number in rows]


def _unreminded(query, today, until):
    """`query` narrowed to issued licences expiring between `today` and `until` that have no
    reminder yet and are still in force (case not cancelled, licence not revoked): the one
    rule both the job and the list of what comes next use."""
    return (query.join(CaseRecord, CaseRecord.id == SupervisionPush.case_id)
            .outerjoin(LicenceReminder, and_(
                LicenceReminder.case_id == SupervisionPush.case_id,
                LicenceReminder.item_key == SupervisionPush.item_key))
            .where(SupervisionPush.valid_until.is_not(None),
                   SupervisionPush.valid_until >= today, SupervisionPush.valid_until <= until,
                   CaseRecord.status != CASE_CANCELLED, LicenceReminder.id.is_(None),
                   or_(SupervisionPush.action.is_(None), SupervisionPush.action != REVOKED)))


def _query():
    return (select(LicenceReminder, CaseRecord.number, CaseRecord.process_key)
            .join(CaseRecord, CaseRecord.id == LicenceReminder.case_id))


def _view(row: LicenceReminder, number: str, process_key: str) -> ReminderView:
    return ReminderView(row.id, row.case_id, number, process_key, row.item_key, row.item_name,
                        row.licence_no, row.holder, row.valid_until, row.remind_on, row.state,
                        row.renewal_case_id, row.created_at, row.closed_at)


def reminders_for_case(session: Session, case_id: int) -> list[ReminderView]:
    """The renewal reminders of one original case, soonest expiry first (then by item),
    read in `session`."""
    rows = session.execute(_query().where(LicenceReminder.case_id == case_id)
                           .order_by(LicenceReminder.valid_until, LicenceReminder.item_key))
    return [_view(row, number, key) for row, number, key in rows]
