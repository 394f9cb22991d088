"""Re-running one case in memory from its audit log (the machinery behind engine.audit.replay).

The case service turns each command into one step: an input event (case_started,
task_completed, timer_fired, case_cancelled, incident_retried) followed, at the same
moment, by the effects the engine produced (task_created, task_cancelled,
case_completed, incident_raised). `Replayer` builds a fresh workflow from the case's
pinned specs and, event by event, feeds each input to it exactly as the service did --
on a clock frozen at the event's recorded time, with a sandbox bound to that clock --
and checks each recorded effect against what the engine did. Recorded task ids are
mapped to the replay's own tasks as they are created (SpiffWorkflow's ids are random),
so a completion is accepted only for a task the replay has open at that point.

Events that do not drive the workflow (claims, assignments, statutory clock changes,
ratings …) are read past. Nothing is written to the database.
"""
from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.cases import eventlog as audit, canonical, state
from engine.audit import reexecution_changes as changes
from engine.cases.helpers import recordable, timer_due
from engine.audit.datadiff import first_difference, value_at
from engine.audit.deviation import (DATA_DIFFERS, ENDING_DIFFERS, ENGINE_FAILED, NOT_ENABLED,
                                    TASKS_DIFFER, Deviated)
from engine.worktime.clock import FrozenClock
from engine.sandbox import script_engine
from engine.sandbox.clockbound import clock_bound_sandbox
from engine.worktime.spiffclock import running_on
from engine.store.models import CaseEvent, CaseRecord, ProcessDefinition

INPUTS = (audit.CASE_STARTED, audit.TASK_COMPLETED, audit.TIMER_FIRED, audit.CASE_CANCELLED,
          audit.INCIDENT_RETRIED, audit.CASE_MIGRATED, audit.MIGRATION_REVERTED,
          audit.MATERIAL_SUPPLIED)
EFFECTS = (audit.TASK_CREATED, audit.TASK_CANCELLED, audit.CASE_COMPLETED,
           audit.INCIDENT_RAISED)


@dataclass
class Progress:
    """What the replay has seen so far, per process key: elements that completed."""

    completed: dict[str, set[str]] = field(default_factory=dict)


