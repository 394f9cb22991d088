"""The auditor's view of one case's history: the timeline of its events with the data
each changed, the state of the case as of any event, and re-execution.

The stored engine state is pruned after every step (see `state`), so "the case as of
event n" cannot be read back from it. Instead the case is re-run in memory from its
pinned definition versions and the inputs its audit log recorded (start data, each task
completion's data, timer firings, cancellations, incident retries), each at its
recorded time on a frozen clock, exactly as the case service ran it. What the engine
then produces (tasks opened and cancelled, the ending and its data) is compared with
what the log says it produced; the first difference is a deviation. The replay itself
lives in `engine.audit.reexecution`; this module is the public face.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import eventlog as audit, canonical, ids
from engine.audit.datadiff import Change, diff  # noqa: F401  (part of this module's interface)
from engine.errors import NotFound
from engine.audit.deviation import (DATA_DIFFERS, DEFINITION_MISSING, ENDING_DIFFERS,  # noqa: F401
                                    ENGINE_FAILED, NOT_ENABLED, TASKS_DIFFER, Deviated)
from engine.audit.reexecution import Replayer
from engine.store.models import CaseEvent, CaseRecord

# Kinds of deviation a re-execution reports (Deviation.kind):
# NOT_ENABLED     a task completed / timer fired that was not enabled at that point
# TASKS_DIFFER    the engine opened or cancelled other tasks than recorded
# DATA_DIFFERS    recorded data differs from what the engine computed
# ENDING_DIFFERS  the case ended (or did not) unlike the record
# DEFINITION_MISSING  a pinned definition version is not in the database
# ENGINE_FAILED   the engine failed where the record says it did not (or vice versa)
CHAIN_BROKEN = "chain_broken"  # the hash chain does not verify (Conformance.chain_ok)


@dataclass
class Step:
    """One audit event as the auditor reads it.

    - seq, kind, actor, at, task_id, task_spec, hash: the event's own columns;
    - task_name: the task's display name (from its task_created event), else task_spec;
    - process_key: the deployed process the event belongs to (the one-thing's own key, or
      the called item's key for events of an item's task);
    - payload: the decoded payload (dict);
    - changes: the case data the event changed, as a list of Change, computed from the
      recorded data (start data, task completion data, completion data) against the data
      recorded before it; empty for events that change no data.
    """

    seq: int
    kind: str
    actor: str | None
    at: datetime
    task_id: str | None
    task_spec: str | None
    task_name: str | None
    process_key: str | None
    definition_hash: str
    payload: dict[str, Any]
    changes: list[Change] = field(default_factory=list)
    hash: str = ""


@dataclass
class ProcessState:
    """The state of one process of a case (the one-thing itself, or one called item) as
    of an event. Element ids are BPMN ids of the process's diagram.

    - completed: ids of elements that have completed at least once so far (sorted);
    - active: ids of ready user tasks and running call activities / subprocesses;
    - waiting: ids of elements holding a token that waits (timer and other catch events,
      a parallel join waiting for its other branches);
    - tokens: element id -> number of tokens on it now (>1 on a join or a
      multi-instance; one per parallel branch on different elements);
    - definition_hash / version: the pinned definition version (version None when the
      definition is missing).
    """

    key: str
    definition_hash: str
    version: int | None
    name: str | None = None
    completed: list[str] = field(default_factory=list)
    active: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)


@dataclass
class Snapshot:
    """A case as of its event `seq` (after that event's step was applied).

    - processes: process key -> ProcessState, the case's own process first, then each
      called item in the order it was pinned; every pinned process is present (an item
      not reached yet has empty lists);
    - data: the case data as of then (what the engine held: merged data of the open tasks
      while running, the workflow data once ended);
    - status: "running", "completed", "cancelled" or "incident";
    - deviation: set when the recorded history could not be followed up to `seq` (the
      snapshot then shows the state where re-execution stopped, at the deviating event).
    """

    case_id: int
    case_number: str
    seq: int
    at: datetime | None
    status: str
    processes: dict[str, ProcessState]
    data: dict[str, Any]
    deviation: "Deviation | None" = None


@dataclass
class Deviation:
    """The first point where re-execution and the record part ways.

    kind is one of the module constants (NOT_ENABLED, TASKS_DIFFER, DATA_DIFFERS,
    ENDING_DIFFERS, DEFINITION_MISSING, ENGINE_FAILED); message is Chinese, for people;
    expected is what the record says, actual what re-execution produced."""

    seq: int
    kind: str
    message: str
    expected: Any = None
    actual: Any = None


@dataclass
class Conformance:
    """The outcome of re-executing one case.

    conformant is True when every recorded input replayed and every recorded effect
    matched; otherwise `deviation` is the FIRST deviation. `events` is the number of
    events in the log, `replayed` the number of them re-executed or checked before the
    deviation (all of them when conformant). `chain_ok` says whether the hash chain
    verified (a broken chain is reported separately by `engine.cases.eventlog.verify_case`; a
    conformant re-execution of a broken chain still proves nothing)."""

    case_id: int
    case_number: str
    process_key: str
    conformant: bool
    events: int
    replayed: int
    deviation: Deviation | None = None
    chain_ok: bool = True

    def summary(self) -> str:
        """One line in Chinese, e.g. "371500-20261120-00001：一致（23 个事件）"."""
        chain = "" if self.chain_ok else "；哈希链校验未通过"
        if self.conformant:
            return f"{self.case_number}：一致（{self.events} 个事件）{chain}"
        d = self.deviation
        return f"{self.case_number}：不一致，事件 #{d.seq}：{d.message}{chain}"

    def to_dict(self) -> dict[str, Any]:
        deviation = None
        if self.deviation is not None:
            d = self.deviation
            deviation = {"seq": d.seq, "kind": d.kind, "message": d.message,
                         "expected": _jsonable(d.expected), "actual": _jsonable(d.actual)}
        return {"case_id": self.case_id, "case_number": self.case_number,
                "process_key": self.process_key, "conformant": self.conformant,
                "chain_ok": self.chain_ok, "events": self.events, "replayed": self.replayed,
                "deviation": deviation}


@dataclass
class BatchReport:
    """Re-execution of many cases: one Conformance per case, in case id order."""

    started_at: datetime
    finished_at: datetime | None = None
    results: list[Conformance] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return len(self.results)

    @property
    def deviating(self) -> list[Conformance]:
        return [r for r in self.results if not r.conformant or not r.chain_ok]

    @property
    def ok(self) -> bool:
        return not self.deviating

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"started_at", "finished_at", "checked", "conformant", "deviating",
        "cases": [{"case_id", "case_number", "process_key", "conformant", "chain_ok",
        "events", "replayed", "deviation": {"seq", "kind", "message", "expected",
        "actual"} | None}]}."""
        return {"started_at": self.started_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "checked": self.checked, "conformant": self.checked - len(self.deviating),
                "deviating": len(self.deviating),
                "cases": [r.to_dict() for r in self.results]}


def timeline(session: Session, case_id: int) -> list[Step]:
    """Every audit event of the case in seq order, as Steps with their data changes.
    Raises engine.errors.NotFound when the case does not exist. Reads only the log (no
    re-execution), so it is cheap and works even when the definitions are gone."""
    case = _case(session, case_id)
    by_hash = {h: k for k, h in (case.pins or {}).items()}
    names: dict[str, tuple[str | None, str | None]] = {}
    known: dict[str, Any] = {}
    steps = []
    for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                 .order_by(CaseEvent.seq)):
        try:
            payload = canonical.loads(event.payload)
        except ValueError:
            payload = {"$unreadable": event.payload[:500]}
        if not isinstance(payload, dict):
            payload = {"value": payload}
        if isinstance(payload.get("pins"), dict):  # started or migrated: older hashes too
            by_hash.update({h: k for k, h in payload["pins"].items() if isinstance(h, str)})
        if event.kind == audit.TASK_CREATED and event.task_id:
            names[event.task_id] = (payload.get("name"), payload.get("process"))
        name, process = names.get(event.task_id or "", (None, None))
        process = payload.get("process") if isinstance(payload.get("process"), str) else process
        data = payload.get("data")
        changes: list[Change] = []
        if isinstance(data, dict) and event.kind in (audit.CASE_STARTED, audit.TASK_COMPLETED,
                                                     audit.CASE_COMPLETED,
                                                     audit.MATERIAL_SUPPLIED):
            for key in sorted(data, key=str):
                changes.extend(diff(known.get(key), data[key], str(key)) if key in known
                               else [Change(str(key), None, data[key])])
            known.update(data)
        steps.append(Step(seq=event.seq, kind=event.kind, actor=event.actor, at=event.at,
                          task_id=event.task_id, task_spec=event.task_spec,
                          task_name=name or event.task_spec,
                          process_key=process or by_hash.get(event.definition_hash),
                          definition_hash=event.definition_hash, payload=payload,
                          changes=changes, hash=event.hash))
    return steps


