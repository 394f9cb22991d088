"""12345 work orders (processes/loops/hotline_workorder.bpmn).

受理 at the hotline (`intake`) → 派单 to one department, optionally with co-handling
departments → 签收 or 退单 (only with a legal basis; the hotline then re-dispatches or decides
the owner) → 办理 and 答复, or an extension request that a hotline lead approves → 回访 →
办结, or 重办 when the citizen is unsatisfied. An order not signed for in time goes back to
the hotline by itself (退件), and 督办 reminders go out before and after the answer deadline.

The diagram holds the flow and the timers; this module supplies each category's limits
(processes/loops/workorder_limits.json, or the file named by ONETHING_WORKORDER_LIMITS),
keeps the `work_order` list row in step with the case, and, in the step's transaction,
writes the notifications each transition owes someone. The 承办部门 lane of the diagram is
bound per case to the dispatched department (case data `lane_departments`), so the task list
routes 签收 and 办理 to that department's queue.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import func, select
from SpiffWorkflow.util.task import TaskState

from engine.cases import eventlog as audit
from engine.cases.helpers import timer_due
from engine.i18n import N_
from forms.dictionary import validate_phone
from forms.messages import InvalidValue
from engine.errors import NotAllowed, NotFound, ValidationFailed
from engine.loops.notices import notify, people_of
from engine.cases import policy
from engine.store.models import TASK_COMPLETED, CaseEvent, CaseRecord, Department, HumanTask
from engine.store.models_loops import WorkOrder
from engine.cases.dto import Actor, CaseView

WORKORDER_PROCESS = "hotline_workorder"
HOTLINE = "12345热线"       # the hotline's department / lane name
HANDLER_LANE = "承办部门"   # the diagram's role lane, bound to the dispatched department
DEFAULT_LIMITS = Path(__file__).resolve().parents[2] / "processes" / "loops" / \
    "workorder_limits.json"
LIMIT_KEYS = ("dispatch_hours", "sign_hours", "answer_workdays", "urge_before_workdays")

# The order's state is the step it waits at (its open user task); one table, one source.
STATE_BY_TASK = {"dispatch": "dispatching", "sign_for": "signing", "review_return": "returned",
                 "handle": "handling", "approve_extension": "extension",
                 "callback": "callback"}
STATE_LABELS = {"dispatching": N_("待派单"), "signing": N_("待签收"),
                "returned": N_("退单待审核"), "handling": N_("办理中"),
                "extension": N_("延期待审批"), "callback": N_("待回访"), "closed": N_("已办结")}
SATISFACTION_LABELS = {"satisfied": N_("满意"), "basic": N_("基本满意"),
                       "unsatisfied": N_("不满意")}
URGES = {"urge_before": "到期前督办", "urge_overdue": "逾期督办"}
# The shipped categories' labels, so the pages can translate them (a label added in the
# JSON file is shown as written).
SHIPPED_CATEGORY_LABELS = (N_("紧急"), N_("水电气热"), N_("一般"), N_("复杂"))


@dataclass(frozen=True)
class CategoryLimits:
    key: str
    label: str
    dispatch_hours: int
    sign_hours: int
    answer_workdays: int
    urge_before_workdays: int


def load_limits(path: str | Path | None = None) -> dict[str, CategoryLimits]:
    """Each category's time limits from the JSON file, checked as a whole."""
    path = Path(path or DEFAULT_LIMITS)
    raw = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for key, spec in (raw.get("categories") or {}).items():
        values = [spec.get(k) for k in LIMIT_KEYS]
        if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 3650
                   for v in values) or values[0] < 1 or values[1] < 1 or values[2] < 1:
            raise ValueError(f"{path}: 类别 {key} 的时限须为正整数")
        if values[3] >= values[2]:
            raise ValueError(f"{path}: 类别 {key} 的督办提前天数须小于答复时限")
        out[key] = CategoryLimits(key, str(spec.get("label") or key), *values)
    if not out:
        raise ValueError(f"{path}: 没有工单类别")
    return out