class Replayer:
    """One case re-run from its log. Call `run(until=None, on_event=None)`; it raises
    Deviated at the first difference, else returns normally. `on_event(event)` is
    called after each event is applied (the workflow then reflects that event's step)."""

    def __init__(self, runtime, session: Session, case: CaseRecord,
                 events: list[CaseEvent] | None = None):
        self.runtime, self.session, self.case = runtime, session, case
        self.events = events if events is not None else list(session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)))
        self.clock = FrozenClock(case.created_at)
        self.pins: dict[str, str] = dict(case.pins or {})  # as of the replayed point
        self.workflow: BpmnWorkflow | None = None
        self.open: dict[str, Any] = {}       # recorded task id -> replay task id (UUID)
        self.engine = None                   # the script engine on the frozen clock
        self.migrations: list[tuple[dict[str, str], str]] = []  # (pins, state) before each
        self.status = "running"
        self.recorded: dict[str, Any] = {}   # every input's data so far, latest wins
        self.progress = Progress()
        self._pending: list[CaseEvent] = []  # recorded effects of this step not yet matched
        self._matched: set[int] = set()      # seqs of recorded effects already matched

    # -- driving ------------------------------------------------------------------------

    def run(self, until: int | None = None,
            on_event: Callable[[CaseEvent], None] | None = None) -> None:
        events = [e for e in self.events if until is None or e.seq <= until]
        index = 0
        while index < len(events):
            event = events[index]
            if index == 0 and event.kind != audit.CASE_STARTED:
                raise Deviated(event.seq, NOT_ENABLED,
                               f"事件 #{event.seq} 应为受理（case_started），实为 {event.kind}")
            if event.kind in INPUTS:
                # The step's recorded effects: the events right after it at the same moment.
                end = index + 1
                while end < len(self.events) and self.events[end].kind not in INPUTS \
                        and self.events[end].at == event.at:
                    end += 1
                effects = [e for e in self.events[index + 1:end] if e.kind in EFFECTS]
                try:
                    with running_on(self.clock):  # the event's recorded time
                        self._input(event, effects)
                except Deviated:
                    raise
                except Exception as exc:  # noqa: BLE001 - any engine failure is a finding
                    raise Deviated(event.seq, ENGINE_FAILED,
                                   f"事件 #{event.seq}（{event.kind}）重新执行失败："
                                   f"{str(exc)[:300] or exc.__class__.__name__}") from None
            elif event.kind in EFFECTS and event.seq not in self._matched:
                raise Deviated(event.seq, TASKS_DIFFER,
                               f"事件 #{event.seq}（{event.kind}）不属于任何一步的结果")
            if on_event is not None:
                on_event(event)
            index += 1

    def finish(self) -> None:
        """After the whole log: a case the record leaves running must still be running."""
        if self.status == "running" and self.workflow is not None \
                and self.workflow.is_completed():
            last = self.events[-1].seq if self.events else 0
            raise Deviated(last, ENDING_DIFFERS, "重新执行后办件已办结，记录中尚未办结",
                           expected="running", actual="completed")

    def _take(self, record: CaseEvent) -> None:
        self._pending.remove(record)
        self._matched.add(record.seq)

    # -- inputs -------------------------------------------------------------------------

    def _input(self, event: CaseEvent, effects: list[CaseEvent]) -> None:
        self.clock.set(event.at)
        payload = canonical.loads(event.payload)
        self._pending = list(effects)
        if self.workflow is None and event.kind != audit.CASE_STARTED:
            raise Deviated(event.seq, NOT_ENABLED, f"事件 #{event.seq}：办件尚未受理")
        if self.status in ("completed", "cancelled"):
            raise Deviated(event.seq, ENDING_DIFFERS,
                           f"事件 #{event.seq}（{event.kind}）发生在办件结束之后",
                           expected=self.status, actual=event.kind)
        if event.kind == audit.CASE_STARTED:
            self._start(event, payload)
        elif event.kind == audit.TASK_COMPLETED:
            self._complete(event, payload)
        elif event.kind == audit.TIMER_FIRED:
            self._fire(event, payload)
        elif event.kind == audit.CASE_CANCELLED:
            self._cancel(event)
            return
        elif event.kind == audit.MATERIAL_SUPPLIED:
            changes.amend(self, event, payload)
            if changes.completes_in_same_step(self.events, event):
                return  # the completion that follows steps the engine, with the effects
        elif event.kind == audit.CASE_MIGRATED:
            changes.migrate(self, event, payload)
        elif event.kind == audit.MIGRATION_REVERTED:
            changes.revert(self, event, payload)
            self._match_tasks(event)  # a revert re-syncs the task rows, runs no engine step
            return
        elif event.kind == audit.INCIDENT_RETRIED:
            if self.status != "incident":
                raise Deviated(event.seq, NOT_ENABLED, "重试时办件并无故障")
            for task in self.workflow.get_tasks(state=TaskState.ERROR):
                task._set_state(TaskState.READY)
            self.status = "running"
        self._step(event)

    def _start(self, event: CaseEvent, payload: dict[str, Any]) -> None:
        if isinstance(payload.get("pins"), dict):
            self.pins = dict(payload["pins"])  # the case may have been migrated since
        spec, subprocess_specs = changes.specs(self, event, self.pins)
        self.engine = script_engine(clock_bound_sandbox(self.clock,
                                                        self.runtime.clocks.calendars))
        with running_on(self.clock):
            self.workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.engine)
        self.workflow.task_tree.data.update(copy.deepcopy(payload.get("data") or {}))
        self.recorded.update(payload.get("data") or {})

    def _task(self, recorded_id: str | None):
        task_id = self.open.get(recorded_id)
        return self.workflow.get_task_from_id(task_id) if task_id is not None else None

    def _complete(self, event: CaseEvent, payload: dict[str, Any]) -> None:
        task = self._task(event.task_id)
        if task is None or task.state != TaskState.READY:
            raise Deviated(event.seq, NOT_ENABLED,
                           f"事件 #{event.seq}：任务「{event.task_spec}」此时未处于待办状态，"
                           "却被记录为已办理", expected="ready", actual="not enabled")
        if task.task_spec.bpmn_id != event.task_spec:
            raise Deviated(event.seq, NOT_ENABLED,
                           f"事件 #{event.seq}：记录的任务 {event.task_spec} 与待办任务 "
                           f"{task.task_spec.bpmn_id} 不符")
        task.data.update(copy.deepcopy(payload.get("data") or {}))
        self.recorded.update(payload.get("data") or {})
        del self.open[event.task_id]
        with running_on(self.clock):
            task.run()

    def _fire(self, event: CaseEvent, payload: dict[str, Any]) -> None:
        candidates = [t for t in self.workflow.get_tasks(state=TaskState.WAITING)
                      if t.task_spec.bpmn_id == event.task_spec and isinstance(
                          getattr(t.task_spec, "event_definition", None),
                          TimerEventDefinition)]
        if not candidates:
            raise Deviated(event.seq, NOT_ENABLED,
                           f"事件 #{event.seq}：定时事件「{event.task_spec}」此时未在等待，"
                           "却被记录为已触发")
        task = candidates[0]
        recorded, due = payload.get("due_at"), timer_due(
            task._get_internal_data("event_value"))
        if recorded is not None and due is not None and recorded != due:
            raise Deviated(event.seq, DATA_DIFFERS,
                           f"事件 #{event.seq}：定时事件「{event.task_spec}」的到期时间不符",
                           expected=str(recorded), actual=str(due))
        task._set_internal_data(event_fired=True)
        with running_on(self.clock):
            self.workflow.refresh_timers()

    def _cancel(self, event: CaseEvent) -> None:
        self.workflow.cancel()
        self.status = "cancelled"
        expected = {e.task_id for e in self._pending if e.kind == audit.TASK_CANCELLED}
        if expected != set(self.open):
            raise Deviated(event.seq, TASKS_DIFFER, f"事件 #{event.seq}：撤销时取消的任务与记录不符",
                           expected=sorted(self._names(expected)),
                           actual=sorted(self._names(self.open)))
        for record in [e for e in self._pending if e.kind == audit.TASK_CANCELLED]:
            self._take(record)
        self.open.clear()

    # -- the step and its effects --------------------------------------------------------

    def _step(self, event: CaseEvent) -> None:
        failed = None
        try:
            with running_on(self.clock):
                self.workflow.do_engine_steps()
        except SpiffWorkflowException as exc:
            failed = exc
        self._collect_completed()
        state.prune(self.workflow)
        raised = [e for e in self._pending if e.kind == audit.INCIDENT_RAISED]
        if failed is not None and not raised:
            raise Deviated(event.seq, ENGINE_FAILED,
                           f"事件 #{event.seq} 之后重新执行失败：{str(failed)[:300]}",
                           expected="ok", actual=str(failed)[:300])
        if failed is None and raised:
            raise Deviated(raised[0].seq, ENGINE_FAILED,
                           f"事件 #{raised[0].seq} 记录了故障，重新执行却未出错",
                           expected="incident", actual="ok")
        if failed is not None:
            self.status = "incident"
        self._match_tasks(event)
        self._match_ending(event)

    def _match_tasks(self, event: CaseEvent) -> None:
        ready = [t for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)]
        ready_ids = {t.id for t in ready}
        mapped_ids = set(self.open.values())
        cancelled = {rid for rid, tid in self.open.items() if tid not in ready_ids}
        recorded_cancelled = {e.task_id for e in self._pending if e.kind == audit.TASK_CANCELLED}
        if cancelled != recorded_cancelled:
            seq = min([e.seq for e in self._pending if e.kind == audit.TASK_CANCELLED
                       and e.task_id not in cancelled] or [event.seq])
            raise Deviated(seq, TASKS_DIFFER, f"事件 #{seq}：这一步取消的任务与记录不符",
                           expected=sorted(self._names(recorded_cancelled)),
                           actual=sorted(self._names(cancelled)))
        for rid in cancelled:
            del self.open[rid]
        new = [t for t in ready if t.id not in mapped_ids]
        created = [e for e in self._pending if e.kind == audit.TASK_CREATED]
        unmatched = list(new)
        for record in created:
            process = canonical.loads(record.payload).get("process")
            match = next((t for t in unmatched if t.task_spec.bpmn_id == record.task_spec
                          and (process is None or self.process_of(t) == process)), None)
            if match is None:
                raise Deviated(record.seq, TASKS_DIFFER,
                               f"事件 #{record.seq}：记录中开启了任务「{record.task_spec}」，"
                               "重新执行时此处并无该任务",
                               expected=sorted(e.task_spec for e in created),
                               actual=sorted(t.task_spec.bpmn_id for t in new))
            unmatched.remove(match)
            self.open[record.task_id] = match.id
        if unmatched:
            raise Deviated(event.seq, TASKS_DIFFER,
                           f"事件 #{event.seq} 之后重新执行开启了记录中没有的任务："
                           + "、".join(sorted(t.task_spec.bpmn_id for t in unmatched)),
                           expected=sorted(e.task_spec for e in created),
                           actual=sorted(t.task_spec.bpmn_id for t in new))
        for record in created + [e for e in self._pending if e.kind == audit.TASK_CANCELLED]:
            self._take(record)

    def _match_ending(self, event: CaseEvent) -> None:
        ended = [e for e in self._pending if e.kind == audit.CASE_COMPLETED]
        done = self.workflow.is_completed() and self.status == "running"
        if done and not ended:
            raise Deviated(event.seq, ENDING_DIFFERS,
                           f"事件 #{event.seq} 之后重新执行已办结，记录中未办结",
                           expected="running", actual="completed")
        if ended and not done:
            raise Deviated(ended[0].seq, ENDING_DIFFERS,
                           f"事件 #{ended[0].seq} 记录办结，重新执行时办件尚未办结",
                           expected="completed", actual=self.status)
        if done:
            self.status = "completed"
            recorded = canonical.encode(canonical.loads(ended[0].payload).get("data") or {})
            actual = canonical.encode(recordable(self.workflow.data))
            where = first_difference(recorded, actual)
            if where is not None:
                raise Deviated(ended[0].seq, DATA_DIFFERS,
                               f"事件 #{ended[0].seq}：办结数据「{where}」与重新执行的结果不符",
                               expected=value_at(recorded, where),
                               actual=value_at(actual, where))
            self._take(ended[0])
        for record in [e for e in self._pending if e.kind == audit.INCIDENT_RAISED]:
            self._take(record)

    # -- reading the replay ----------------------------------------------------------------

    def process_of(self, task) -> str:
        """The deployed process whose diagram holds `task` (see casehelpers.definition_key)."""
        workflow = task.workflow
        while workflow is not None and workflow.spec.name not in self.pins:
            workflow = workflow.parent_workflow
        return workflow.spec.name if workflow is not None else self.case.process_key

    def definition_rows(self) -> dict[str, ProcessDefinition]:
        """The deployed rows of the pins as of the replayed point (cached per pins)."""
        key = tuple(sorted(self.pins.items()))
        if getattr(self, "_rows_key", None) != key:
            self._rows_key, self._rows = key, definition_rows(self.session, self.pins)
        return self._rows

    def _names(self, recorded_ids) -> list[str]:
        names = {e.task_id: e.task_spec for e in self.events if e.kind == audit.TASK_CREATED}
        return [names.get(rid, rid) for rid in recorded_ids]

    def _collect_completed(self) -> None:
        for task in self.workflow.get_tasks(state=TaskState.COMPLETED):
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if bpmn_id:
                self.progress.completed.setdefault(self.process_of(task), set()).add(bpmn_id)

    def elements(self) -> dict[str, dict[str, Any]]:
        """Per process key: {"completed", "active", "waiting", "tokens"} now."""
        out: dict[str, dict[str, Any]] = {}
        for key in self.pins:
            out[key] = {"completed": sorted(self.progress.completed.get(key, ())),
                        "active": set(), "waiting": set(), "tokens": Counter()}
        if self.workflow is None or self.status == "cancelled":
            return _finalise(out)
        for task in self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING
                                            | TaskState.STARTED | TaskState.ERROR):
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if not bpmn_id:
                continue
            entry = out.setdefault(self.process_of(task), {
                "completed": [], "active": set(), "waiting": set(), "tokens": Counter()})
            entry["tokens"][bpmn_id] += 1
            if task.state == TaskState.WAITING:
                entry["waiting"].add(bpmn_id)
            elif task.state != TaskState.READY or task.task_spec.manual:
                entry["active"].add(bpmn_id)
        return _finalise(out)

    def data(self) -> dict[str, Any]:
        """The case data now: once ended the workflow's data; while running, the data the
        open tasks hold over everything entered so far (a parallel branch's entries are
        not in the other branch's task data until the join)."""
        if self.workflow is None:
            return {}
        if self.status in ("completed", "cancelled"):
            return copy.deepcopy(recordable(self.workflow.data))
        merged: dict[str, Any] = dict(self.recorded)
        for task in self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING
                                            | TaskState.ERROR):
            merged.update(recordable(task.data))
        return copy.deepcopy(merged)


def _finalise(out: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    for entry in out.values():
        entry["active"] = sorted(entry["active"])
        entry["waiting"] = sorted(entry["waiting"])
        entry["tokens"] = dict(sorted(entry["tokens"].items()))
    return out


def definition_rows(session: Session, pins: dict[str, str]) -> dict[str, ProcessDefinition]:
    """The deployed rows of a case's pinned definitions (missing ones left out)."""
    out = {}
    for key, content_hash in pins.items():
        row = session.scalar(select(ProcessDefinition).where(
            ProcessDefinition.key == key, ProcessDefinition.content_hash == content_hash))
        if row is not None:
            out[key] = row
    return out
