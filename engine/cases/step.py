"""What one step of a case writes.

A step runs the workflow's engine steps and then, in the same transaction, makes the
database agree with the workflow: open task rows equal the ready user tasks, waiting
timer rows equal the waiting timer events, a failed step becomes an incident, a finished
workflow completes the case, the statutory clocks are paused, resumed, started and
stopped as the diagram says, and the engine state is saved. The workflow is loaded from
this process's cache when a step of ours left it at the case's current version.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.cases import eventlog as audit, state
from engine.cases.helpers import (definition_key, hash_for, incident_message, recordable, spec_of,
    timer_due, touch)
from engine.worktime.clock import Clock
from engine.cases.clocks import PAUSES_CLOCK, STARTS_CLOCK, Clocks
from engine.definitions.service import Definitions
from engine.errors import ExpressionError
from engine.worktime.spiffclock import running_on
from engine.store.models import (CASE_CANCELLED, CASE_COMPLETED, CASE_INCIDENT, CASE_RUNNING,
    TASK_CANCELLED, TASK_OPEN, TIMER_CANCELLED, TIMER_WAITING, CaseClock, CaseEvent, CaseRecord,
    CaseState, HumanTask, Incident, Timer)
from engine.cases.transactions import on_commit
from engine.cases.dto import Actor
from engine.cases.workflow_cache import WorkflowCache


@dataclass
class StepContext:
    """What a step hook sees: the open write transaction, the case row and its workflow
    right after the engine ran (before finished history is pruned, so every task that
    finished in this step is still there), who acted and when."""

    session: Session
    case: CaseRecord
    workflow: BpmnWorkflow
    actor: Actor
    now: datetime

    @property
    def completed(self) -> bool:
        return self.workflow.is_completed()


StepHook = Callable[[StepContext], None]


class CaseStep:
    """Loading a case's workflow and writing back everything a step changed. Every
    method runs inside the caller's write transaction; none commits.

    Step hooks let other concerns (supervision push, credit flags, rating invitations)
    react to what a step did in the same transaction, so their rows commit or roll back
    with the step. A hook must be idempotent (it may see a finished task again in a later
    step until history is pruned), quick, and must not open a transaction of its own."""

    def __init__(self, definitions: Definitions, clock: Clock, clocks: Clocks | None,
                 script_engine, workflows: WorkflowCache):
        self.definitions = definitions
        self.clock = clock
        self.clocks = clocks
        self.script_engine = script_engine
        self.workflows = workflows
        self.hooks: list[StepHook] = []

    # -- loading ----------------------------------------------------------------------

    def load(self, session: Session, case: CaseRecord, *, for_step: bool = True) -> BpmnWorkflow:
        """The case's workflow: from this process's cache when a step of ours left it at
        the case's current version, else rebuilt from the database. A step's workflow is
        kept again once the step commits."""
        if for_step:
            cached = self.workflows.take(case.id, case.version)
            if cached is None:
                cached = self.load(session, case, for_step=False)
            self.keep_after_commit(session, case, cached)
            return cached
        spec, subprocess_specs = self.definitions.specs_for(session, case.process_key, case.pins)
        text = session.scalar(select(CaseState.workflow).where(CaseState.case_id == case.id))
        with running_on(self.clock):
            return state.load(text, spec, subprocess_specs, self.script_engine)

    def keep_after_commit(self, session: Session, case: CaseRecord,
                          workflow: BpmnWorkflow) -> None:
        """Cache `workflow` at the case's committed version, once (and only if) the
        transaction commits."""
        on_commit(session, lambda: self.workflows.keep(case.id, case.version, workflow))

    # -- the step ---------------------------------------------------------------------

    def advance(self, session: Session, case: CaseRecord, workflow: BpmnWorkflow,
                actor: Actor, now: datetime, *, new: bool = False) -> list[HumanTask]:
        """Run engine steps, then write everything the step changed; returns the open
        task rows of the case."""
        try:
            with running_on(self.clock):
                workflow.do_engine_steps()
        except SpiffWorkflowException as exc:
            self.raise_incident(session, case, workflow, exc, now)
        if self.hooks and case.status != CASE_INCIDENT:
            context = StepContext(session, case, workflow, actor, now)
            for hook in self.hooks:
                hook(context)
        state.prune(workflow)
        open_tasks = self.sync_tasks(session, case, workflow, actor, now)
        self.sync_timers(session, case, workflow)
        if workflow.is_completed() and case.status == CASE_RUNNING:
            case.status, case.ended_at = CASE_COMPLETED, now
            audit.append_event(session, case, kind=audit.CASE_COMPLETED, actor=actor.username,
                               at=now, definition_hash=case.pins[case.process_key],
                               payload={"data": recordable(workflow.data)})
        if self.clocks is not None:
            self.stop_finished_clocks(session, case, open_tasks, now)
        self.save(session, case, workflow, now, new=new)
        return open_tasks

    def sync_tasks(self, session, case, workflow, actor, now) -> list[HumanTask]:
        """Make the open task rows of the case equal the ready user tasks of the workflow;
        returns them."""
        ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        open_rows = {r.id: r for r in session.scalars(select(HumanTask).where(
            HumanTask.case_id == case.id, HumanTask.state == TASK_OPEN))}
        for task_id, row in open_rows.items():
            if task_id not in ready:
                row.state = TASK_CANCELLED
                self.resume_if_pausing(session, case, row,
                                       spec_of(workflow, row.process_key, row.task_spec),
                                       actor, now)
                audit.append_event(session, case, kind=audit.TASK_CANCELLED, actor=actor.username,
                                   at=now, definition_hash=row.definition_hash, task_id=row.id,
                                   task_spec=row.task_spec)
        for task_id, task in ready.items():
            if task_id in open_rows:
                continue
            spec = task.task_spec
            process_key = definition_key(case, task)
            form = getattr(spec, "form", None)
            row = HumanTask(id=task_id, case_id=case.id, process_key=process_key,
                            task_spec=spec.bpmn_id, name=spec.bpmn_name or spec.bpmn_id,
                            lane=bound_lane(spec.lane, task.data),
                            form_key=getattr(form, "key", None),
                            definition_hash=hash_for(case, process_key), state=TASK_OPEN,
                            created_at=now, due_at=bound_due(spec, task.data))
            session.add(row)
            reason = (spec.extensions or {}).get(PAUSES_CLOCK) if self.clocks else None
            if reason:
                self.clocks.pause(session, case, process_key, at=now, reason=reason,
                                  actor=actor.username)
            audit.append_event(session, case, kind=audit.TASK_CREATED, actor=actor.username,
                               at=now, definition_hash=row.definition_hash, task_id=task_id,
                               task_spec=row.task_spec,
                               payload={"process": process_key, "name": row.name,
                                        "lane": row.lane})
            open_rows[task_id] = row
        return [row for row in open_rows.values() if row.state == TASK_OPEN]

    def sync_timers(self, session, case, workflow) -> None:
        """Make the waiting timer rows of the case equal the waiting timer events of the
        workflow (with their due times)."""
        if not self.definitions.has_timers(case.pins, workflow.spec, workflow.subprocess_specs):
            return
        waiting = {}
        for task in workflow.get_tasks(state=TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            due = timer_due(task._get_internal_data("event_value"))
            if isinstance(definition, TimerEventDefinition) and due is not None:
                waiting[str(task.id)] = (task, due)
        rows = {r.id: r for r in session.scalars(select(Timer).where(
            Timer.case_id == case.id, Timer.state == TIMER_WAITING))}
        for timer_id, row in rows.items():
            if timer_id not in waiting:
                row.state = TIMER_CANCELLED
        for timer_id, (task, due) in waiting.items():
            if timer_id not in rows:
                session.add(Timer(id=timer_id, case_id=case.id, task_spec=task.task_spec.bpmn_id,
                                  due_at=due, state=TIMER_WAITING, attempts=0))

    def save(self, session, case, workflow, now, *, new: bool = False) -> None:
        """Write the workflow's engine state and mark the case changed."""
        text = state.dump(workflow)
        if new:
            session.add(CaseState(case_id=case.id, workflow=text, size=len(text)))
        else:
            # A bulk UPDATE: the old (large) state is never read back just to replace it.
            session.execute(update(CaseState).where(CaseState.case_id == case.id)
                            .values(workflow=text, size=len(text)))
        touch(case, now)

    def raise_incident(self, session, case, workflow, exc, now) -> None:
        """Record a failed engine step as an open incident; the case waits for a retry."""
        failed = workflow.get_tasks(state=TaskState.ERROR)
        task = failed[0] if failed else getattr(exc, "task", None)
        message = incident_message(exc, task)
        incident = Incident(case_id=case.id, task_id=str(task.id) if task else None,
                            task_spec=task.task_spec.bpmn_id if task else None,
                            message=message, created_at=now)
        session.add(incident)
        session.flush()
        case.status = CASE_INCIDENT
        audit.append_event(session, case, kind=audit.INCIDENT_RAISED, actor="system", at=now,
                           definition_hash=hash_for(
                               case, definition_key(case, task) if task else case.process_key),
                           task_id=incident.task_id, task_spec=incident.task_spec,
                           payload={"incident": incident.id, "message": message})

    # -- clocks ------------------------------------------------------------------------

    def start_clocks_if_accepted(self, session, case, row, task, actor, now) -> None:
        """Start the statutory clocks when the completed task is the acceptance step and
        its condition holds (an earlier completion of it means 补正 was noticed)."""
        condition = (task.task_spec.extensions or {}).get(STARTS_CLOCK)
        if self.clocks is None or not condition:
            return
        try:
            accepted = bool(self.script_engine.sandbox.evaluate(condition, task.data))
        except ExpressionError:
            accepted = False
        if not accepted:
            return
        earlier = session.scalar(select(func.min(CaseEvent.at)).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == audit.TASK_COMPLETED,
            CaseEvent.task_spec == row.task_spec, CaseEvent.at < now))
        self.clocks.start(session, case, accepted_at=now, noticed=earlier is not None,
                          actor=actor.username)

    def resume_if_pausing(self, session, case, row, spec, actor, now) -> None:
        """A task that paused its item's clock has ended: the clock runs again."""
        if self.clocks is not None and spec is not None and (spec.extensions or {}).get(
                PAUSES_CLOCK):
            self.clocks.resume(session, case, row.process_key, at=now, actor=actor.username)

    def stop_finished_clocks(self, session, case, open_tasks, now) -> None:
        """Stop the clocks of a finished case, and of items with no open task left."""
        if case.status in (CASE_COMPLETED, CASE_CANCELLED):
            self.clocks.stop(session, case.id, None, now)
            return
        busy = {row.process_key for row in open_tasks} | {case.process_key}
        finished = [scope for scope in session.scalars(select(CaseClock.scope).where(
            CaseClock.case_id == case.id, CaseClock.stopped_at.is_(None))) if scope not in busy]
        if finished:
            self.clocks.stop(session, case.id, finished, now)


def bound_lane(lane: str | None, data: dict) -> str | None:
    """The department a task is routed to. A diagram may name a role lane (e.g. 责任部门)
    that each case binds to a real department through its data `lane_departments`
    ({lane name: department}); any other lane is a department itself."""
    bindings = data.get("lane_departments")
    if lane and isinstance(bindings, dict) and isinstance(bindings.get(lane), str):
        return bindings[lane][:200] or lane
    return lane


DUE_FROM = "due_from"


def bound_due(spec, data: dict):
    """A task's due time when the diagram names where it is in the case data: the user-task
    property `due_from` = a data key holding an ISO time (e.g. `sign_due`, computed by the
    same expression as the task's boundary timer). Tasks of catalogue items get theirs
    from the statutory clock instead (Clocks.stamp_tasks)."""
    key = (getattr(spec, "extensions", None) or {}).get(DUE_FROM)
    return timer_due(data.get(key)) if key else None
