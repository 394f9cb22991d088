"""The case map: what a diagram of a case needs — per BPMN element of every process the
case runs on (the case's own and, for a one-thing, each item's), whether it is done,
being worked on, cancelled or overdue, how often, by whom and when; and per item of a
one-thing its state (待受理 / 审查中 / 补正中 / 准予许可 / 不予许可).

A read model: it is computed from the case row, its audit events (in order) and its
open task rows, plus the pinned BPMN documents for element names — the workflow is
never deserialised, so the cost does not depend on the engine state's size.

What the log cannot say is left unmarked: gateways and flows are not recorded, and an
end event is marked only where it is the process's single end event.

The marks themselves (ElementMark, ProcessMap, ItemState, CaseMap and the state names)
live in `engine.audit.casemap_marks`; they are re-exported here, so `engine.audit.casemap` stays the
one name to import.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import select

from engine.cases import eventlog as audit, canonical, ids
from engine.audit.casemap_marks import (COMPLETED, ACTIVE, CANCELLED, ELEMENT_STATES,
    ITEM_WAITING, ITEM_REVIEW, ITEM_CORRECTION, ITEM_APPROVED, ITEM_REFUSED, ITEM_DONE,
    ITEM_CANCELLED, ITEM_LABELS, FINAL_DECISIONS, FLOW_NODES, ACTIVITIES, Completion, OpenTask,
    ElementMark, ProcessMap, ItemState, CaseMap)
from engine.worktime.clock import Clock
from engine.definitions.service import BPMN_NS, BpmnFile, Definitions, is_common_part
from engine.errors import NotFound
from engine.store.db import Database
from engine.store.models import (CASE_CANCELLED, CASE_COMPLETED, TASK_OPEN, CaseEvent, CaseRecord,
    HumanTask, ProcessDefinition)
from engine.cases.dto import Actor

# Re-exported from engine.audit.casemap_marks, so callers import everything from here.
__all__ = ["COMPLETED", "ACTIVE", "CANCELLED", "ELEMENT_STATES", "ITEM_WAITING", "ITEM_REVIEW",
           "ITEM_CORRECTION", "ITEM_APPROVED", "ITEM_REFUSED", "ITEM_DONE", "ITEM_CANCELLED",
           "ITEM_LABELS", "FINAL_DECISIONS", "FLOW_NODES", "ACTIVITIES", "Completion", "OpenTask",
           "ElementMark", "ProcessMap", "ItemState", "CaseMap", "build", "Diagram", "CaseMaps"]



# -- the computation ------------------------------------------------------------------

@dataclass
class _Item:
    key: str
    decisions: list[tuple[str, str, str | None, datetime]] = field(default_factory=list)
    created: int = 0
    completed: int = 0
    cancelled: int = 0


def build(case: CaseRecord, events: Iterable[CaseEvent], open_tasks: Iterable[HumanTask],
          documents: Mapping[str, BpmnFile], now: datetime,
          versions: Mapping[str, int] | None = None) -> CaseMap:
    """The map of `case` from its events (in `seq` order), its open task rows and the
    parsed BPMN documents of its pinned versions (process key -> document)."""
    versions = versions or {}
    pins: dict[str, str] = dict(case.pins)
    by_hash = {content_hash: key for key, content_hash in pins.items()}
    top = case.process_key
    maps: dict[str, ProcessMap] = {}
    for key, content_hash in pins.items():
        doc = documents.get(key)
        maps[key] = ProcessMap(key=key, name=doc.title if doc else key,
                               version=versions.get(key), content_hash=content_hash,
                               role="case" if key == top else "item",
                               elements=_elements(doc) if doc else [])
    calls = _call_activities(documents.get(top))  # call activity id -> called key
    for call_id, called in calls.items():
        if called in maps and maps[called].call_activity is None:
            maps[called].call_activity = call_id
    # Items only: a common part such as the 容缺 gate has its map but is not an item.
    items = {key: _Item(key) for key in calls.values() if key in maps
             and not (documents.get(key) is not None and is_common_part(documents[key]))}

    def mark(key: str, element_id: str | None) -> ElementMark | None:
        if key not in maps or not element_id:
            return None
        found = maps[key].element(element_id)
        if found is None:  # not in the document (should not happen): still show it
            found = ElementMark(element_id, element_id, "task")
            maps[key].elements.append(found)
        return found

    def process_of(event: CaseEvent, payload: dict[str, Any]) -> str:
        named = payload.get("process")
        if isinstance(named, str) and named in maps:
            return named
        return by_hash.get(event.definition_hash, top)

    for event in events:
        payload = canonical.loads(event.payload) if event.payload else {}
        if not isinstance(payload, dict):
            payload = {}
        key = process_of(event, payload)
        element = mark(key, event.task_spec)
        if event.kind == audit.CASE_STARTED:
            start = _single(maps[top], "startEvent") if top in maps else None
            if start is not None:
                start.completed += 1
                start.completions.append(Completion(event.actor, event.at))
        elif event.kind == audit.TASK_CREATED:
            if key in items:
                items[key].created += 1
        elif event.kind in (audit.TASK_COMPLETED, audit.TIMER_FIRED) and element is not None:
            element.completed += 1
            element.completions.append(Completion(event.actor, event.at))
            if key in items and event.kind == audit.TASK_COMPLETED:
                items[key].completed += 1
                decision = _decision(key, payload.get("data"))
                if decision is not None:
                    items[key].decisions.append((decision, event.task_spec, event.actor,
                                                 event.at))
        elif event.kind == audit.TASK_CANCELLED and element is not None:
            element.cancelled += 1
            if key in items:
                items[key].cancelled += 1
        elif event.kind == audit.INCIDENT_RAISED and element is not None:
            element.incident = True
        elif event.kind == audit.INCIDENT_RETRIED and element is not None:
            element.incident = False
        elif event.kind == audit.CASE_COMPLETED and top in maps:
            end = _single(maps[top], "endEvent") or _end_reached(maps[top], documents.get(top))
            if end is not None:
                end.completed += 1
                end.completions.append(Completion(event.actor, event.at))

    open_by_item: dict[str, list[tuple[HumanTask, OpenTask]]] = {}
    for row in sorted(open_tasks, key=lambda r: (r.created_at, r.id)):
        if row.state != TASK_OPEN:
            continue
        key = row.process_key if row.process_key in maps else by_hash.get(row.definition_hash,
                                                                          top)
        view = OpenTask(row.id, row.name, row.lane, row.assignee, row.created_at, row.due_at,
                        overdue=row.due_at is not None and row.due_at < now)
        element = mark(key, row.task_spec)
        if element is not None:
            element.open_tasks.append(view)
        open_by_item.setdefault(key, []).append((row, view))

    item_states = []
    for call_id, key in calls.items():
        if key not in items:
            continue
        state = _item_state(items[key], open_by_item.get(key, []), case.status)
        item_states.append(state)
        item_map = maps[key]
        state.name, state.call_activity = item_map.name, call_id
        state.department = _department(documents.get(key))
        _mark_item(item_map, items[key], state)
        call = mark(top, call_id)
        if call is not None:
            _mark_call(call, items[key], state)
    for call_id, key in calls.items():  # common parts (the 容缺 gate): active or passed
        call = mark(top, call_id) if key in maps and key not in items else None
        if call is not None:
            call.open_tasks = [view for _row, view in open_by_item.get(key, [])]
            if not call.open_tasks and case.status == "completed":
                call.completed = max(call.completed, 1)
    ordered = [maps[top]] if top in maps else []
    ordered += [maps[k] for k in dict.fromkeys(calls.values()) if k in maps and k != top]
    ordered += [m for k, m in maps.items() if m not in ordered]
    return CaseMap(case.id, case.number, top, case.status, now, ordered, item_states)


def _decision(item_key: str, data: Any) -> str | None:
    """The item's `<item>_decision` value in a completed task's data (item keys are
    `item_<item>`); failing that, the one `*_decision` field the data has."""
    if not isinstance(data, dict):
        return None
    own = f"{item_key.removeprefix('item_')}_decision"
    if isinstance(data.get(own), str) and data[own]:
        return data[own]
    others = [v for k, v in data.items() if k.endswith("_decision") and isinstance(v, str) and v]
    return others[0] if len(others) == 1 else None


def _item_state(item: _Item, open_rows: Sequence[tuple[HumanTask, OpenTask]],
                case_status: str) -> ItemState:
    decision = item.decisions[-1] if item.decisions else None
    value = decision[0] if decision else None
    review_specs = {d[1] for d in item.decisions} | {f"{item.key.removeprefix('item_')}_review"}
    if open_rows:
        reviewing = any(row.task_spec in review_specs for row, _ in open_rows)
        if not reviewing and value is not None and value not in FINAL_DECISIONS:
            state = ITEM_CORRECTION
        else:
            state = ITEM_REVIEW
    elif value in FINAL_DECISIONS:
        state = FINAL_DECISIONS[value]
    elif value is not None and case_status not in (CASE_CANCELLED, CASE_COMPLETED):
        state = ITEM_CORRECTION
    elif case_status == CASE_CANCELLED:
        state = ITEM_CANCELLED
    elif item.completed or case_status == CASE_COMPLETED:
        state = ITEM_DONE
    else:
        state = ITEM_WAITING
    return ItemState(key=item.key, name=item.key, call_activity="", state=state,
                     decision=value, decided_by=decision[2] if decision else None,
                     decided_at=decision[3] if decision else None,
                     open_tasks=[view for _, view in open_rows])


def _finished(state: ItemState) -> bool:
    return state.state in (ITEM_APPROVED, ITEM_REFUSED, ITEM_DONE)


def _mark_item(item_map: ProcessMap, item: _Item, state: ItemState) -> None:
    """The start and (single) end event of an item process, from what its tasks show."""
    if item.created:
        start = _single(item_map, "startEvent")
        if start is not None and not start.completed:
            start.completed = 1
    if _finished(state):
        end = _single(item_map, "endEvent")
        if end is not None and not end.completed:
            end.completed = 1
            if state.decided_at is not None:
                end.completions.append(Completion(state.decided_by, state.decided_at))


def _mark_call(call: ElementMark, item: _Item, state: ItemState) -> None:
    """A call activity is active while its item has an open task, completed once the
    item's review decided, cancelled if its tasks were cancelled before that."""
    call.open_tasks = list(state.open_tasks)
    if _finished(state):
        call.completed = max(call.completed, 1)
        if state.decided_at is not None and not call.completions:
            call.completions.append(Completion(state.decided_by, state.decided_at))
    elif item.cancelled and not state.open_tasks:
        call.cancelled = max(call.cancelled, 1)


