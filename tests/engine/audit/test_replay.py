"""The auditor's step-through and re-execution check: the timeline with data diffs, the
state as of any event (parallel branches, loops, call activities), and re-running a case
from its pinned definitions and recorded inputs -- conformant, or the first deviation
when the record was doctored (even with every hash recomputed)."""
from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from sqlalchemy import update

from engine.cases import eventlog as audit
from engine.audit import replay
from engine.worktime.clock import SHANGHAI
from engine.errors import NotFound
from engine.store.models import CaseEvent, CaseRecord, ProcessDefinition
from engine.cases.dto import Actor
from tests.conftest import FIXTURES, deploy_files
from tests.engine.audit.test_checkpoints import chain_ok, edit_payload, events_of, rewrite_chain
from tests.scenarios.test_construction_permit import (ACCEPT, FRONT, HOUSING, ITEMS, issue,
                                                       review, review_all, start, task)

ADMIN = Actor("admin", frozenset({"admin"}))


@pytest.fixture
def loops(runtime):
    deploy_files(runtime, FIXTURES / "parallel_loop.bpmn", FIXTURES / "timed_review.bpmn")
    return runtime


def run_rounds(rt, clock, limit: int):
    """parallel_loop: task_a then task_b in every round, an hour apart."""
    case = rt.cases.start_case("parallel_loop", {"limit": limit}, ADMIN)
    while case.tasks:
        clock.advance(hours=1)
        first = sorted(case.tasks, key=lambda t: t.task_spec)[0]
        case = rt.cases.complete(first.id, {f"seen_{first.task_spec}": True}, ADMIN)
    return case


def seq_of(rt, case_id, kind, task_spec=None, nth=0) -> int:
    with rt.db.reading() as session:
        return [e.seq for e in events_of(session, case_id) if e.kind == kind
                and (task_spec is None or e.task_spec == task_spec)][nth]


# -- timeline ------------------------------------------------------------------------------

def test_timeline_lists_every_event_with_who_when_and_the_data_it_changed(loops, clock):
    case = run_rounds(loops, clock, 2)
    with loops.db.reading() as session:
        steps = replay.timeline(session, case.id)
    assert [s.seq for s in steps] == list(range(1, len(steps) + 1))
    assert steps[0].kind == audit.CASE_STARTED and steps[0].actor == "admin"
    assert [c.as_tuple() for c in steps[0].changes] == [("limit", None, 2)]
    created = next(s for s in steps if s.kind == audit.TASK_CREATED)
    assert (created.task_name, created.process_key) == ("甲审查", "parallel_loop")
    done_a = [s for s in steps if s.kind == audit.TASK_COMPLETED and s.task_spec == "task_a"]
    assert done_a[0].task_name == "甲审查"
    assert [c.as_tuple() for c in done_a[0].changes] == [("seen_task_a", None, True)]
    assert done_a[1].changes == []  # the second round sends the same value again
    ending = steps[-1]
    assert ending.kind == audit.CASE_COMPLETED
    assert ("rounds", None, 2) in [c.as_tuple() for c in ending.changes]
    assert ("history", None, [1, 2]) in [c.as_tuple() for c in ending.changes]
    assert steps[3].at < steps[-1].at and all(s.hash for s in steps)


def test_diff_walks_nested_data():
    changes = replay.diff({"a": {"b": 1, "c": [1]}, "gone": 1}, {"a": {"b": 2, "c": [1]}, "x": 3})
    assert [c.as_tuple() for c in changes] == [("a.b", 1, 2), ("gone", 1, None), ("x", None, 3)]


def test_unknown_case_is_not_found(loops):
    with loops.db.reading() as session, pytest.raises(NotFound):
        replay.timeline(session, 999)
    with pytest.raises(NotFound):
        replay.reexecute(loops, 999)


# -- state as of an event: parallel branches and loops --------------------------------------

