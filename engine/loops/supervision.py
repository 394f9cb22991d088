"""审管联动: every approved item's result goes to the department that supervises it.

1. A step hook notices an item process that ended approved (`<item>_decision == 'approve'`
   at the item's end event) and writes one `supervision_push` row per (case, item) in the
   approving step's transaction — the outbox. Nothing else happens inside that step, so an
   approval never waits on, or fails because of, the supervising side.
2. The background job (`onething worker`) turns each pending row into a supervision case
   (processes/loops/supervision_push.bpmn). Its 签收 task is routed to the supervising
   department (lane 监管部门 bound through the case data `lane_departments`) and is due in
   `sign_days` working days (ONETHING_SUPERVISION_SIGN_DAYS, default 2).
3. Unsigned by then, a boundary timer claims it for the department: the push is flagged,
   the supervision case records an audit event, and the department's leads are told;
   the supervision page counts these per department (the seed names "超时自动认领" as a
   failing to be reported).
4. A supervisor's violation notice (suspend or revoke) is written onto the ORIGINAL case
   as an audit event, and its case page shows it (`notices_for_case`).

The supervising department is the catalogue entry's `supervisor` when the catalogue names
one, else the implementing department itself.
"""
from __future__ import annotations

import logging
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.util.task import TaskState

from engine.cases import eventlog as audit
from engine.cases.helpers import definition_key
from engine.worktime.clock import SHANGHAI
from engine.i18n import N_
from engine.errors import Conflict, NotAllowed, NotFound
from engine.loops.notices import notify, people_of
from engine.store.models import CaseRecord
from engine.store.models_loops import (PUSH_AUTO_CLAIMED, PUSH_CLOSED, PUSH_PENDING, PUSH_QUEUED,
    PUSH_SIGNED, PUSH_STATES, PUSH_VIOLATION, SupervisionPush)
from engine.cases.dto import SYSTEM, Actor

log = logging.getLogger(__name__)

SUPERVISION_PROCESS = "supervision_push"
SUPERVISOR_LANE = "监管部门"  # the diagram's role lane, bound per case to the real department
PUSH_LABELS = {PUSH_PENDING: N_("待推送"), PUSH_QUEUED: N_("待签收"), PUSH_SIGNED: N_("已签收"),
               PUSH_AUTO_CLAIMED: N_("超时自动认领"), PUSH_CLOSED: N_("已核查"),
               PUSH_VIOLATION: N_("已发违法通知")}
ACTIONS = {"suspend": N_("暂扣（暂停）许可"), "revoke": N_("吊销（撤销）许可")}
HOLDER_KEYS = ("company_name", "builder_name", "applicant_name", "project_name")


@dataclass(frozen=True)
class PushView:
    id: int
    case_id: int
    case_number: str
    item_key: str
    item_name: str
    department: str | None
    supervisor: str
    licence_no: str | None
    holder: str | None
    state: str
    approved_at: datetime
    valid_until: date | None
    supervision_case_id: int | None
    pushed_at: datetime | None
    signed_at: datetime | None
    signed_by: str | None
    auto_claimed: bool
    action: str | None
    notice: str | None
    notice_at: datetime | None

    @property
    def state_label(self) -> str:
        return PUSH_LABELS.get(self.state, self.state)

    @property
    def action_label(self) -> str | None:
        return ACTIONS.get(self.action) if self.action else None

    @classmethod
    def of(cls, row: SupervisionPush, number: str) -> "PushView":
        return cls(row.id, row.case_id, number, row.item_key, row.item_name, row.department,
                   row.supervisor, row.licence_no, row.holder, row.state, row.approved_at,
                   row.valid_until, row.supervision_case_id, row.pushed_at, row.signed_at,
                   row.signed_by, bool(row.auto_claimed), row.action, row.notice,
                   row.notice_at)


@dataclass(frozen=True)
class DepartmentTally:
    """One supervising department's line on the supervision page."""

    supervisor: str
    total: int
    waiting: int
    auto_claimed: int
    violations: int