def _elements(doc: BpmnFile) -> list[ElementMark]:
    out = []
    for element in doc.process.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in FLOW_NODES)):
        element_id = element.get("id")
        if element_id:
            kind = element.tag.split("}", 1)[1]
            out.append(ElementMark(element_id, element.get("name") or element_id, kind))
    return out


def _single(process_map: ProcessMap, kind: str) -> ElementMark | None:
    """The process's one top-level start or end event, if it has exactly one."""
    found = [e for e in process_map.elements if e.kind == kind]
    return found[0] if len(found) == 1 else None


def _end_reached(process_map: ProcessMap, doc: BpmnFile | None) -> ElementMark | None:
    """Of several end events, the one the case ended at: the only one whose predecessor
    completed (issuance → 办结), else the only one reached straight from a gateway (a
    branch with no task, e.g. 退件 after the 容缺 deadline)."""
    if doc is None:
        return None
    flows = [f for f in doc.process.iter(f"{{{BPMN_NS}}}sequenceFlow")]
    ends = [e for e in process_map.elements if e.kind == "endEvent"]

    def before(end: ElementMark) -> list[ElementMark]:
        sources = {f.get("sourceRef") for f in flows if f.get("targetRef") == end.id}
        return [e for e in process_map.elements if e.id in sources]

    done = [e for e in ends if any(p.completed for p in before(e))]
    if len(done) == 1:
        return done[0]
    gated = [e for e in ends if before(e) and all(p.kind.endswith("Gateway") for p in before(e))]
    return gated[0] if len(gated) == 1 else None