def test_state_at_shows_tokens_in_parallel_branches_and_each_round_of_the_loop(loops, clock):
    case = run_rounds(loops, clock, 2)
    first_a = seq_of(loops, case.id, audit.TASK_COMPLETED, "task_a", 0)
    snap = replay.state_at(loops, case.id, first_a)
    proc = snap.processes["parallel_loop"]
    assert snap.status == "running" and snap.deviation is None and proc.version == 1
    assert proc.active == ["task_b"] and proc.waiting == ["join"]
    assert proc.tokens == {"join": 1, "task_b": 1}
    assert {"start", "init", "split", "task_a"} <= set(proc.completed)
    assert "count" not in proc.completed
    assert snap.data["rounds"] == 0 and snap.data["seen_task_a"] is True
    second_round = replay.state_at(loops, case.id, seq_of(loops, case.id, audit.TASK_COMPLETED,
                                                          "task_b", 0))
    proc = second_round.processes["parallel_loop"]
    assert proc.active == ["task_a", "task_b"] and proc.waiting == []
    assert proc.tokens == {"task_a": 1, "task_b": 1}
    assert {"join", "count", "more"} <= set(proc.completed)
    assert second_round.data["rounds"] == 1 and second_round.data["history"] == [1]
    end = replay.state_at(loops, case.id, 10_000)  # clamped to the last event
    assert end.status == "completed" and end.processes["parallel_loop"].tokens == {}
    assert "end" in end.processes["parallel_loop"].completed
    assert end.data["history"] == [1, 2]
    before = replay.state_at(loops, case.id, 0)
    assert before.processes["parallel_loop"].completed == [] and before.data == {}


def test_snapshots_step_forward_and_back_in_one_replay(loops, clock):
    case = run_rounds(loops, clock, 1)
    snaps = replay.snapshots(loops, case.id)
    with loops.db.reading() as session:
        events = events_of(session, case.id)
    assert [s.seq for s in snaps] == [e.seq for e in events]
    assert [s.at for s in snaps] == [e.at for e in events]
    tokens = [s.processes["parallel_loop"].tokens for s in snaps]
    assert tokens[0] == {"task_a": 1, "task_b": 1}
    assert {"join": 1, "task_b": 1} in tokens and tokens[-1] == {}
    assert snaps[-1].status == "completed"


def test_state_at_follows_call_activities_of_a_one_thing(deployed, clock):
    rt = deployed
    case = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    fire = task(case, "fire_design_review_review")
    clock.advance(hours=1)
    case = rt.cases.complete(fire.id, review("correct", "fire_design_review"), HOUSING)
    snap = replay.state_at(rt, case.id, seq_of(rt, case.id, audit.TASK_COMPLETED,
                                               "fire_design_review_review"))
    top = snap.processes["onething_construction_permit"]
    assert "front_desk_acceptance" in top.completed
    assert len(top.active) == len(ITEMS) and all(a.startswith("call_") for a in top.active)
    fire_item = snap.processes["item_fire_design_review"]
    assert fire_item.active == ["fire_design_review_correction"]
    assert "fire_design_review_review" in fire_item.completed
    assert snap.processes["item_night_construction"].active == ["night_construction_review"]
    assert snap.data["fire_design_review_decision"] == "correct"


# -- re-execution -------------------------------------------------------------------------------

def test_real_scenario_cases_re_execute_conformant(deployed, clock):
    rt = deployed
    case = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    clock.advance(hours=3)
    case = rt.cases.complete(task(case, "fire_design_review_review").id,
                             review("correct", "fire_design_review"), HOUSING)
    case = rt.cases.complete(task(case, "fire_design_review_correction").id,
                             {"fire_design_review_corrected": True}, FRONT)
    clock.advance(days=1)
    issue(rt, review_all(rt, case, lambda k: "refuse" if k == "night_construction" else "approve"))
    running = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    result = replay.reexecute(rt, case.id)
    assert result.conformant and result.chain_ok, result.summary()
    assert result.replayed == result.events > 30 and result.deviation is None
    assert "一致" in result.summary()
    assert replay.reexecute(rt, running.id).conformant


def test_a_timer_firing_re_executes_on_its_recorded_time(loops, clock):
    clock.set(datetime(2026, 9, 29, 10, 0, tzinfo=SHANGHAI))
    case = loops.cases.start_case("timed_review", {}, ADMIN)
    clock.set(datetime(2026, 10, 9, 8, 0, tzinfo=SHANGHAI))
    assert loops.timers.run_once().fired == 1
    clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI))  # replay happens much later
    result = replay.reexecute(loops, case.id)
    assert result.conformant, result.summary()
    snap = replay.state_at(loops, case.id, seq_of(loops, case.id, audit.TIMER_FIRED))
    assert snap.processes["timed_review"].active == ["escalated"]
    waiting = replay.state_at(loops, case.id, 1).processes["timed_review"]
    assert waiting.active == ["review"] and waiting.waiting == ["too_late"]


