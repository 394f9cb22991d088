"""Small pure helpers of the case runtime: no session, no service state."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.cases import canonical
from engine.worktime.clock import SHANGHAI
from engine.cases.clocks import STARTS_CLOCK
from engine.store.models import CaseRecord, ProcessDefinition


def touch(case: CaseRecord, now: datetime) -> None:
    """Mark the case changed at `now`."""
    # Always changing the row makes SQLAlchemy issue the versioned UPDATE, so two
    # writers of the same case can never both commit.
    case.updated_at = now


def hash_for(case: CaseRecord, process_key: str) -> str:
    """The content hash of the definition of `process_key` the case is pinned to (the
    case's own process when `process_key` is not pinned)."""
    return case.pins.get(process_key) or case.pins[case.process_key]


def has_acceptance_step(spec) -> bool:
    """Whether the diagram has a task that starts the statutory clock (受理)."""
    return any((getattr(t, "extensions", None) or {}).get(STARTS_CLOCK)
               for t in spec.task_specs.values())


def spec_of(workflow: BpmnWorkflow, process_key: str, task_spec: str):
    """The task spec `task_spec` of process `process_key` in the workflow, or None."""
    spec = workflow.spec if workflow.spec.name == process_key else \
        workflow.subprocess_specs.get(process_key)
    return spec.task_specs.get(task_spec) if spec is not None else None


def timer_due(event_value) -> datetime | None:
    """When a waiting SpiffWorkflow timer is due (date timers hold an ISO time, cycle
    timers their next occurrence); naive times are Beijing time."""
    if isinstance(event_value, dict):
        event_value = event_value.get("next")
    if not isinstance(event_value, str):
        return None
    try:
        due = datetime.fromisoformat(event_value)
    except ValueError:
        return None
    return due if due.tzinfo is not None else due.replace(tzinfo=SHANGHAI)


def definition_key(case: CaseRecord, task) -> str:
    """The deployed process whose file holds `task` (embedded subprocesses belong to the
    process around them; call activities to their own deployed definition)."""
    workflow = task.workflow
    while workflow is not None and workflow.spec.name not in case.pins:
        workflow = workflow.parent_workflow
    return workflow.spec.name if workflow is not None else case.process_key


def default_title(definition: ProcessDefinition, data: dict[str, Any]) -> str:
    """The case title when none is given: the process name and the applicant or project."""
    for key in ("project_name", "operator_name", "company_name", "applicant_name",
                "builder_name"):
        if isinstance(data.get(key), str) and data[key].strip():
            return f"{definition.name}：{data[key].strip()[:200]}"
    return definition.name


def incident_message(exc: Exception, task) -> str:
    """What failed and why, in words an administrator can act on (no traceback)."""
    text = str(exc).splitlines()[0].strip() if str(exc) else exc.__class__.__name__
    where = ""
    if task is not None:
        spec = task.task_spec
        where = f"「{spec.bpmn_name or spec.bpmn_id}」({spec.bpmn_id}) 执行失败："
    return (where + text.rstrip(". "))[:2000]


def recordable(data: dict[str, Any]) -> dict[str, Any]:
    """Case data minus what the audit log cannot hold (callables, engine internals)."""
    out = {}
    for key, value in data.items():
        try:
            canonical.encode(value)
        except (TypeError, ValueError):
            continue
        out[key] = value
    return out
