"""The in-process workflow cache must never change what a case does."""
from __future__ import annotations

import random

import pytest

from engine.cases import canonical
from engine.runtime import build_runtime
from engine.cases.dto import Actor
from tests.conftest import FIXTURES, PROCESSES, deploy_files

ADMIN = Actor("admin", frozenset({"admin"}))


def drive(rt, key, start, seed, data_for):
    choose = random.Random(seed)
    case = rt.cases.start_case(key, start, ADMIN)
    seen = []
    while case.tasks:
        task = choose.choice(sorted(case.tasks, key=lambda t: t.task_spec))
        seen.append(sorted(t.task_spec for t in case.tasks))
        case = rt.cases.complete(task.id, data_for(task, len(seen)), ADMIN)
    events = [(e.kind, e.task_spec, canonical.loads(e.payload).get("data"))
              for e in rt.cases.events(case.id, ADMIN)]
    return seen, events, rt.cases.get_case(case.id, ADMIN, with_data=True).data


def review(task, step):
    if task.task_spec == "front_desk_acceptance":
        return {"acceptance_decision": "accept"}
    if task.task_spec.endswith("_review"):
        key = task.task_spec.removesuffix("_review")
        return {f"{key}_decision": "approve", f"{key}_opinion": f"意见{step}"}
    if task.task_spec == "issuance":
        return {"delivery_method": "post"}
    return {"note": f"第{step}步", "again": step < 30}


@pytest.mark.parametrize("key, start", [
    ("onething_construction_permit", {"project_name": "缓存对照"}),
    ("parallel_loop", {"limit": 10}),
    ("loop_review", {}),
])
def test_cached_and_reloaded_workflows_take_the_same_path(database_url, clock, tmp_path, key,
                                                          start):
    results = []
    for cache_size in (64, 0):
        rt = build_runtime(database_url, clock=clock, instance=tmp_path / str(cache_size))
        rt.cases.workflows.size = cache_size
        deploy_files(rt, PROCESSES, FIXTURES)
        results.append(drive(rt, key, start, seed=7, data_for=review))
        rt.db.dispose()
    cached, reloaded = results
    assert cached == reloaded


def test_a_step_by_another_process_is_seen_not_the_stale_cache(deployed, database_url, clock,
                                                                tmp_path):
    deploy_files(deployed, FIXTURES)
    here = deployed
    elsewhere = build_runtime(database_url, clock=clock, instance=tmp_path / "other")
    case = here.cases.start_case("loop_review", {}, ADMIN)
    case = here.cases.complete(case.tasks[0].id, {"again": True, "note": "这里"}, ADMIN)
    # Another process (its own cache) takes the next step...
    case = elsewhere.cases.complete(case.tasks[0].id, {"again": True, "note": "别处"}, ADMIN)
    # ...and this process, whose cache holds the older version, must not reuse it.
    case = here.cases.complete(case.tasks[0].id, {"again": False, "note": "这里"}, ADMIN)
    assert case.status == "completed"
    notes = [canonical.loads(e.payload)["data"]["note"]
             for e in here.cases.events(case.id, ADMIN) if e.kind == "task_completed"]
    assert notes == ["这里", "别处", "这里"]
    elsewhere.db.dispose()
