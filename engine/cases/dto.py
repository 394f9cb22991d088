"""The plain data the engine hands out (data transfer objects): who acts (`Actor`) and
read-only views of cases, tasks, events and incidents — never ORM rows or workflow objects."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from engine.worktime.clock import SHANGHAI
from engine.store.models import CaseEvent, CaseRecord, HumanTask, Incident


@dataclass(frozen=True)
class Actor:
    """Who is acting: a clerk, an analyst, a system with an API token."""

    username: str
    roles: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()  # departments / windows = BPMN lane names

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def works_in(self, lane: str | None) -> bool:
        return self.is_admin or lane is None or lane in self.groups


SYSTEM = Actor("system", frozenset({"admin"}))


def _iso(moment: datetime | None) -> str | None:
    """Times are shown in Beijing time, whichever database they came from."""
    return moment.astimezone(SHANGHAI).isoformat() if moment else None


@dataclass(frozen=True)
class TaskView:
    id: str
    case_id: int
    case_number: str | None
    process_key: str
    task_spec: str
    name: str
    lane: str | None
    form_key: str | None
    definition_hash: str
    state: str
    assignee: str | None
    created_at: datetime
    claimed_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    due_at: datetime | None

    @classmethod
    def of(cls, row: HumanTask, case_number: str | None = None) -> "TaskView":
        return cls(row.id, row.case_id, case_number, row.process_key, row.task_spec, row.name,
                   row.lane, row.form_key, row.definition_hash, row.state, row.assignee,
                   row.created_at, row.claimed_at, row.completed_at, row.completed_by, row.due_at)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("created_at", "claimed_at", "completed_at", "due_at"):
            out[key] = _iso(out[key])
        return out


@dataclass(frozen=True)
class IncidentView:
    id: int
    task_id: str | None
    task_spec: str | None
    message: str
    created_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, row: Incident) -> "IncidentView":
        return cls(row.id, row.task_id, row.task_spec, row.message, row.created_at,
                   row.resolved_at)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "task_id": self.task_id, "task_spec": self.task_spec,
                "message": self.message, "created_at": _iso(self.created_at),
                "resolved_at": _iso(self.resolved_at)}


@dataclass(frozen=True)
class CaseView:
    id: int
    number: str
    process_key: str
    definition_version: int
    status: str
    title: str | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    created_by: str | None
    version: int
    tasks: tuple[TaskView, ...] = ()
    incidents: tuple[IncidentView, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, case: CaseRecord, definition_version: int, tasks=(), incidents=(), data=None):
        return cls(case.id, case.number, case.process_key, definition_version, case.status,
                   case.title, case.created_at, case.updated_at, case.ended_at, case.created_by,
                   case.version, tuple(tasks), tuple(incidents), dict(data or {}))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "number": self.number, "process": self.process_key,
                "definition_version": self.definition_version, "state": self.status,
                "title": self.title, "created_at": _iso(self.created_at),
                "updated_at": _iso(self.updated_at), "ended_at": _iso(self.ended_at),
                "created_by": self.created_by, "version": self.version,
                "tasks": [t.to_json() for t in self.tasks],
                "incidents": [i.to_json() for i in self.incidents]}


def event_json(event: CaseEvent) -> dict[str, Any]:
    from engine.cases import canonical

    return {"seq": event.seq, "kind": event.kind, "actor": event.actor, "at": _iso(event.at),
            "task_id": event.task_id, "task_spec": event.task_spec,
            "definition_hash": event.definition_hash,
            "payload": canonical.encode(canonical.loads(event.payload)),
            "prev_hash": event.prev_hash, "hash": event.hash}
