"""Moving running cases to a newer version of a process, and back.

A case pins the versions it runs on, so a deployment never moves it (see definitions). An
analyst may move it on purpose when the change lies only ahead of where the case stands
(`migration_check` says what that means and, otherwise, why not). The engine side uses
SpiffWorkflow's own spec-diff helpers (`SpecDiff`, `WorkflowDiff`, `migrate_workflow`):
task specs are aligned by BPMN id, and the open and waiting tasks are re-predicted from
the new spec — keeping their ids (so task rows, claims and timers stay attached), their
data and their internal state (so a waiting timer keeps its due time).

Each migration is one transaction: new pins, new engine state, updated task rows, a
`case_migrated` event in the case's hash chain, and a `case_migration` row that keeps the
state, pins and task rows from before. A revert restores exactly those, and is refused
once anything else has happened to the case since.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.cases import eventlog as audit, state
from engine.cases.helpers import touch
from engine.cases.step import bound_lane
from engine.cases.service import CaseService
from engine.errors import Conflict, NotFound
from engine.studio.migration_check import Standing, reasons_against
from engine.studio.migration_views import (BatchResult, CaseOnVersion, Check, MigrationView,
    ProcessVersions)
from engine.worktime.spiffclock import running_on
from engine.store.models import (CASE_INCIDENT, CASE_RUNNING, TASK_OPEN, CaseEvent, CaseRecord,
    CaseState, HumanTask, ProcessDefinition)
from engine.store.models_studio import CaseMigration
from engine.cases.transactions import ConflictGuard
from engine.studio.versiondiff import VersionDiff, diff_documents, process_elements
from engine.cases.dto import Actor

_SPECS = BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)  # converts task specs for SpecDiff
_AT = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
_KEEP = TaskState.READY | TaskState.WAITING


class MigrationRefused(Conflict):
    """The case may not move; `reasons` says why, each naming the elements."""

    code = "migration_refused"

    def __init__(self, case_number: str, reasons: list[str]):
        super().__init__(f"办件 {case_number} 不能迁移：" + "；".join(reasons))
        self.reasons = reasons


@dataclass
class _Plan:
    case: CaseRecord
    key: str
    source: ProcessDefinition
    target: ProcessDefinition
    diff: VersionDiff
    reasons: list[str]
    standing: Standing
    pins: dict[str, str]
    workflow: object = None


class Migrations:
    """Dry-run, migrate and revert running cases between versions of a process."""

    def __init__(self, cases: CaseService):
        self.cases = cases
        self.db = cases.db
        self.definitions = cases.definitions
        self.clock = cases.clock

    # -- reading ----------------------------------------------------------------------

    def definition(self, session: Session, key: str, version: int) -> ProcessDefinition:
        row = session.scalar(select(ProcessDefinition).where(
            ProcessDefinition.key == key, ProcessDefinition.version == version))
        if row is None:
            raise NotFound(f"流程 {key} 没有版本 v{version}")
        return row

    def processes(self) -> list[ProcessVersions]:
        """Every deployed process with its version numbers (newest first)."""
        with self.db.reading() as session:
            rows = session.execute(select(ProcessDefinition.key, ProcessDefinition.name,
                                          ProcessDefinition.version)
                                   .order_by(ProcessDefinition.key,
                                             ProcessDefinition.version.desc()))
            out: dict[str, ProcessVersions] = {}
            for key, name, version in rows:
                entry = out.setdefault(key, ProcessVersions(key, name, []))
                entry.versions.append(version)
            return list(out.values())

    def diff(self, key: str, old_version: int, new_version: int) -> VersionDiff:
        """What changed in process `key` from one deployed version to another."""
        with self.db.reading() as session:
            old = self.definition(session, key, old_version)
            new = self.definition(session, key, new_version)
            return diff_documents(self._root(session, old), self._root(session, new), key)

    def cases_on(self, key: str, version: int) -> list[CaseOnVersion]:
        """Running cases (and cases with an incident) pinned to that version of `key`."""
        with self.db.reading() as session:
            content_hash = self.definition(session, key, version).content_hash
            rows = session.execute(select(
                CaseRecord.id, CaseRecord.number, CaseRecord.title, CaseRecord.status,
                CaseRecord.process_key, CaseRecord.pins).where(
                CaseRecord.status.in_((CASE_RUNNING, CASE_INCIDENT))).order_by(CaseRecord.id))
            return [CaseOnVersion(r.id, r.number, r.title, r.status, r.process_key)
                    for r in rows if (r.pins or {}).get(key) == content_hash]

    def check(self, case_ref: int | str, key: str, to_version: int) -> Check:
        """Whether the case may move to `to_version` of `key`, and why not (changes nothing)."""
        with self.db.reading() as session:
            plan = self._plan(session, self._case(session, case_ref), key, to_version)
            return self._check_of(session, plan)

    def check_all(self, key: str, from_version: int, to_version: int) -> list[Check]:
        return [self.check(c.id, key, to_version) for c in self.cases_on(key, from_version)]

    def history(self, *, key: str | None = None, case_ref: int | str | None = None,
                limit: int = 200) -> list[MigrationView]:
        with self.db.reading() as session:
            query = select(CaseMigration, CaseRecord).join(
                CaseRecord, CaseRecord.id == CaseMigration.case_id).order_by(
                CaseMigration.id.desc()).limit(limit)
            if key is not None:
                query = query.where(CaseMigration.process_key == key)
            if case_ref is not None:
                query = query.where(CaseMigration.case_id == self._case(session, case_ref).id)
            return [MigrationView.of(m, c) for m, c in session.execute(query)]

    # -- changing ---------------------------------------------------------------------

    def migrate(self, case_ref: int | str, key: str, to_version: int, actor: str,
                *, from_version: int | None = None) -> MigrationView:
        """Move one case; raises MigrationRefused with the reasons when it is not safe."""
        with ConflictGuard(self.db, self.clock) as session:
            case = self._case(session, case_ref)
            plan = self._plan(session, case, key, to_version)
            if from_version is not None and plan.source.version != from_version \
                    and not plan.reasons:
                plan.reasons.append(f"办件现在使用 v{plan.source.version}，不是 v{from_version}")
            if plan.reasons:
                raise MigrationRefused(case.number, plan.reasons)
            return self._apply(session, plan, actor)

    def migrate_all(self, key: str, from_version: int, to_version: int,
                    actor: str) -> BatchResult:
        """Move every case of a version that may move, each in its own transaction."""
        result = BatchResult()
        for case in self.cases_on(key, from_version):
            try:
                result.migrated.append(self.migrate(case.id, key, to_version, actor,
                                                    from_version=from_version))
            except MigrationRefused as refused:
                result.refused.append(Check(case, key, from_version, to_version,
                                            tuple(refused.reasons), ()))
            except Conflict as conflict:
                result.refused.append(Check(case, key, from_version, to_version,
                                            (conflict.message,), ()))
        return result

    def revert(self, migration_id: int, actor: str) -> MigrationView:
        """Put the case back on the versions, state and task rows it had before."""
        with ConflictGuard(self.db, self.clock) as session:
            row = session.get(CaseMigration, migration_id) if isinstance(migration_id, int) \
                and 0 < migration_id < 2**31 else None
            if row is None:
                raise NotFound(f"迁移记录 {migration_id} 不存在")
            case = session.get(CaseRecord, row.case_id)
            if row.reverted_at is not None:
                raise Conflict(f"迁移记录 {row.id} 已于先前撤销")
            if case.event_count != row.events_after:
                raise Conflict(f"办件 {case.number} 在迁移之后已有 {case.event_count - row.events_after}"
                               " 条新的办理记录，不能撤销迁移")
            now = self.clock.now()
            case.pins = dict(row.pins_before)
            case.definition_id = row.definition_before
            session.execute(update(CaseState).where(CaseState.case_id == case.id).values(
                workflow=row.state_before, size=len(row.state_before)))
            for before in row.tasks_before:
                task = session.get(HumanTask, before["id"])
                if task is not None and task.state == TASK_OPEN:
                    for name in ("name", "lane", "form_key", "definition_hash", "process_key"):
                        setattr(task, name, before[name])
            audit.append_event(session, case, kind=audit.MIGRATION_REVERTED, actor=actor, at=now,
                               definition_hash=row.from_hash,
                               payload={"migration": row.id, "process": row.process_key,
                                        "from_version": row.to_version,
                                        "to_version": row.from_version,
                                        "pins": row.pins_before})
            session.flush()
            workflow = self.cases.step.load(session, case, for_step=False)
            who = Actor(actor, frozenset({"analyst"}))
            self.cases.step.sync_tasks(session, case, workflow, who, now)
            self.cases.step.sync_timers(session, case, workflow)
            touch(case, now)
            row.reverted_at, row.reverted_by = now, actor
            session.flush()
            return MigrationView.of(row, case)

    # -- the plan ---------------------------------------------------------------------

    def _plan(self, session: Session, case: CaseRecord, key: str, to_version: int) -> _Plan:
        if key not in (case.pins or {}):
            raise NotFound(f"办件 {case.number} 不使用流程 {key}")
        source = self.definitions.by_hash(session, key, case.pins[key])
        target = self.definition(session, key, to_version)
        old_root, new_root = self._root(session, source), self._root(session, target)
        diff = diff_documents(old_root, new_root, key)
        plan = _Plan(case, key, source, target, diff, [], Standing(), {})
        if case.status != CASE_RUNNING:
            plan.reasons.append("办件有未处理的故障，请先处理故障" if case.status == CASE_INCIDENT
                                else "办件已结束")
            return plan
        if target.version <= source.version:
            plan.reasons.append(f"只能迁移到更新的版本：办件现在使用 v{source.version}")
            return plan
        plan.pins = self._new_pins(session, case, key, target)
        workflow = self.cases.step.load(session, case, for_step=False)
        plan.standing = self._standing(session, case, key, source, workflow)
        plan.reasons += reasons_against(diff, plan.standing, process_elements(new_root, key))
        if not plan.reasons:
            self._move(plan, session, workflow)
        return plan

    def _new_pins(self, session, case, key, target) -> dict[str, str]:
        """The case's pins with `key` on the target version; processes the new version
        calls for the first time are pinned to their latest version, and processes no
        longer called are dropped."""
        chosen = {**case.pins, key: target.content_hash}
        pins, todo = {}, [case.process_key]
        while todo:
            current = todo.pop()
            if current in pins:
                continue
            if current in chosen:
                row = self.definitions.by_hash(session, current, chosen[current])
            else:
                row = self.definitions.latest(session, current)
                if row is None:
                    raise NotFound(f"流程 {current} 未部署")
            pins[current] = row.content_hash
            todo.extend(row.called_keys or ())
        return pins

    def _standing(self, session, case, key, source, workflow) -> Standing:
        standing = Standing()
        for wf in _owned(workflow, case, key):
            for task in wf.tasks.values():
                element = task.task_spec.bpmn_id
                if element is None:
                    continue
                if task.has_state(_AT):
                    standing.current.add(element)
                elif task.has_state(TaskState.COMPLETED):
                    standing.completed.add(element)
        if standing.current:
            standing.completed |= set(session.scalars(select(CaseEvent.task_spec).where(
                CaseEvent.case_id == case.id, CaseEvent.definition_hash == source.content_hash,
                CaseEvent.kind.in_((audit.TASK_COMPLETED, audit.TIMER_FIRED)),
                CaseEvent.task_spec.is_not(None))))
        return standing

    def _move(self, plan: _Plan, session, workflow) -> None:
        """Re-point the workflow at the new specs, proving the result loads on them."""
        spec, subprocess_specs = self.definitions.specs_for(session, plan.case.process_key,
                                                            plan.pins)
        try:
            plan.workflow = repoint(workflow, plan.key, lambda wf: _owner(wf, plan.case.pins),
                                    spec, subprocess_specs, self.cases.script_engine,
                                    self.clock)
        except Exception as exc:  # noqa: BLE001 — any failure here means "not safe"
            plan.reasons.append(f"办件状态无法转换到新版本（{type(exc).__name__}: {exc}）"[:500])

    def _apply(self, session: Session, plan: _Plan, actor: str) -> MigrationView:
        case, workflow, now = plan.case, plan.workflow, self.clock.now()
        before = session.scalar(select(CaseState.workflow).where(CaseState.case_id == case.id))
        open_rows = list(session.scalars(select(HumanTask).where(
            HumanTask.case_id == case.id, HumanTask.state == TASK_OPEN)))
        tasks_before = [{"id": r.id, "name": r.name, "lane": r.lane, "form_key": r.form_key,
                         "definition_hash": r.definition_hash, "process_key": r.process_key}
                        for r in open_rows]
        pins_before, definition_before = dict(case.pins), case.definition_id
        case.pins = dict(plan.pins)
        if plan.key == case.process_key:
            case.definition_id = plan.target.id
        for row in open_rows:
            if row.process_key != plan.key:
                continue
            task = workflow.get_task_from_id(UUID(row.id))
            if task is None:
                continue
            spec = task.task_spec
            row.definition_hash = plan.target.content_hash
            row.name = spec.bpmn_name or spec.bpmn_id
            row.lane = bound_lane(spec.lane, task.data)
            row.form_key = getattr(getattr(spec, "form", None), "key", None)
        changes = plan.diff.describe()
        audit.append_event(session, case, kind=audit.CASE_MIGRATED, actor=actor, at=now,
                           definition_hash=plan.target.content_hash,
                           payload={"process": plan.key, "from_version": plan.source.version,
                                    "to_version": plan.target.version,
                                    "from_hash": plan.source.content_hash,
                                    "to_hash": plan.target.content_hash,
                                    "pins": plan.pins, "changes": changes})
        self.cases.step.advance(session, case, workflow, Actor(actor, frozenset({"analyst"})),
                                now)
        session.flush()
        row = CaseMigration(case_id=case.id, process_key=plan.key,
                            from_version=plan.source.version, to_version=plan.target.version,
                            from_hash=plan.source.content_hash, to_hash=plan.target.content_hash,
                            pins_before=pins_before, pins_after=dict(plan.pins),
                            definition_before=definition_before, state_before=before,
                            tasks_before=tasks_before, events_after=case.event_count,
                            changes=changes, migrated_at=now, migrated_by=actor)
        session.add(row)
        session.flush()
        return MigrationView.of(row, case)

    # -- helpers ----------------------------------------------------------------------

    def _root(self, session, row: ProcessDefinition):
        return self.definitions.document(session, row.key, row.content_hash).root

    @staticmethod
    def _case(session: Session, ref: int | str) -> CaseRecord:
        if isinstance(ref, str) and ref.isdigit() and len(ref) < 10:
            ref = int(ref)
        if isinstance(ref, int) and not isinstance(ref, bool) and 0 < ref < 2**31:
            case = session.get(CaseRecord, ref)
        elif isinstance(ref, str) and len(ref) <= 40:
            case = session.scalar(select(CaseRecord).where(CaseRecord.number == ref))
        else:
            case = None
        if case is None:
            raise NotFound(f"办件 {str(ref)[:40]} 不存在")
        return case

    def _check_of(self, session, plan: _Plan) -> Check:
        case = plan.case
        names = {e.id: e.label for e in process_elements(
            self._root(session, plan.source), plan.key).values()} if plan.standing.current else {}
        return Check(CaseOnVersion(case.id, case.number, case.title, case.status,
                                   case.process_key),
                     plan.key, plan.source.version, plan.target.version, tuple(plan.reasons),
                     tuple(sorted(names.get(e, e) for e in plan.standing.current)))


def _owner(wf, pins) -> str | None:
    """The pinned process a workflow object belongs to (embedded sub-processes belong to
    the process around them)."""
    while wf is not None and wf.spec.name not in pins:
        wf = getattr(wf, "parent_workflow", None)
    return wf.spec.name if wf is not None else None


def _owned(workflow, case: CaseRecord, key: str) -> list:
    """The workflow objects of a case that run process `key` (the top-level workflow, a
    call activity's subprocess, and the embedded sub-processes inside either)."""
    return [wf for wf in [workflow, *workflow.subprocesses.values()]
            if _owner(wf, case.pins) == key]


def repoint(workflow, key: str, owner_of, spec, subprocess_specs, script_engine, clock):
    """The workflow re-pointed at new specs for process `key` (SpiffWorkflow's spec diff
    aligns task specs by BPMN id and re-predicts open and waiting tasks); open and waiting
    tasks keep their ids, data and internal state (a waiting timer keeps its due time).
    `owner_of(wf)` names the pinned process a workflow object runs. Returns a workflow
    rebuilt from the serialised result, which proves it loads on the new specs. Replay
    (engine.audit.reexecution) repeats a recorded migration with the same steps."""
    with running_on(clock):  # the spec diff re-predicts tasks, which reads the time
        for wf in [workflow, *workflow.subprocesses.values()]:
            if owner_of(wf) != key:
                continue
            new_spec = spec if wf is workflow else subprocess_specs[wf.spec.name]
            kept = {t.id: (copy.deepcopy(t.data), copy.deepcopy(t.internal_data))
                    for t in wf.tasks.values() if t.has_state(_KEEP)}
            migrate_workflow(WorkflowDiff(wf, SpecDiff(_SPECS, wf.spec, new_spec)), wf, new_spec)
            for task_id, (data, internal) in kept.items():
                if task_id in wf.tasks:
                    wf.tasks[task_id].data, wf.tasks[task_id].internal_data = data, internal
        workflow.spec, workflow.subprocess_specs = spec, subprocess_specs
        return state.load(state.dump(workflow), spec, subprocess_specs, script_engine)
