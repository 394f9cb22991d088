"""A case's SpiffWorkflow state in and out of the database.

Two choices keep the cost of a step flat however long a case runs:
- the spec is not part of the state: it is stored once per definition version and
  handed in from the spec cache when a case is loaded;
- finished history is pruned from the task tree after every step: of everything that
  is not under the nearest common ancestor of the unfinished tasks, only the latest
  ancestor of each spec is kept (see `_compressed_ancestry`), and finished call-activity
  subprocesses are forgotten. SpiffWorkflow's tree is not our record (the
  audit log is), and without pruning a loop grows the tree, the serialised state and the
  cost of every later step without bound (and a tree deeper than ~1000 levels silently
  loses tasks).
"""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

STATE_FORMAT = "onething-1"


class _CaseWorkflowConverter(BpmnWorkflowConverter):
    """Serialises a workflow without its specs; restores it around cached specs."""

    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = _CaseWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(date, lambda v: {"value": v.isoformat()},
                      lambda v: date.fromisoformat(v["value"]), typename="date")
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]),
                      typename="Decimal")
    return BpmnWorkflowSerializer(registry)


_SERIALIZER = _make_serializer()


def dump(workflow: BpmnWorkflow) -> str:
    """The workflow's state as JSON text, without specs."""
    registry = _SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = _SERIALIZER.to_dict(workflow)
        dct["format"] = STATE_FORMAT
        return json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":"))
    finally:
        registry._encoder_mode = False


def load(text: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    """Rebuild a workflow from `dump` output around the (cached) specs it ran on."""
    dct = json.loads(text)
    if dct.pop("format", None) != STATE_FORMAT:
        raise ValueError("unknown case state format")
    workflow = _SERIALIZER.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow


RUNNING = TaskState.READY | TaskState.WAITING | TaskState.ERROR | TaskState.STARTED


def current_data(workflow: BpmnWorkflow) -> dict:
    """The case's data as its next steps see it: the workflow's own once it has ended,
    else what its running tasks carry, merged (parallel branches each hold a copy until a
    join keeps one). Not a copy: callers that change it copy it first."""
    running = workflow.get_tasks(state=RUNNING)
    if workflow.is_completed() or not running:
        return dict(workflow.data)
    merged: dict = {}
    for task in running:
        merged.update(task.data)
    return merged


def prune(workflow: BpmnWorkflow) -> int:
    """Drop finished history that no unfinished task can reach; returns tasks removed."""
    removed = _forget_finished_subprocesses(workflow)
    for wf in [workflow, *workflow.subprocesses.values()]:
        removed += _prune_tree(wf)
    return removed


def _forget_finished_subprocesses(workflow: BpmnWorkflow) -> int:
    removed = 0
    for task_id, subprocess in list(workflow.subprocesses.items()):
        if task_id not in workflow.subprocesses:
            continue  # already dropped as the child of a dropped subprocess
        parent_task = workflow.get_task_from_id(task_id)
        if subprocess.completed and (parent_task is None
                                     or parent_task.has_state(TaskState.FINISHED_MASK)):
            removed += len(workflow.delete_subprocess(parent_task)) if parent_task else 0
    return removed


def _prune_tree(wf: BpmnBaseWorkflow) -> int:
    unfinished = [t for t in wf.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not unfinished:
        return 0
    keep_from = _nearest_common_ancestor(unfinished)
    chain = _compressed_ancestry(keep_from)
    keep = {t.id for t in chain} | {t.id for t in _descendants(keep_from)}
    if len(keep) == len(wf.tasks):
        return 0
    removed = [tid for tid in wf.tasks if tid not in keep]
    for tid in removed:
        del wf.tasks[tid]
    for parent, child in zip(chain, chain[1:]):
        parent._children = [child.id]
        child._parent = parent.id
    if wf.last_task is not None and wf.last_task.id not in keep:
        wf.last_task = None
    return len(removed)


def _compressed_ancestry(task: Task) -> list[Task]:
    """The path from the root to `task`, keeping only the LAST task of each spec.

    SpiffWorkflow looks up the tree for "the nearest ancestor whose spec is one of …"
    (a parallel gateway that closes a loop walks back to the task that first entered it;
    boundary-event joins look for their split). The nearest ancestor of a spec is always
    the last one of that spec on the path, so keeping those answers every such question
    exactly as the full history would, in a chain no longer than the process has specs.
    """
    path = _ancestry(task)
    if len(path) <= 2:
        return path
    middle = path[1:-1]
    last_seen = {t.task_spec.name: i for i, t in enumerate(middle)}
    kept = [t for i, t in enumerate(middle) if last_seen[t.task_spec.name] == i]
    return [path[0], *kept, path[-1]]


def _ancestry(task: Task) -> list[Task]:
    chain = []
    while task is not None:
        chain.append(task)
        task = task.parent
    chain.reverse()
    return chain


def _nearest_common_ancestor(tasks: list[Task]) -> Task:
    common = _ancestry(tasks[0])
    for task in tasks[1:]:
        chain = _ancestry(task)
        length = 0
        for a, b in zip(common, chain):
            if a is not b:
                break
            length += 1
        common = common[:length]
    return common[-1]


def _descendants(task: Task):
    stack = [task]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)