def state_at(runtime, case_id: int, seq: int) -> Snapshot:
    """The case as of its event `seq` (1-based; clamped to the log's length; 0 gives the
    state before anything happened). Re-executes the case in memory up to that event.
    Raises NotFound for an unknown case."""
    with runtime.db.reading() as session:
        case = _case(session, case_id)
        replayer = Replayer(runtime, session, case)
        last = replayer.events[-1].seq if replayer.events else 0
        seq = max(0, min(int(seq), last))
        at = next((e.at for e in replayer.events if e.seq == seq), None)
        deviation = None
        try:
            replayer.run(until=seq)
        except Deviated as exc:
            deviation = _deviation(exc)
        return _snapshot(replayer, seq, at, deviation)


def snapshots(runtime, case_id: int) -> list[Snapshot]:
    """The case as of each of its events (index i is the state after event seq i+1), in
    one re-execution: what a step-through view needs for stepping forward and back."""
    with runtime.db.reading() as session:
        case = _case(session, case_id)
        replayer = Replayer(runtime, session, case)
        out: list[Snapshot] = []
        try:
            replayer.run(on_event=lambda e: out.append(
                _snapshot(replayer, e.seq, e.at, None)))
        except Deviated as exc:
            deviation = _deviation(exc)
            for event in replayer.events[len(out):]:
                out.append(_snapshot(replayer, event.seq, event.at, deviation))
        return out