def test_tampered_task_data_with_recomputed_hashes_is_a_deviation(loops, clock):
    case = loops.cases.start_case("parallel_loop", {"limit": 1}, ADMIN)
    while case.tasks:
        case = loops.cases.complete(case.tasks[0].id, {}, ADMIN)
    edit_payload(loops, case.id, 1, lambda p: p["data"].update(limit=2))  # one more round
    rewrite_chain(loops, case.id)
    assert chain_ok(loops, case.id)
    result = replay.reexecute(loops, case.id)
    assert not result.conformant and result.chain_ok
    ending = seq_of(loops, case.id, audit.CASE_COMPLETED)
    # With limit 2 the engine loops again where the record says the case ended.
    assert result.deviation.seq == ending - 1 or result.deviation.seq == ending
    assert result.deviation.kind in (replay.TASKS_DIFFER, replay.ENDING_DIFFERS)
    assert "不一致" in result.summary()


def test_tampered_decision_in_a_one_thing_sends_the_replay_elsewhere(deployed):
    rt = deployed
    case = start(rt)
    rt.cases.complete(case.tasks[0].id, ACCEPT, FRONT)
    completed = seq_of(rt, case.id, audit.TASK_COMPLETED, "front_desk_acceptance")
    edit_payload(rt, case.id, completed,
                 lambda p: p["data"].update(acceptance_decision="notify"))
    rewrite_chain(rt, case.id)
    result = replay.reexecute(rt, case.id)
    assert not result.conformant
    assert result.deviation.kind == replay.TASKS_DIFFER
    assert result.deviation.seq > completed  # the first review the record opened
    assert result.deviation.actual == ["supplement_materials"]


def test_changed_completion_data_is_data_that_differs(loops):
    case = loops.cases.start_case("parallel_loop", {"limit": 1}, ADMIN)
    while case.tasks:
        case = loops.cases.complete(case.tasks[0].id, {}, ADMIN)
    ending = seq_of(loops, case.id, audit.CASE_COMPLETED)
    edit_payload(loops, case.id, ending, lambda p: p["data"].update(rounds=7))
    rewrite_chain(loops, case.id)
    result = replay.reexecute(loops, case.id)
    assert (result.deviation.seq, result.deviation.kind) == (ending, replay.DATA_DIFFERS)
    assert (result.deviation.expected, result.deviation.actual) == (7, 1)
    assert "rounds" in result.deviation.message


def test_an_injected_completion_of_a_task_that_was_not_enabled_is_found(deployed, clock):
    rt = deployed
    case = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)  # twelve reviews open
    with rt.db.transaction() as session:
        row = session.get(CaseRecord, case.id)
        last = events_of(session, case.id)[-1]
        forged = dict(case_id=case.id, seq=row.event_count + 1, kind=audit.TASK_COMPLETED,
                      actor="chujian", at=clock.now(), task_id=str(uuid.uuid4()),
                      task_spec="issuance", definition_hash=last.definition_hash,
                      payload='{"data":{"delivery_method":"window"},'
                              '"process":"onething_construction_permit"}',
                      prev_hash=row.head_hash)
        digest = audit.event_hash(**forged)
        session.add(CaseEvent(**forged, hash=digest))
        session.execute(update(CaseRecord).where(CaseRecord.id == case.id).values(
            event_count=forged["seq"], head_hash=digest))
    assert chain_ok(rt, case.id)  # well forged
    result = replay.reexecute(rt, case.id)
    assert (result.deviation.seq, result.deviation.kind) == (forged["seq"], replay.NOT_ENABLED)
    assert "issuance" in result.deviation.message
    snap = replay.state_at(rt, case.id, forged["seq"])
    assert snap.deviation is not None and snap.deviation.kind == replay.NOT_ENABLED


def test_a_missing_definition_version_is_reported(loops):
    case = loops.cases.start_case("parallel_loop", {"limit": 1}, ADMIN)
    with loops.db.transaction() as session:
        session.execute(update(ProcessDefinition).where(ProcessDefinition.key == "parallel_loop")
                        .values(content_hash="0" * 64))
    loops.definitions.specs.__init__()  # a fresh process would not have it cached
    result = replay.reexecute(loops, case.id)
    assert (result.deviation.seq, result.deviation.kind) == (1, replay.DEFINITION_MISSING)


def test_batch_mode_checks_every_case_and_reports_the_deviating_ones(loops, clock):
    good = run_rounds(loops, clock, 1)
    bad = run_rounds(loops, clock, 1)
    ending = seq_of(loops, bad.id, audit.CASE_COMPLETED)
    edit_payload(loops, bad.id, ending, lambda p: p["data"].update(rounds=0))  # not rewritten
    seen = []
    report = replay.reexecute_all(loops, progress=seen.append)
    assert [r.case_id for r in report.results] == [good.id, bad.id] == [r.case_id for r in seen]
    assert not report.ok and [r.case_id for r in report.deviating] == [bad.id]
    broken = report.results[1]
    assert not broken.chain_ok and broken.deviation.kind == replay.DATA_DIFFERS
    doc = report.to_dict()
    assert (doc["checked"], doc["conformant"], doc["deviating"]) == (2, 1, 1)
    assert doc["cases"][1]["deviation"]["seq"] == ending
    assert doc["cases"][1]["deviation"]["expected"] == 0


