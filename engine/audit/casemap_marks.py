"""What a case map is made of: the marks of each BPMN element, each pinned process and
each item of a one-thing, with their JSON form for the diagram. Plain data, no queries:
`engine.audit.casemap` computes them from the audit log (and re-exports every name here).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.cases.dto import _iso

# Element states (also the CSS marker names the diagram uses).
COMPLETED = "completed"
ACTIVE = "active"
CANCELLED = "cancelled"
ELEMENT_STATES = (COMPLETED, ACTIVE, CANCELLED)

# Item states of a one-thing, and their Chinese names.
ITEM_WAITING = "waiting"
ITEM_REVIEW = "review"
ITEM_CORRECTION = "correction"
ITEM_APPROVED = "approved"
ITEM_REFUSED = "refused"
ITEM_DONE = "done"
ITEM_CANCELLED = "cancelled"
ITEM_LABELS = {
    ITEM_WAITING: "待受理", ITEM_REVIEW: "审查中", ITEM_CORRECTION: "补正中",
    ITEM_APPROVED: "准予许可", ITEM_REFUSED: "不予许可", ITEM_DONE: "已办结",
    ITEM_CANCELLED: "已撤销",
}
# `<item>_decision` values that end an item's review; any other value (e.g. a request to
# correct the application) leaves the item waiting for the applicant.
FINAL_DECISIONS = {"approve": ITEM_APPROVED, "refuse": ITEM_REFUSED}

FLOW_NODES = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
              "boundaryEvent", "task", "userTask", "manualTask", "scriptTask", "sendTask",
              "receiveTask", "serviceTask", "businessRuleTask", "callActivity", "subProcess",
              "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway")
ACTIVITIES = {"task", "userTask", "manualTask", "scriptTask", "sendTask", "receiveTask",
              "serviceTask", "businessRuleTask", "callActivity", "subProcess"}


@dataclass(frozen=True)
class Completion:
    actor: str | None
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"actor": self.actor, "at": _iso(self.at)}


@dataclass(frozen=True)
class OpenTask:
    id: str
    name: str
    lane: str | None
    assignee: str | None
    created_at: datetime
    due_at: datetime | None
    overdue: bool

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "lane": self.lane, "assignee": self.assignee,
                "created_at": _iso(self.created_at), "due_at": _iso(self.due_at),
                "overdue": self.overdue}


@dataclass
class ElementMark:
    """One BPMN element of one process of the case."""

    id: str
    name: str
    kind: str  # BPMN tag without namespace: userTask, callActivity, startEvent, ...
    completed: int = 0
    cancelled: int = 0
    completions: list[Completion] = field(default_factory=list)
    open_tasks: list[OpenTask] = field(default_factory=list)
    incident: bool = False

    @property
    def active(self) -> int:
        return len(self.open_tasks)

    @property
    def overdue(self) -> bool:
        return any(t.overdue for t in self.open_tasks)

    @property
    def state(self) -> str | None:
        """active beats completed beats cancelled; None = not reached (as far as we know)."""
        if self.open_tasks:
            return ACTIVE
        if self.completed:
            return COMPLETED
        if self.cancelled:
            return CANCELLED
        return None

    @property
    def last(self) -> Completion | None:
        return self.completions[-1] if self.completions else None

    @property
    def is_activity(self) -> bool:
        return self.kind in ACTIVITIES

    def markers(self) -> list[str]:
        marks = [self.state] if self.state else []
        if self.overdue:
            marks.append("overdue")
        if self.incident:
            marks.append("incident")
        return marks

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "state": self.state,
                "markers": self.markers(), "completed": self.completed,
                "active": self.active, "cancelled": self.cancelled, "overdue": self.overdue,
                "incident": self.incident,
                "completions": [c.to_json() for c in self.completions],
                "open_tasks": [t.to_json() for t in self.open_tasks]}


@dataclass
class ProcessMap:
    """The marks of one pinned process: the case's own, or an item it calls."""

    key: str
    name: str
    version: int | None
    content_hash: str
    role: str  # "case" (the process the case runs) or "item" (reached by a call activity)
    elements: list[ElementMark]
    call_activity: str | None = None  # the element of the case's diagram that calls it

    def element(self, element_id: str) -> ElementMark | None:
        return next((e for e in self.elements if e.id == element_id), None)

    @property
    def marked(self) -> list[ElementMark]:
        return [e for e in self.elements if e.state or e.incident]

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "version": self.version,
                "hash": self.content_hash, "role": self.role,
                "call_activity": self.call_activity,
                "elements": {e.id: e.to_json() for e in self.elements if e.state or e.incident}}


@dataclass
class ItemState:
    """One item (事项) of a one-thing."""

    key: str
    name: str
    call_activity: str
    state: str
    department: str | None = None  # the lane of the item's review (or first user) task
    decision: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    open_tasks: list[OpenTask] = field(default_factory=list)

    @property
    def label(self) -> str:
        return ITEM_LABELS[self.state]

    @property
    def overdue(self) -> bool:
        return any(t.overdue for t in self.open_tasks)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "call_activity": self.call_activity,
                "state": self.state, "label": self.label, "department": self.department,
                "decision": self.decision, "decided_by": self.decided_by,
                "decided_at": _iso(self.decided_at), "overdue": self.overdue,
                "open_tasks": [t.to_json() for t in self.open_tasks]}


@dataclass
class CaseMap:
    case_id: int
    number: str
    process_key: str
    status: str
    now: datetime
    processes: list[ProcessMap]  # the case's own first, then items in diagram order
    items: list[ItemState]  # empty unless the case is a one-thing

    @property
    def is_one_thing(self) -> bool:
        return bool(self.items)

    def process(self, key: str) -> ProcessMap | None:
        return next((p for p in self.processes if p.key == key), None)

    def to_json(self) -> dict[str, Any]:
        return {"case": {"id": self.case_id, "number": self.number,
                         "process": self.process_key, "state": self.status},
                "now": _iso(self.now),
                "processes": [p.to_json() for p in self.processes],
                "items": [i.to_json() for i in self.items]}