def validity_months(entry: Any) -> int | None:
    """The catalogue entry's `validity` in months — (5, "年") → 60, (1, "月") → 1; also
    5, "5年", {"amount": 5, "unit": "年"} — or None when the result does not expire."""
    value = getattr(entry, "validity", None) if entry is not None else None
    if value is None or value == "" or value is False:
        return None
    amount, unit = value, "年"
    if isinstance(value, (tuple, list)) and len(value) == 2:
        amount, unit = value
    elif isinstance(value, dict):
        amount, unit = value.get("amount"), value.get("unit", "年")
    elif isinstance(value, str):
        digits = "".join(ch for ch in value if ch.isdigit())
        amount, unit = (int(digits) if digits else None), ("月" if "月" in value else "年")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        return None
    return {"年": 12 * amount, "月": amount}.get(unit)


def expiry_of(granted: date, months: int) -> date:
    """The last valid day of a result granted on `granted` for `months` months (a
    licence granted on 20 Nov 2026 for 5 years is valid until 19 Nov 2031)."""
    year, month = divmod(granted.month - 1 + months, 12)
    year, month = granted.year + year, month + 1
    day = min(granted.day, monthrange(year, month)[1])
    return date(year, month, day) - timedelta(days=1)


class Supervision:
    def __init__(self, db, cases, clock, catalogue, *, sign_days: int = 2, batch: int = 50):
        self.db, self.cases, self.clock, self.catalogue = db, cases, clock, catalogue
        self.sign_days, self.batch = sign_days, batch

    # -- the step hook -----------------------------------------------------------------

    def on_step(self, ctx) -> None:
        if ctx.case.process_key == SUPERVISION_PROCESS:
            self._follow(ctx)
        else:
            self._record_approvals(ctx)

    def _record_approvals(self, ctx) -> None:
        """One outbox row per item that ended approved in this step (idempotent)."""
        for task in ctx.workflow.get_tasks(state=TaskState.COMPLETED):
            if not isinstance(task.task_spec, EndEvent):
                continue
            key = definition_key(ctx.case, task)
            short = key.removeprefix("item_")
            if key == short or task.data.get(f"{short}_decision") != "approve":
                continue
            if ctx.session.scalar(select(SupervisionPush.id).where(
                    SupervisionPush.case_id == ctx.case.id, SupervisionPush.item_key == key)):
                continue
            ctx.session.add(self._push_for(ctx, key, task))

    def _push_for(self, ctx, key: str, task) -> SupervisionPush:
        entry = self.catalogue.get(key) if self.catalogue is not None else None
        department = entry.department if entry is not None else task.task_spec.lane
        supervisor = getattr(entry, "supervisor", None) or department or SUPERVISOR_LANE
        months = validity_months(entry)
        approved_on = ctx.now.astimezone(SHANGHAI).date()
        licence = task.data.get(f"{key.removeprefix('item_')}_licence_no")
        holder = next((task.data[k] for k in HOLDER_KEYS
                       if isinstance(task.data.get(k), str) and task.data[k].strip()), None)
        return SupervisionPush(
            case_id=ctx.case.id, item_key=key,
            item_name=(entry.name if entry else task.workflow.spec.description or key)[:300],
            department=department, supervisor=supervisor[:200],
            licence_no=str(licence)[:100] if licence else None,
            result_name=getattr(entry, "result_name", None),
            holder=holder[:300] if holder else None, approved_at=ctx.now,
            valid_until=expiry_of(approved_on, months) if months else None,
            state=PUSH_PENDING, auto_claimed=False, attempts=0)

    def _follow(self, ctx) -> None:
        """Keep the push row in step with its supervision case."""
        session, case = ctx.session, ctx.case
        push = session.scalar(select(SupervisionPush).where(
            SupervisionPush.supervision_case_id == case.id))
        if push is None:
            push = self._claim_pending(session, case, ctx.workflow.task_tree.data, ctx.now)
        done = {t.task_spec.bpmn_id for t in ctx.workflow.get_tasks(state=TaskState.COMPLETED)}
        if "sign_for" in done and push.signed_at is None:
            push.state, push.signed_at, push.signed_by = PUSH_SIGNED, ctx.now, ctx.actor.username
        if "auto_claim" in done and not push.auto_claimed:
            self._auto_claimed(session, case, push, ctx.now)
        if ctx.completed and push.state not in (PUSH_CLOSED, PUSH_VIOLATION):
            data = ctx.workflow.data
            if data.get("supervision_result") == "violation":
                self._violation(session, push, data, ctx.actor, ctx.now)
            else:
                push.state = PUSH_CLOSED

    def _claim_pending(self, session, case, data, now) -> SupervisionPush:
        """The start step of a supervision case takes its pending push; a second worker
        that started another case for the same push loses here and rolls back."""
        claimed = session.execute(
            update(SupervisionPush).where(SupervisionPush.id == data.get("push_id"),
                                          SupervisionPush.state == PUSH_PENDING)
            .values(state=PUSH_QUEUED, supervision_case_id=case.id, pushed_at=now)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            raise Conflict("该审批结果已推送")
        return session.get(SupervisionPush, data.get("push_id"), populate_existing=True)

    def _auto_claimed(self, session, case, push, now) -> None:
        push.auto_claimed, push.state = True, PUSH_AUTO_CLAIMED
        push.signed_at, push.signed_by = now, SYSTEM.username
        audit.append_event(session, case, kind=audit.SUPERVISION_AUTO_CLAIMED,
                           actor=SYSTEM.username, at=now,
                           definition_hash=case.pins[case.process_key],
                           payload={"push": push.id, "supervisor": push.supervisor,
                                    "item": push.item_key})
        number = session.get(CaseRecord, push.case_id).number
        notify(session, people_of(session, push.supervisor, leads_only=True), case_id=case.id,
               kind="supervision_auto_claimed", now=now,
               message=f"办件 {number}「{push.item_name}」的审批结果超过签收期限未签收，"
                       f"已由系统自动认领，{push.supervisor}被通报")

    def _violation(self, session, push, data, actor, now) -> None:
        """The supervisor's notice suspends or revokes the licence: recorded on the push
        and, as an audit event, on the original case."""
        action = data.get("violation_action")
        push.state, push.action = PUSH_VIOLATION, action if action in ACTIONS else "suspend"
        push.notice = str(data.get("violation_notice") or "")[:4000]
        push.notice_at = now
        original = session.get(CaseRecord, push.case_id)
        audit.append_event(session, original, kind=audit.VIOLATION_NOTICE, actor=actor.username,
                           at=now, definition_hash=original.pins[original.process_key],
                           payload={"item": push.item_key, "licence_no": push.licence_no,
                                    "action": push.action, "notice": push.notice,
                                    "supervisor": push.supervisor,
                                    "supervision_case": push.supervision_case_id})
        original.updated_at = now
        people = people_of(session, push.department, leads_only=True) if push.department else []
        notify(session, [*people, *([original.created_by] if original.created_by else [])],
               case_id=original.id, kind="violation_notice", now=now,
               message=f"办件 {original.number}「{push.item_name}」收到{push.supervisor}的违法违规"
                       f"通知：{ACTIONS[push.action]}")

    # -- the background job ------------------------------------------------------------

    def run_due(self) -> int:
        """Start a supervision case for each pending push; returns how many started.
        Pushes wait (pending) while the supervision process is not deployed."""
        with self.db.reading() as session:
            if self.cases.definitions.latest(session, SUPERVISION_PROCESS) is None:
                return 0
            pending = list(session.scalars(select(SupervisionPush.id).where(
                SupervisionPush.state == PUSH_PENDING).order_by(SupervisionPush.id)
                .limit(self.batch)))
        started = 0
        for push_id in pending:
            try:
                started += self.start(push_id) is not None
            except Conflict:
                continue  # another worker pushed it
            except Exception as exc:  # noqa: BLE001 - recorded on the row, tried next round
                log.exception("supervision push %s failed", push_id)
                self._record_failure(push_id, exc)
        return started

    def start(self, push_id: int):
        """Start the supervision case of one pending push (a CaseView), or None."""
        with self.db.reading() as session:
            push = session.get(SupervisionPush, push_id)
            if push is None or push.state != PUSH_PENDING:
                return None
            number = session.get(CaseRecord, push.case_id).number
            data = {"push_id": push.id, "source_case_id": push.case_id,
                    "source_case_number": number, "item_key": push.item_key,
                    "item_name": push.item_name, "licence_no": push.licence_no or "",
                    "holder": push.holder or "", "department": push.department or "",
                    "supervisor": push.supervisor, "sign_days": self.sign_days,
                    "lane_departments": {SUPERVISOR_LANE: push.supervisor}}
        return self.cases.start_case(SUPERVISION_PROCESS, data, SYSTEM,
                                     title=f"审管联动：{push.item_name}（{number}）")

    def _record_failure(self, push_id: int, exc: Exception) -> None:
        with self.db.transaction() as session:
            push = session.get(SupervisionPush, push_id)
            if push is not None:
                push.attempts += 1
                push.last_error = f"{exc.__class__.__name__}: {exc}"[:2000]

    # -- queries -----------------------------------------------------------------------

    def pushes(self, actor: Actor, *, state: str | None = None, limit: int = 200
               ) -> list[PushView]:
        """Pushes the actor may see (their own supervising departments; everything for
        admins, auditors and leads of the hall), newest first."""
        if state is not None and state not in PUSH_STATES:
            raise NotFound("未知的推送状态")
        query = (select(SupervisionPush, CaseRecord.number)
                 .join(CaseRecord, CaseRecord.id == SupervisionPush.case_id))
        if not _sees_all(actor):
            query = query.where(SupervisionPush.supervisor.in_(sorted(actor.groups)))
        if state:
            query = query.where(SupervisionPush.state == state)
        query = query.order_by(SupervisionPush.approved_at.desc(), SupervisionPush.id.desc())
        with self.db.reading() as session:
            return [PushView.of(row, number) for row, number in
                    session.execute(query.limit(max(1, min(limit, 500))))]

    def tally(self, actor: Actor) -> list[DepartmentTally]:
        """Per supervising department: pushes, waiting for 签收, auto-claimed, violations."""
        waiting = func.sum(_when(SupervisionPush.state.in_([PUSH_PENDING, PUSH_QUEUED])))
        query = (select(SupervisionPush.supervisor, func.count(), waiting,
                        func.sum(_when(SupervisionPush.auto_claimed.is_(True))),
                        func.sum(_when(SupervisionPush.state == PUSH_VIOLATION)))
                 .group_by(SupervisionPush.supervisor).order_by(SupervisionPush.supervisor))
        if not _sees_all(actor):
            query = query.where(SupervisionPush.supervisor.in_(sorted(actor.groups)))
        with self.db.reading() as session:
            return [DepartmentTally(name, total, int(w or 0), int(a or 0), int(v or 0))
                    for name, total, w, a, v in session.execute(query)]

    def for_case(self, case_id: int) -> list[PushView]:
        """The pushes of one (original) case, with any violation notice: the case page
        shows these."""
        with self.db.reading() as session:
            return notices_for_case(session, case_id)


def notices_for_case(session: Session, case_id: int) -> list[PushView]:
    """The supervision pushes of a case in `session`, oldest first."""
    rows = session.execute(select(SupervisionPush, CaseRecord.number)
                           .join(CaseRecord, CaseRecord.id == SupervisionPush.case_id)
                           .where(SupervisionPush.case_id == case_id)
                           .order_by(SupervisionPush.id))
    return [PushView.of(row, number) for row, number in rows]


def _sees_all(actor: Actor) -> bool:
    return actor.is_admin or "auditor" in actor.roles


def _when(condition):
    from sqlalchemy import case as sql_case

    return sql_case((condition, 1), else_=0)


def may_supervise(actor: Actor) -> None:
    """The supervision page is for supervisors, leads, auditors and admins."""
    if not ({"supervisor", "lead", "auditor", "admin"} & actor.roles):
        raise NotAllowed("只有监管人员、部门负责人和审计人员可以查看审管联动")
