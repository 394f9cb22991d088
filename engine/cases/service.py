"""Cases: start, step, claim, complete, cancel — each one transaction.

Every public method that changes a case loads the case row (with its optimistic
version), changes the workflow, and writes engine state, task rows, timers and audit
events together. A concurrent writer that got there first makes the flush fail on the
version check, which is reported as `Conflict`; nothing half-done is ever committed.

The transaction guard lives in `transactions`, what one step writes in `casestep`, and
the pure helpers in `casehelpers`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.cases import eventlog as audit, ids, state
from engine.cases.helpers import (default_title, definition_key, has_acceptance_step, hash_for,
    touch)
from engine.cases.step import CaseStep
from engine.worktime.clock import SHANGHAI, Clock
from engine.cases.clocks import SPECIAL_PROCEDURES, Clocks
from engine.definitions.service import Definitions
from engine.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from engine.cases import policy
from engine.sandbox import Sandbox, script_engine
from engine.worktime.spiffclock import running_on
from engine.store.db import Database
from engine.store.models import (CASE_CANCELLED, CASE_COMPLETED, CASE_INCIDENT, CASE_RUNNING,
    TASK_COMPLETED, TASK_OPEN, TIMER_CANCELLED, TIMER_FIRED, TIMER_WAITING, CaseClock, CaseEvent,
    CaseNumberCounter, CaseRecord, HumanTask, Incident, Timer, User)
from engine.cases.transactions import ConflictGuard
from engine.cases.dto import SYSTEM, Actor, CaseView, IncidentView, TaskView
from engine.cases.workflow_cache import WorkflowCache

TASK_FINISHED = "任务已办结或已取消"  # the refusal of any step on a task no longer open


class CaseService:
    """The case runtime. The database is the only truth: any number of these, in any
    number of processes on any number of hosts, may serve the same database (the
    workflow cache only ever reuses what this process itself committed, checked against
    the case's version)."""

    def __init__(self, db: Database, definitions: Definitions, clock: Clock, sandbox: Sandbox,
                 *, region_code: str = "371500", cache_size: int = 64,
                 clocks: Clocks | None = None):
        self.db = db
        self.clocks = clocks
        self.workflows = WorkflowCache(cache_size)
        self.definitions = definitions
        self.clock = clock
        self.region_code = region_code
        self.script_engine = script_engine(sandbox)
        self.step = CaseStep(definitions, clock, clocks, self.script_engine, self.workflows)

    def add_step_hook(self, hook) -> None:
        """Run `hook(StepContext)` inside every step's transaction (see engine.cases.step)."""
        self.step.hooks.append(hook)

    # -- commands ---------------------------------------------------------------------

    def start_case(self, process_key: str, data: dict[str, Any], actor: Actor,
                   *, title: str | None = None, first_step: FirstStep | None = None) -> CaseView:
        """Start a case on the latest version of `process_key` with validated data.

        With `first_step`, the user task it names (the front desk's acceptance) must open
        at the start and is completed with its data in the same transaction: a case is
        never received without its decision. If that task does not open, or completing it
        fails, nothing is written."""
        if not policy.files_applications(actor):
            raise NotAllowed(policy.NOT_A_STARTER)
        with self._writing() as session:
            now = self.clock.now()
            top, pins = self.definitions.resolve_pins(session, process_key)
            spec, subprocess_specs = self.definitions.specs_for(session, top.key, pins)
            workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
            workflow.task_tree.data.update(copy.deepcopy(data))
            case = CaseRecord(number=self._next_number(session, now), process_key=top.key,
                              definition_id=top.id, pins=pins, status=CASE_RUNNING,
                              title=title or default_title(top, data), created_at=now,
                              updated_at=now, created_by=actor.username, event_count=0)
            session.add(case)
            session.flush()
            audit.append_event(session, case, kind=audit.CASE_STARTED, actor=actor.username,
                               at=now, definition_hash=top.content_hash,
                               payload={"process": top.key, "version": top.version,
                                        "number": case.number, "pins": pins, "data": data})
            open_tasks = self.step.advance(session, case, workflow, actor, now, new=True)
            if self.clocks is not None and not has_acceptance_step(spec):
                # No separate acceptance in the diagram: receipt is acceptance.
                self.clocks.start(session, case, accepted_at=now, noticed=False,
                                  actor=actor.username)
            if first_step is not None:
                row = next((r for r in open_tasks if r.task_spec == first_step.task_spec), None)
                if row is None:
                    raise Conflict(f"办件未进入「{first_step.task_spec}」环节，未能记录决定")
                session.flush()
                open_tasks = self._complete_row(session, case, workflow, row,
                                                first_step.data, actor, now)
            self.step.keep_after_commit(session, case, workflow)
            return self._view(session, case, tasks=open_tasks)

    def claim(self, task_id: str, actor: Actor) -> TaskView:
        with self._writing() as session:
            row, case = self._open_task(session, task_id, actor)
            if row.assignee == actor.username:
                return TaskView.of(row, case.number)
            if row.assignee is not None:
                raise Conflict(f"任务已由 {row.assignee} 认领")
            now = self.clock.now()
            row.assignee, row.claimed_at = actor.username, now
            touch(case, now)
            audit.append_event(session, case, kind=audit.TASK_CLAIMED, actor=actor.username,
                               at=now, definition_hash=row.definition_hash, task_id=row.id,
                               task_spec=row.task_spec)
            return TaskView.of(row, case.number)

    def unclaim(self, task_id: str, actor: Actor) -> TaskView:
        with self._writing() as session:
            row, case = self._open_task(session, task_id, actor)
            if row.assignee is None:
                return TaskView.of(row, case.number)
            if row.assignee != actor.username and not actor.is_admin:
                raise NotAllowed(f"任务由 {row.assignee} 认领，只有本人或管理员可以退回")
            now = self.clock.now()
            row.assignee, row.claimed_at = None, None
            touch(case, now)
            audit.append_event(session, case, kind=audit.TASK_UNCLAIMED, actor=actor.username,
                               at=now, definition_hash=row.definition_hash, task_id=row.id,
                               task_spec=row.task_spec)
            return TaskView.of(row, case.number)

    def assign(self, task_id: str, assignee: str, actor: Actor) -> TaskView:
        """A department lead (or an admin) hands an open task to a colleague of the
        task's department."""
        with self._writing() as session:
            row, case = self._open_task(session, task_id, actor)
            if not policy.leads(actor, row.lane):
                raise NotAllowed("只有本部门负责人可以改派任务")
            target = session.scalar(select(User).where(User.username == assignee,
                                                       User.active.is_(True)))
            if target is None or (row.lane and row.lane not in (target.groups or [])):
                raise NotAllowed(f"{assignee} 不是「{row.lane}」的工作人员")
            if not policy.may_work_on(_actor_of(target), row.lane, row.process_key):
                raise NotAllowed(f"审管分离：{assignee} 是监管人员，不能办理审批任务")
            now = self.clock.now()
            previous = row.assignee
            row.assignee, row.claimed_at = assignee, now
            touch(case, now)
            audit.append_event(session, case, kind=audit.TASK_ASSIGNED, actor=actor.username,
                               at=now, definition_hash=row.definition_hash, task_id=row.id,
                               task_spec=row.task_spec,
                               payload={"from": previous, "to": assignee})
            return TaskView.of(row, case.number)

    def complete(self, task_id: str, data: dict[str, Any], actor: Actor) -> CaseView:
        """Complete a ready user task with data that forms/ has already validated."""
        with self._writing() as session:
            return self.complete_in(session, task_id, actor, lambda _row, _current: data)

    def complete_in(self, session: Session, task_id: str, actor: Actor,
                    validated: Callable[[HumanTask, dict[str, Any]], dict[str, Any]]
                    ) -> CaseView:
        """Complete a ready user task inside the caller's write transaction (`writing()`).
        `validated(task row, data the task sees)` returns the cleaned input (or raises
        ValidationFailed); it is called once the task is known to be the actor's to do, on
        the one workflow this step loads."""
        row, case = self._open_task(session, task_id, actor)
        if row.assignee not in (None, actor.username):
            raise Conflict(f"任务已由 {row.assignee} 认领")
        workflow = self.step.load(session, case)
        task = workflow.get_task_from_id(UUID(row.id))
        if task is None or task.state != TaskState.READY:
            raise Conflict("任务已不在待办状态，请刷新")
        data = validated(row, copy.deepcopy(task.data))
        open_tasks = self._complete_row(session, case, workflow, row, data, actor,
                                        self.clock.now())
        return self._view(session, case, tasks=open_tasks)

    def _complete_row(self, session: Session, case: CaseRecord, workflow: BpmnWorkflow,
                      row: HumanTask, data: dict[str, Any], actor: Actor,
                      now: datetime) -> list[HumanTask]:
        """Complete the ready user task of `row` with `data` inside the caller's
        transaction, run the step, and return the case's open task rows."""
        task = workflow.get_task_from_id(UUID(row.id))
        if task is None or task.state != TaskState.READY:
            raise Conflict("任务已不在待办状态，请刷新")
        task.data.update(copy.deepcopy(data))
        audit.append_event(session, case, kind=audit.TASK_COMPLETED, actor=actor.username,
                           at=now, definition_hash=row.definition_hash, task_id=row.id,
                           task_spec=row.task_spec,
                           payload={"process": row.process_key, "data": data})
        with running_on(self.clock):
            task.run()
        row.state, row.completed_at, row.completed_by = TASK_COMPLETED, now, actor.username
        self.step.resume_if_pausing(session, case, row, task.task_spec, actor, now)
        open_tasks = self.step.advance(session, case, workflow, actor, now)
        self.step.start_clocks_if_accepted(session, case, row, task, actor, now)
        return open_tasks

    def amend_data(self, case_id: int, amend, actor: Actor, *, kind: str) -> CaseView:
        """Change case data outside any task (e.g. a 容缺 material supplied later), in one
        step: `amend(current data)` — called inside the transaction, so it sees the data as
        committed — returns an `Amendment` (or raises a OneThingError to refuse). Its values
        are written into every task of the workflow that carries them (the parallel branches
        each hold a copy, and whichever finishes last is what the join keeps), one audit
        event of `kind` records its payload, and when `complete` names a ready user task
        that task completes with `task_data` in the same step."""
        with self._writing() as session:
            case = self._case(session, case_id)
            if case.status not in (CASE_RUNNING, CASE_INCIDENT):
                raise Conflict("办件已结束，不能再变更")
            workflow = self.step.load(session, case)
            change = amend(self._data_of(workflow))
            now = self.clock.now()
            for task in workflow.get_tasks():
                if any(key in task.data for key in change.values):
                    task.data.update(copy.deepcopy(change.values))
            audit.append_event(session, case, kind=kind, actor=actor.username, at=now,
                               definition_hash=case.pins[case.process_key],
                               # "data": what was written, so a replay can write it again
                               payload={**change.payload, "data": change.values})
            ready = next((t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                          if change.complete and t.task_spec.bpmn_id == change.complete), None)
            row = session.get(HumanTask, str(ready.id)) if ready is not None else None
            if ready is not None and row is not None and row.state == TASK_OPEN:
                ready.data.update(copy.deepcopy(change.task_data))
                audit.append_event(session, case, kind=audit.TASK_COMPLETED,
                                   actor=actor.username, at=now,
                                   definition_hash=row.definition_hash, task_id=row.id,
                                   task_spec=row.task_spec,
                                   payload={"process": row.process_key, "data": change.task_data})
                with running_on(self.clock):
                    ready.run()
                row.state, row.completed_at, row.completed_by = TASK_COMPLETED, now, actor.username
            open_tasks = self.step.advance(session, case, workflow, actor, now)
            return self._view(session, case, tasks=open_tasks)

    @staticmethod
    def _data_of(workflow: BpmnWorkflow) -> dict[str, Any]:
        return copy.deepcopy(state.current_data(workflow))

    def cancel(self, case_id: int, actor: Actor, reason: str) -> CaseView:
        """撤销: an administrator, or a lead of a department that has or had a task in the
        case (engine.cases.policy); whoever may not read the case is told it does not exist."""
        with self._writing() as session:
            case = readable_case(session, case_id, actor)
            if not policy.may_cancel(actor, task_lanes(session, case.id)):
                raise NotAllowed("只有办件所涉部门的负责人或管理员可以撤销办件")
            if case.status in (CASE_COMPLETED, CASE_CANCELLED):
                raise Conflict("办件已结束，不能撤销")
            workflow = self.step.load(session, case)
            now = self.clock.now()
            workflow.cancel()
            case.status, case.ended_at = CASE_CANCELLED, now
            audit.append_event(session, case, kind=audit.CASE_CANCELLED, actor=actor.username,
                               at=now, definition_hash=case.pins[case.process_key],
                               payload={"reason": reason})
            open_tasks = self.step.sync_tasks(session, case, workflow, actor, now)
            self.step.sync_timers(session, case, workflow)
            self.step.save(session, case, workflow, now)
            return self._view(session, case, tasks=open_tasks)

    def fire_timer(self, timer_id: str) -> bool:
        """Fire one due timer exactly once, however many workers on however many hosts try
        at the same moment: the timer row is locked (SKIP LOCKED on PostgreSQL, the single
        writer on SQLite), must still be waiting, and the case step is version-guarded.
        False when another worker has it, it already fired, or it is not due yet."""
        with self._writing() as session:
            now = self.clock.now()
            query = select(Timer).where(Timer.id == timer_id, Timer.state == TIMER_WAITING,
                                        Timer.due_at <= now)
            if self.db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            timer = session.scalar(query)
            if timer is None:
                return False
            case = self._case(session, timer.case_id)
            workflow = self.step.load(session, case)
            task = workflow.get_task_from_id(UUID(timer.id))
            if task is None or task.state != TaskState.WAITING:
                timer.state = TIMER_CANCELLED
                return False
            timer.state = TIMER_FIRED
            task._set_internal_data(event_fired=True)
            audit.append_event(session, case, kind=audit.TIMER_FIRED, actor="system", at=now,
                               definition_hash=hash_for(case, definition_key(case, task)),
                               task_id=timer.id, task_spec=timer.task_spec,
                               payload={"due_at": timer.due_at})
            with running_on(self.clock):
                workflow.refresh_timers()
            self.step.advance(session, case, workflow, SYSTEM, now)
            return True

    def extend_clock(self, task_id: str, amount: int, reason: str, actor: Actor) -> None:
        """延期: a department lead extends the limit of the task's item, with a reason."""
        if self.clocks is None:
            raise NotFound("未启用时限")
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= 60:
            raise ValidationFailed("延期天数须为 1 到 60 之间的整数", {"amount": "1–60"})
        if not reason or not reason.strip():
            raise ValidationFailed("延期须写明理由", {"reason": "必填"})
        with self._writing() as session:
            row, case = self._open_task(session, task_id, actor)
            if not policy.leads(actor, row.lane):
                raise NotAllowed("只有本部门负责人可以批准延期")
            now = self.clock.now()
            self.clocks.extend(session, case, self._clock_scope(session, case, row),
                               amount=amount, reason=reason.strip()[:500], at=now,
                               actor=actor.username)
            touch(case, now)

    def special_procedure(self, task_id: str, procedure: str | None, actor: Actor) -> None:
        """特别程序 (hearing, testing, expert review …) stops the item's clock until it ends;
        `procedure` None ends it."""
        if self.clocks is None:
            raise NotFound("未启用时限")
        if procedure is not None and procedure not in SPECIAL_PROCEDURES:
            raise ValidationFailed("未知的特别程序", {"procedure": "、".join(SPECIAL_PROCEDURES)})
        with self._writing() as session:
            row, case = self._open_task(session, task_id, actor)
            now = self.clock.now()
            scope = self._clock_scope(session, case, row)
            if procedure is None:
                self.clocks.resume(session, case, scope, at=now, actor=actor.username)
            else:
                self.clocks.pause(session, case, scope, at=now, reason=procedure,
                                  actor=actor.username)
            touch(case, now)

    @staticmethod
    def _clock_scope(session, case: CaseRecord, row: HumanTask) -> str:
        has_own = session.scalar(select(CaseClock.id).where(
            CaseClock.case_id == case.id, CaseClock.scope == row.process_key))
        return row.process_key if has_own else case.process_key

    def retry_incident(self, incident_id: int, actor: Actor) -> CaseView:
        """Run a failed step again (after the definition or the data was put right)."""
        with self._writing() as session:
            incident = session.get(Incident, incident_id)
            if incident is None or incident.resolved_at is not None:
                raise NotFound("故障不存在或已处理")
            case = self._case(session, incident.case_id)
            workflow = self.step.load(session, case)
            now = self.clock.now()
            for task in workflow.get_tasks(state=TaskState.ERROR):
                task._set_state(TaskState.READY)
            incident.resolved_at, incident.resolved_by = now, actor.username
            case.status = CASE_RUNNING
            audit.append_event(session, case, kind=audit.INCIDENT_RETRIED, actor=actor.username,
                               at=now, definition_hash=case.pins[case.process_key],
                               task_id=incident.task_id, task_spec=incident.task_spec,
                               payload={"incident": incident.id})
            open_tasks = self.step.advance(session, case, workflow, actor, now)
            return self._view(session, case, tasks=open_tasks)

    # -- queries ----------------------------------------------------------------------

    def get_case(self, case_id: int, actor: Actor, *, with_data: bool = False) -> CaseView:
        """The case, for whoever may read it (engine.cases.policy); its data with personal
        numbers masked for readers who do not need them. Anyone else: NotFound."""
        with self.db.reading() as session:
            case = readable_case(session, case_id, actor)
            data = self._current_data(session, case) if with_data else None
            if data is not None:
                data = policy.shown_to(actor, data)
            return self._view(session, case, data)

    def events(self, case_id: int, actor: Actor) -> list[CaseEvent]:
        """The audit events of a case, in order, for whoever may read it (else NotFound).
        Readers who do not need personal numbers get detached copies with them masked
        (their hashes then no longer match the payload: auditors see the record as is)."""
        with self.db.reading() as session:
            readable_case(session, case_id, actor)
            events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                          .order_by(CaseEvent.seq)))
            if policy.sees_personal_data(actor):
                return events
            return [_masked(event) for event in events]

    def task_data(self, task_id: str) -> dict[str, Any]:
        """The data a ready task sees (to prefill its form); empty once it is finished."""
        with self.db.reading() as session:
            return self.task_data_in(session, task_id)

    def task_data_in(self, session: Session, task_id: str) -> dict[str, Any]:
        """`task_data` inside the caller's session."""
        row = session.get(HumanTask, ids.task_id(task_id))
        if row is None or row.state != TASK_OPEN:
            return {}
        case = self._case(session, row.case_id)
        task = self.step.load(session, case, for_step=False).get_task_from_id(UUID(task_id))
        return copy.deepcopy(task.data) if task is not None else {}

    # -- helpers ----------------------------------------------------------------------

    def writing(self) -> ConflictGuard:
        """A write transaction for one step (lost races surface as Conflict)."""
        return ConflictGuard(self.db, self.clock)

    _writing = writing

    @staticmethod
    def _case(session: Session, case_id: int) -> CaseRecord:
        case = session.get(CaseRecord, ids.case_id(case_id))
        if case is None:
            raise NotFound(f"办件 {case_id} 不存在")
        return case

    def open_task_in(self, session: Session, task_id: str, actor: Actor) -> TaskView:
        """The open task `actor` may work on, refused exactly as completing it would be
        (NotFound, NotAllowed, Conflict): for a page that reads a submission first."""
        row, case = self._open_task(session, task_id, actor)
        return TaskView.of(row, case.number)

    def _open_task(self, session, task_id: str, actor: Actor) -> tuple[HumanTask, CaseRecord]:
        task_id = ids.task_id(task_id)
        case_id = session.scalar(select(HumanTask.case_id).where(HumanTask.id == task_id))
        if case_id is None:
            raise NotFound(f"任务 {task_id[:64]} 不存在")
        # The case row (and its version) is read BEFORE the task row: anything read after
        # it is at least as new, and anything newer than it was written by a step that
        # bumped the version, so our versioned UPDATE fails instead of overwriting it.
        case = self._case(session, case_id)
        row = session.get(HumanTask, task_id)
        policy.check_work_on(actor, row.lane, row.process_key)
        if row.state != TASK_OPEN:
            raise Conflict(TASK_FINISHED)
        return row, case

    def _next_number(self, session: Session, now: datetime) -> str:
        """办件编号: region code, acceptance date, per-day serial — e.g. 371500-20261120-00042."""
        day = now.astimezone(SHANGHAI).strftime("%Y%m%d")
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        session.execute(insert(CaseNumberCounter).values(day=day, last=0)
                        .on_conflict_do_nothing(index_elements=["day"]))
        serial = session.execute(update(CaseNumberCounter).where(CaseNumberCounter.day == day)
                                 .values(last=CaseNumberCounter.last + 1)
                                 .returning(CaseNumberCounter.last)).scalar_one()
        return f"{self.region_code}-{day}-{serial:05d}"

    def _current_data(self, session, case) -> dict[str, Any]:
        return state.current_data(self.step.load(session, case, for_step=False))

    def _view(self, session, case: CaseRecord, data=None, *,
              tasks: list[HumanTask] | None = None) -> CaseView:
        version = self.definitions.version_of(session, case.definition_id)
        if tasks is None:
            tasks = list(session.scalars(select(HumanTask).where(
                HumanTask.case_id == case.id, HumanTask.state == TASK_OPEN)))
        tasks = sorted(tasks, key=lambda r: (r.created_at, r.id))
        incidents = []
        if case.status == CASE_INCIDENT:
            incidents = [IncidentView.of(i) for i in session.scalars(
                select(Incident).where(Incident.case_id == case.id,
                                       Incident.resolved_at.is_(None)))]
        return CaseView.of(case, version, [TaskView.of(r, case.number) for r in tasks],
                           incidents, data)


