"""Pruned, spec-less state must behave exactly like SpiffWorkflow's full task tree."""
from __future__ import annotations

import random

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.util.task import TaskState

from engine.cases import state
from engine.sandbox import script_engine
from tests.conftest import FIXTURES, PROCESSES

pytestmark = pytest.mark.usefixtures("raw_spiff_clock")

ENGINE = script_engine()


def specs(key, *paths):
    parser = CamundaParser()
    parser.add_bpmn_files([str(p) for p in paths])
    return parser.get_spec(key), parser.get_subprocess_specs(key)


def ready_specs(workflow):
    return sorted(t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True))


def data_for(task, step):
    name = task.task_spec.name
    if name == "front_desk_acceptance":
        return {"acceptance_decision": "accept"}
    if name.endswith("_review"):
        key = name.removesuffix("_review")
        return {f"{key}_decision": "approve", f"{key}_opinion": f"意见{step}"}
    if name == "review":
        return {"again": step < 40, "note": f"第{step}轮"}
    return {"step": step}


def drive_side_by_side(key, paths, start_data, seed):
    spec, subs = specs(key, *paths)
    full = BpmnWorkflow(spec, subs, script_engine=ENGINE)
    pruned = BpmnWorkflow(spec, subs, script_engine=ENGINE)
    for wf in (full, pruned):
        wf.task_tree.data.update(start_data)
        wf.do_engine_steps()
    choose = random.Random(seed)
    step = 0
    while True:
        assert ready_specs(full) == ready_specs(pruned), f"diverged at step {step}"
        ready = ready_specs(full)
        if not ready:
            break
        name = choose.choice(ready)
        for wf in (full, pruned):
            task = next(t for t in wf.get_tasks(state=TaskState.READY, manual=True)
                        if t.task_spec.name == name)
            task.data.update(data_for(task, step))
            task.run()
            wf.do_engine_steps()
        state.prune(pruned)
        pruned = state.load(state.dump(pruned), spec, subs, ENGINE)
        step += 1
    assert full.is_completed() and pruned.is_completed()
    assert pruned.data == full.data
    return full, pruned, step


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_construction_permit_one_thing_behaves_the_same_when_pruned(seed):
    paths = [PROCESSES / "onethings" / "construction_permit.bpmn",
             *sorted((PROCESSES / "items").glob("*.bpmn")),
             *sorted((PROCESSES / "common").glob("*.bpmn"))]
    # The permit applies (≥ 30万元 or ≥ 300 m²) and nothing was deferred (容缺 gate passes).
    data = {"project_name": "测试", "investment": 100, "floor_area": 1000,
            "deficiency_outstanding": False}
    full, pruned, steps = drive_side_by_side("onething_construction_permit", paths, data, seed)
    assert steps == 14


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_parallel_join_in_a_loop_waits_for_both_branches_every_round(seed):
    """Raw SpiffWorkflow counts the tokens of earlier rounds at a looping parallel join
    (finishing the branches in a different order than last round fires the join early,
    or crashes); with finished history pruned after every step, each round waits for
    both of its own branches."""
    spec, subs = specs("parallel_loop", FIXTURES / "parallel_loop.bpmn")
    wf = BpmnWorkflow(spec, subs, script_engine=ENGINE)
    wf.task_tree.data["limit"] = 12
    wf.do_engine_steps()
    choose = random.Random(seed)
    for round_ in range(12):
        assert ready_specs(wf) == ["task_a", "task_b"], f"round {round_}"
        first = choose.choice(["task_a", "task_b"])
        for name in (first, ({"task_a", "task_b"} - {first}).pop()):
            task = next(t for t in wf.get_tasks(state=TaskState.READY, manual=True)
                        if t.task_spec.name == name)
            task.run()
            wf.do_engine_steps()
            state.prune(wf)
            wf = state.load(state.dump(wf), spec, subs, ENGINE)
            if name == first:
                assert ready_specs(wf) == [({"task_a", "task_b"} - {first}).pop()]
    assert wf.is_completed() and wf.data["rounds"] == 12
    assert wf.data["history"] == list(range(1, 13))


def test_loop_behaves_the_same_and_stays_small_when_pruned():
    full, pruned, steps = drive_side_by_side("loop_review", [FIXTURES / "loop.bpmn"], {}, 0)
    assert steps == 41
    assert len(pruned.tasks) < 15 < len(full.tasks)


def test_state_holds_no_spec_and_round_trips_typed_values():
    from datetime import date
    from decimal import Decimal

    spec, subs = specs("loop_review", FIXTURES / "loop.bpmn")
    wf = BpmnWorkflow(spec, subs, script_engine=ENGINE)
    wf.task_tree.data.update({"amount": Decimal("12.50"), "day": date(2026, 11, 20)})
    wf.do_engine_steps()
    text = state.dump(wf)
    assert '"spec"' not in text and "subprocess_specs" not in text
    again = state.load(text, spec, subs, ENGINE)
    task = again.get_tasks(state=TaskState.READY, manual=True)[0]
    assert task.data["amount"] == Decimal("12.50") and task.data["day"] == date(2026, 11, 20)


def test_unknown_state_format_is_refused():
    spec, subs = specs("loop_review", FIXTURES / "loop.bpmn")
    with pytest.raises(ValueError):
        state.load('{"format": "other"}', spec, subs, ENGINE)