def test_incidents_retries_and_cancellation_re_execute_conformant(loops, clock):
    deploy_files(loops, FIXTURES / "script_divide.bpmn")
    case = loops.cases.start_case("divide", {}, ADMIN)
    clock.advance(minutes=5)
    case = loops.cases.complete(case.tasks[0].id, {"n": 0}, ADMIN)  # 100 // 0
    assert case.status == "incident"
    clock.advance(minutes=5)
    case = loops.cases.retry_incident(case.incidents[0].id, ADMIN)  # fails again
    clock.advance(minutes=5)
    loops.cases.cancel(case.id, ADMIN, "申请人撤回")
    result = replay.reexecute(loops, case.id)
    assert result.conformant, result.summary()
    raised = seq_of(loops, case.id, audit.INCIDENT_RAISED)
    assert replay.state_at(loops, case.id, raised).status == "incident"
    assert replay.state_at(loops, case.id, 10_000).status == "cancelled"

    parallel = loops.cases.start_case("parallel_loop", {"limit": 3}, ADMIN)
    clock.advance(hours=1)
    loops.cases.cancel(parallel.id, ADMIN, "重复申请")
    assert replay.reexecute(loops, parallel.id).conformant
    end = replay.state_at(loops, parallel.id, 10_000)
    assert end.status == "cancelled" and end.processes["parallel_loop"].active == []


def test_a_migrated_and_a_reverted_case_re_execute_conformant(runtime):
    from engine.studio.migration import Migrations
    from tests.studio_variants import V1, V2, deploy_text

    clerk = Actor("clerk", frozenset({"frontdesk"}), frozenset({"综合受理窗口", "审查科", "督办科"}))
    deploy_text(runtime, V1)
    migrations = Migrations(runtime.cases)
    moved = runtime.cases.start_case("simple_permit", {}, clerk)
    moved = runtime.cases.complete(moved.tasks[0].id, {"applicant": "张三"}, clerk)
    back = runtime.cases.start_case("simple_permit", {}, clerk)
    back = runtime.cases.complete(back.tasks[0].id, {"applicant": "李四"}, clerk)
    deploy_text(runtime, V2)
    migrations.migrate(moved.number, "simple_permit", 2, "analyst")
    undone = migrations.migrate(back.number, "simple_permit", 2, "analyst")
    after = runtime.cases.complete(moved.tasks[0].id, {"opinion": "同意"}, clerk)
    runtime.cases.complete(after.tasks[0].id, {"licence_no": "XK-1"}, clerk)  # v2's sign_off
    migrations.revert(undone.id, "analyst")
    runtime.cases.complete(back.tasks[0].id, {"opinion": "同意"}, clerk)
    for case in (moved, back):
        result = replay.reexecute(runtime, case.id)
        assert result.conformant, result.summary()
    end = replay.state_at(runtime, moved.id, 10_000)
    assert end.status == "completed" and "sign_off" in end.processes["simple_permit"].completed
    assert end.processes["simple_permit"].version == 2
    with runtime.db.reading() as session:
        steps = replay.timeline(session, moved.id)
    assert {s.process_key for s in steps} == {"simple_permit"}


def test_materials_supplied_later_re_execute_conformant(deployed, clock):
    from tests.scenarios.test_deficiency import MISSING, start_deficient, upload

    rt = deployed
    during = start_deficient(rt)  # supplied while the reviews run
    for m in MISSING:
        clock.advance(hours=1)
        rt.deficiencies.supply(during.id, m.field, upload(rt), FRONT)
    issue(rt, review_all(rt, rt.cases.get_case(during.id, ADMIN)))
    gate = review_all(rt, start_deficient(rt))  # the last one completes the waiting gate
    for m in MISSING:
        clock.advance(hours=1)
        rt.deficiencies.supply(gate.id, m.field, upload(rt), FRONT)
    for case in (during, gate):
        result = replay.reexecute(rt, case.id)
        assert result.conformant, result.summary()
    with rt.db.reading() as session:
        supplied = [s for s in replay.timeline(session, gate.id)
                    if s.kind == audit.MATERIAL_SUPPLIED]
    assert [c.path for c in supplied[0].changes if c.path == MISSING[0].field] == [
        MISSING[0].field]