@dataclass(frozen=True)
class FirstStep:
    """The user task a case's start completes at once (`task_spec`, the front desk's
    acceptance step) and the data it is completed with."""

    task_spec: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Amendment:
    """What `CaseService.amend_data` writes: new `values` for case data, the audit
    `payload`, and optionally a ready user task (`complete`, its spec id) to finish with
    `task_data`."""

    values: dict[str, Any]
    payload: dict[str, Any]
    complete: str | None = None
    task_data: dict[str, Any] = field(default_factory=dict)


def readable_case(session: Session, case_id: int, actor: Actor) -> CaseRecord:
    """The case if `actor` may read it (engine.cases.policy); else the same NotFound as
    for a case that does not exist."""
    case = CaseService._case(session, case_id)
    if not policy.may_read_case(actor, filed_by=case.created_by,
                                task_lanes=task_lanes(session, case.id)):
        raise policy.case_not_found(case_id)
    return case


def task_lanes(session: Session, case_id: int) -> set[str]:
    """The departments and windows that have or had a task in the case."""
    return set(session.scalars(select(HumanTask.lane).where(
        HumanTask.case_id == case_id, HumanTask.lane.is_not(None)).distinct()))


def _actor_of(user: User) -> Actor:
    return Actor(user.username, frozenset(user.roles or ()), frozenset(user.groups or ()))


def _masked(event: CaseEvent) -> CaseEvent:
    """A detached copy of `event` with personal numbers in its payload masked."""
    from engine.cases import canonical

    payload = policy.mask_personal_data(canonical.loads(event.payload))
    return CaseEvent(id=event.id, case_id=event.case_id, seq=event.seq, kind=event.kind,
                     actor=event.actor, at=event.at, task_id=event.task_id,
                     task_spec=event.task_spec, definition_hash=event.definition_hash,
                     payload=canonical.dumps(payload), prev_hash=event.prev_hash,
                     hash=event.hash)