def reexecute(runtime, case_id: int) -> Conformance:
    """Re-run the case in memory from its pinned definition versions and recorded inputs,
    and report conformant or the first deviation. Raises NotFound for an unknown case.
    Never writes to the database."""
    with runtime.db.reading() as session:
        return _reexecute(runtime, session, _case(session, case_id))


def reexecute_all(runtime, *, case_ids: Iterable[int] | None = None,
                  progress: Callable[[Conformance], None] | None = None) -> BatchReport:
    """Re-execute every case (or those in `case_ids`), each in its own read transaction;
    `progress` is called after each case."""
    report = BatchReport(started_at=runtime.clock.now())
    if case_ids is None:
        with runtime.db.reading() as session:
            case_ids = list(session.scalars(select(CaseRecord.id).order_by(CaseRecord.id)))
    for case_id in case_ids:
        with runtime.db.reading() as session:
            case = session.get(CaseRecord, case_id)
            if case is None:
                continue
            result = _reexecute(runtime, session, case)
        report.results.append(result)
        if progress is not None:
            progress(result)
    report.finished_at = runtime.clock.now()
    return report


# -- helpers -----------------------------------------------------------------------------

def _case(session: Session, case_id) -> CaseRecord:
    case = session.get(CaseRecord, ids.case_id(case_id))
    if case is None:
        raise NotFound(f"办件 {case_id} 不存在")
    return case


def _reexecute(runtime, session: Session, case: CaseRecord) -> Conformance:
    chain_ok = audit.verify_case(session, case).ok
    replayer = Replayer(runtime, session, case)
    replayed = [0]

    def count(_event) -> None:
        replayed[0] += 1

    result = Conformance(case.id, case.number, case.process_key, True,
                         len(replayer.events), 0, chain_ok=chain_ok)
    try:
        replayer.run(on_event=count)
        replayer.finish()
        _check_status(replayer, case)
    except Deviated as exc:
        result.conformant, result.deviation = False, _deviation(exc)
    result.replayed = replayed[0]
    return result


def _check_status(replayer: Replayer, case: CaseRecord) -> None:
    """The replay's ending agrees with the case row's status."""
    if case.status in ("running", "completed", "cancelled", "incident") \
            and replayer.status != case.status:
        last = replayer.events[-1].seq if replayer.events else 0
        raise Deviated(last, ENDING_DIFFERS,
                       f"重新执行的结局（{replayer.status}）与办件状态（{case.status}）不符",
                       expected=case.status, actual=replayer.status)


def _deviation(exc: Deviated) -> Deviation:
    return Deviation(exc.seq, exc.kind, exc.message, exc.expected, exc.actual)


def _snapshot(replayer: Replayer, seq: int, at, deviation) -> Snapshot:
    case = replayer.case
    processes = {}
    elements = replayer.elements()
    rows = replayer.definition_rows()
    for key, content_hash in replayer.pins.items():
        row = rows.get(key)
        entry = elements.get(key, {})
        processes[key] = ProcessState(
            key=key, definition_hash=content_hash, version=row.version if row else None,
            name=row.name if row else None, completed=list(entry.get("completed", [])),
            active=list(entry.get("active", [])), waiting=list(entry.get("waiting", [])),
            tokens=dict(entry.get("tokens", {})))
    return Snapshot(case_id=case.id, case_number=case.number, seq=seq, at=at,
                    status=replayer.status, processes=processes, data=replayer.data(),
                    deviation=deviation)


def _jsonable(value: Any) -> Any:
    try:
        return canonical.encode(value)
    except (TypeError, ValueError):
        return str(value)