@dataclass(frozen=True)
class WorkOrderView:
    case_id: int
    number: str
    category: str
    category_label: str
    citizen_name: str
    citizen_phone: str
    content: str
    department: str | None
    co_departments: tuple[str, ...]
    state: str
    due_at: datetime | None
    returns: int
    unsigned_returns: int
    rehandles: int
    urges: int
    satisfaction: str | None
    created_at: datetime
    closed_at: datetime | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def satisfaction_label(self) -> str | None:
        return SATISFACTION_LABELS.get(self.satisfaction) if self.satisfaction else None


class WorkOrders:
    def __init__(self, db, cases, clock, limits: Mapping[str, CategoryLimits] | None = None):
        self.db, self.cases, self.clock = db, cases, clock
        self.limits = dict(limits or load_limits())

    # -- 受理 --------------------------------------------------------------------------

    def intake(self, actor: Actor, values: Mapping[str, Any]) -> CaseView:
        """A hotline operator records a call; the order waits for 派单 (checked input, each
        problem named in Chinese; nothing is stored when anything is wrong)."""
        if not ({"hotline", "admin"} & actor.roles):
            raise NotAllowed("只有12345热线话务员可以受理工单")
        data = self.clean_intake(values)
        limits = self.limits[data["category"]]
        data.update(dispatch_hours=limits.dispatch_hours, sign_hours=limits.sign_hours,
                    answer_days=limits.answer_workdays,
                    urge_workdays=limits.answer_workdays - limits.urge_before_workdays,
                    unsigned_returns=0, rehandles=0, extensions=0)
        # The hotline files the order itself: it may start this process (and only this
        # one) without being the general front desk.
        filer = replace(actor, roles=actor.roles | {"api"})
        title = f"12345工单：{limits.label}·{data['content'][:40]}"
        return self.cases.start_case(WORKORDER_PROCESS, data, filer, title=title)

    def clean_intake(self, values: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        text = {k: str(values.get(k) or "").strip() for k in
                ("citizen_name", "citizen_phone", "category", "content", "address")}
        if not text["citizen_name"]:
            errors["citizen_name"] = N_("请填写来电人")
        elif len(text["citizen_name"]) > 100:
            errors["citizen_name"] = N_("来电人不能超过 100 个字符")
        try:
            phone = validate_phone(text["citizen_phone"])
        except InvalidValue:
            phone = text["citizen_phone"]
            errors["citizen_phone"] = N_("请填写 11 位手机号码或带区号的固定电话")
        if text["category"] not in self.limits:
            errors["category"] = N_("请选择工单类别")
        if len(text["content"]) < 5:
            errors["content"] = N_("请写明诉求内容（至少 5 个字）")
        elif len(text["content"]) > 4000:
            errors["content"] = N_("诉求内容不能超过 4000 个字符")
        if len(text["address"]) > 300:
            errors["address"] = N_("地址不能超过 300 个字符")
        if errors:
            raise ValidationFailed("工单信息有误：" + "；".join(errors.values()), errors)
        return {**text, "citizen_phone": phone}

    # -- the step hook -----------------------------------------------------------------

    def on_step(self, ctx) -> None:
        if ctx.case.process_key != WORKORDER_PROCESS:
            return
        session, case, workflow, now = ctx.session, ctx.case, ctx.workflow, ctx.now
        self._only_leads_decide_extensions(ctx)
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        data = dict(workflow.data if ctx.completed or not ready else ready[0].data)
        row = session.scalar(select(WorkOrder).where(WorkOrder.case_id == case.id))
        if row is None:
            row = self._new_row(case, data, now)
            session.add(row)
        state = "closed" if ctx.completed else next(
            (STATE_BY_TASK[t.task_spec.bpmn_id] for t in ready
             if t.task_spec.bpmn_id in STATE_BY_TASK), row.state)
        department = data.get("handler_department") or row.department
        previous = row.state
        if state != previous and (state == "signing" or previous == "returned"
                                  and state == "handling"):
            _require_department(session, department)  # a name typed at 派单 must exist
        row.department = department
        row.co_departments = _names(data.get("co_departments"))
        row.due_at = self._due(state, data) or row.due_at
        if state != previous:
            self._moved(session, case, row, previous, state, data, now)
        row.state = state
        row.unsigned_returns = int(data.get("unsigned_returns") or 0)
        row.rehandles = int(data.get("rehandles") or 0)
        if ctx.completed:
            row.closed_at, row.satisfaction = now, data.get("satisfaction")
        self._urges(ctx, row)

    @staticmethod
    def _new_row(case, data, now) -> WorkOrder:
        return WorkOrder(case_id=case.id, category=str(data.get("category") or ""),
                         citizen_name=str(data.get("citizen_name") or "")[:100],
                         citizen_phone=str(data.get("citizen_phone") or "")[:20],
                         content=str(data.get("content") or ""), department=None,
                         co_departments=[], state="dispatching", returns=0,
                         unsigned_returns=0, rehandles=0, urges=0, created_at=now)

    @staticmethod
    def _due(state: str, data: dict) -> datetime | None:
        key = {"dispatching": "dispatch_due", "signing": "sign_due", "returned": "dispatch_due",
               "handling": "answer_due", "extension": "answer_due"}.get(state)
        return timer_due(data.get(key)) if key else None

    def _moved(self, session, case, row, previous, state, data, now) -> None:
        """Tell whoever must act now that the order moved from `previous` to `state`."""
        number = case.number
        hotline_leads = people_of(session, HOTLINE, leads_only=True)
        if state == "signing":
            due = timer_due(data.get("sign_due"))
            notify(session, people_of(session, row.department), case_id=case.id,
                   kind="workorder_dispatched", now=now,
                   message=f"12345工单 {number} 已派至本部门，请于 {_shown(due)} 前签收")
            for co in _names(data.get("co_departments")):
                notify(session, people_of(session, co, leads_only=True), case_id=case.id,
                       kind="workorder_cohandle", now=now,
                       message=f"12345工单 {number} 由{row.department}主办，请贵部门协办")
        elif state == "returned":
            row.returns += 1
            notify(session, hotline_leads, case_id=case.id, kind="workorder_returned", now=now,
                   message=f"12345工单 {number} 被{row.department}退单，请审核后重新派单或指定承办")
        elif state == "dispatching" and previous == "signing":
            notify(session, [*hotline_leads, *people_of(session, row.department or "",
                                                        leads_only=True)],
                   case_id=case.id, kind="workorder_unsigned", now=now,
                   message=f"12345工单 {number} 超过签收时限未签收，已自动退回热线重新派单"
                           f"（{row.department}被记录超时未签收）")
        elif state == "extension":
            notify(session, hotline_leads, case_id=case.id, kind="workorder_extension", now=now,
                   message=f"12345工单 {number} 申请延期 {data.get('extension_days')} 个工作日，"
                           "待热线负责人审批")
        elif state == "handling" and previous == "callback":
            notify(session, people_of(session, row.department or ""), case_id=case.id,
                   kind="workorder_rehandle", now=now,
                   message=f"12345工单 {number} 回访不满意，请重新办理（重办）")

    def _urges(self, ctx, row) -> None:
        """督办: each fired reminder timer is recorded once (an audit event named by the
        timer task) and notifies the handling department and the hotline leads."""
        session, case = ctx.session, ctx.case
        for task in ctx.workflow.get_tasks(state=TaskState.COMPLETED):
            label = URGES.get(task.task_spec.bpmn_id)
            if label is None or session.scalar(select(CaseEvent.id).where(
                    CaseEvent.case_id == case.id, CaseEvent.kind == audit.WORKORDER_URGED,
                    CaseEvent.task_id == str(task.id))):
                continue
            due = timer_due(task.data.get("answer_due"))
            audit.append_event(session, case, kind=audit.WORKORDER_URGED, actor="system",
                               at=ctx.now, definition_hash=case.pins[case.process_key],
                               task_id=str(task.id), task_spec=task.task_spec.bpmn_id,
                               payload={"kind": task.task_spec.bpmn_id, "due_at": due,
                                        "department": row.department})
            row.urges += 1
            people = [*people_of(session, row.department or ""),
                      *people_of(session, HOTLINE, leads_only=True)]
            when = "将于" if task.task_spec.bpmn_id == "urge_before" else "已超过办理时限"
            notify(session, people, case_id=case.id, kind="workorder_urged", now=ctx.now,
                   message=f"{label}：12345工单 {case.number}（{row.department}）{when} "
                           f"{_shown(due)}，请抓紧办理答复")

    @staticmethod
    def _only_leads_decide_extensions(ctx) -> None:
        """延期 needs a hotline lead: a completion of 延期审批 in this very step by anyone
        else is refused, and the whole step with it."""
        actor = ctx.actor
        if policy.leads(actor, HOTLINE):
            return
        decided = ctx.session.scalar(select(HumanTask.id).where(
            HumanTask.case_id == ctx.case.id, HumanTask.task_spec == "approve_extension",
            HumanTask.state == TASK_COMPLETED, HumanTask.completed_at == ctx.now,
            HumanTask.completed_by == actor.username))
        if decided:
            raise NotAllowed("延期申请须由12345热线负责人审批")

    # -- queries -----------------------------------------------------------------------

    def orders(self, actor: Actor, *, state: str | None = None, limit: int = 200
               ) -> list[WorkOrderView]:
        """Orders the actor may see: everything for the hotline, admins and auditors; a
        department sees what it handles or co-handles. Newest first."""
        if state is not None and state not in STATE_LABELS:
            raise NotFound("未知的工单状态")
        query = (select(WorkOrder, CaseRecord.number)
                 .join(CaseRecord, CaseRecord.id == WorkOrder.case_id)
                 .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()))
        if state:
            query = query.where(WorkOrder.state == state)
        with self.db.reading() as session:
            rows = session.execute(query.limit(max(1, min(limit, 1000)))).all()
        views = [self._view(row, number) for row, number in rows]
        if _sees_all(actor):
            return views
        return [v for v in views if v.department in actor.groups
                or set(v.co_departments) & set(actor.groups)]

    def counts(self, actor: Actor) -> dict[str, int]:
        """How many orders are in each state (all orders: the hotline's overview)."""
        with self.db.reading() as session:
            found = dict(session.execute(select(WorkOrder.state, func.count())
                                         .group_by(WorkOrder.state)).all())
        return {state: int(found.get(state, 0)) for state in STATE_LABELS}

    def get(self, case_id: int, actor: Actor) -> WorkOrderView:
        with self.db.reading() as session:
            found = session.execute(select(WorkOrder, CaseRecord.number)
                                    .join(CaseRecord, CaseRecord.id == WorkOrder.case_id)
                                    .where(WorkOrder.case_id == case_id)).first()
        if found is None:
            raise NotFound("工单不存在")
        view = self._view(*found)
        if not (_sees_all(actor) or view.department in actor.groups
                or set(view.co_departments) & set(actor.groups)):
            raise NotAllowed("无权查看该工单")
        return view

    def departments(self) -> list[str]:
        """Active departments an order may be dispatched to."""
        with self.db.reading() as session:
            return list(session.scalars(select(Department.name).where(
                Department.active.is_(True), Department.kind == "department",
                Department.name != HOTLINE).order_by(Department.name)))

    def _view(self, row: WorkOrder, number: str) -> WorkOrderView:
        limits = self.limits.get(row.category)
        return WorkOrderView(row.case_id, number, row.category,
                             limits.label if limits else row.category, row.citizen_name,
                             row.citizen_phone, row.content, row.department,
                             tuple(row.co_departments or ()), row.state, row.due_at,
                             row.returns, row.unsigned_returns, row.rehandles, row.urges,
                             row.satisfaction, row.created_at, row.closed_at)


def _require_department(session, name: str | None) -> None:
    exists = name and session.scalar(select(Department.id).where(
        Department.name == name, Department.active.is_(True)))
    if not exists:
        msg = f"部门「{(name or '')[:50]}」不存在或已停用，请从部门列表中选择"
        raise ValidationFailed(msg, {"handler_department": msg, "owner_department": msg})


def _names(text: Any) -> list[str]:
    if not isinstance(text, str):
        return []
    return [p.strip()[:200] for p in text.replace("，", ",").replace("、", ",").split(",")
            if p.strip()][:10]


def _shown(moment: datetime | None) -> str:
    from engine.worktime.clock import SHANGHAI

    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _sees_all(actor: Actor) -> bool:
    return actor.is_admin or "auditor" in actor.roles or "hotline" in actor.roles \
        or HOTLINE in actor.groups