def _call_activities(doc: BpmnFile | None) -> dict[str, str]:
    if doc is None:
        return {}
    return {c.get("id"): c.get("calledElement")
            for c in doc.process.iter(f"{{{BPMN_NS}}}callActivity")
            if c.get("id") and c.get("calledElement")}


def _department(doc: BpmnFile | None) -> str | None:
    """The lane of an item's `<item>_review` task, else of its first user task."""
    if doc is None:
        return None
    lanes = {ref.text.strip(): lane.get("name")
             for lane in doc.process.iter(f"{{{BPMN_NS}}}lane")
             for ref in lane.iter(f"{{{BPMN_NS}}}flowNodeRef") if ref.text}
    review = f"{doc.key.removeprefix('item_')}_review"
    if lanes.get(review):
        return lanes[review]
    for task in doc.process.iter(f"{{{BPMN_NS}}}userTask"):
        if lanes.get(task.get("id")):
            return lanes[task.get("id")]
    return None


# -- the service ----------------------------------------------------------------------

@dataclass(frozen=True)
class Diagram:
    """One pinned BPMN document of a case."""

    key: str
    version: int
    name: str
    content_hash: str
    xml: str


class CaseMaps:
    """Reads what `build` needs in one read transaction."""

    def __init__(self, db: Database, definitions: Definitions, clock: Clock):
        self.db, self.definitions, self.clock = db, definitions, clock

    def get(self, case_id: int, actor: Actor) -> CaseMap:
        with self.db.reading() as session:
            case = self._readable(session, case_id, actor)
            events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                          .order_by(CaseEvent.seq)))
            tasks = list(session.scalars(select(HumanTask).where(
                HumanTask.case_id == case.id, HumanTask.state == TASK_OPEN)))
            documents = {key: self.definitions.document(session, key, content_hash)
                         for key, content_hash in case.pins.items()}
            versions = {key: version for key, version, content_hash in session.execute(
                select(ProcessDefinition.key, ProcessDefinition.version,
                       ProcessDefinition.content_hash).where(
                    ProcessDefinition.content_hash.in_(list(case.pins.values()))))
                if case.pins.get(key) == content_hash}
            return build(case, events, tasks, documents, self.clock.now(), versions)

    def diagram(self, case_id: int, process_key: str, actor: Actor) -> Diagram:
        """The pinned version of `process_key` that the case runs on: a newer deployment
        never changes the diagram of a running case."""
        with self.db.reading() as session:
            case = self._readable(session, case_id, actor)
            process_key = ids.process_key(process_key)
            if process_key not in case.pins:
                raise NotFound(f"办件不涉及流程 {process_key}")
            row = self.definitions.by_hash(session, process_key, case.pins[process_key])
            return Diagram(row.key, row.version, row.name, row.content_hash, row.bpmn_xml)

    @staticmethod
    def _readable(session, case_id: int, actor: Actor) -> CaseRecord:
        from engine.cases.service import readable_case

        return readable_case(session, case_id, actor)
