"""Cases from start to end through the engine service (no HTTP)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.cases.eventlog import verify_case
from engine.errors import Conflict, NotAllowed, NotFound
from engine.store.models import CaseEvent, CaseRecord, CaseState, HumanTask, Incident
from engine.cases.dto import Actor
from tests.conftest import FIXTURES, deploy_files
from web import formsource
from demo import CONSTRUCTION_APPLICATION

ADMIN = Actor("admin", frozenset({"admin"}))
FRONT = Actor("frontdesk", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
HOUSING = Actor("zjj", frozenset({"approver"}), frozenset({"住房和城乡建设局"}))
WATER = Actor("slj", frozenset({"approver"}), frozenset({"水利局"}))
ISSUE = Actor("chujian", frozenset({"issuance"}), frozenset({"统一出件窗口"}))


def application(runtime, **changes):
    with runtime.db.reading() as session:
        definition = runtime.definitions.latest(session, "onething_construction_permit")
    return formsource.clean_application(runtime, definition,
                                        {**CONSTRUCTION_APPLICATION, **changes})


def review_data(task, decision="approve"):
    key = task.task_spec.removesuffix("_review")
    return {f"{key}_decision": decision, f"{key}_opinion": "审查意见"}


@pytest.fixture
def fixtures_deployed(deployed):
    deploy_files(deployed, FIXTURES)
    return deployed


def test_case_gets_readable_number_and_front_desk_task(deployed):
    case = deployed.cases.start_case("onething_construction_permit", application(deployed), FRONT)
    assert case.number == "371500-20261120-00001"
    assert case.status == "running"
    assert [(t.name, t.lane) for t in case.tasks] == [("综合受理", "综合受理窗口")]
    second = deployed.cases.start_case("onething_construction_permit", application(deployed),
                                       FRONT)
    assert second.number == "371500-20261120-00002"


def test_case_numbers_restart_each_day(deployed, clock):
    deployed.cases.start_case("onething_construction_permit", application(deployed), FRONT)
    clock.advance(days=1)
    case = deployed.cases.start_case("onething_construction_permit", application(deployed), FRONT)
    assert case.number == "371500-20261121-00001"


def test_only_the_front_desk_accepts_applications(deployed):
    with pytest.raises(NotAllowed):
        deployed.cases.start_case("onething_construction_permit", application(deployed), HOUSING)


def test_unknown_process_is_not_found(deployed):
    with pytest.raises(NotFound):
        deployed.cases.start_case("no_such_process", {}, FRONT)


def test_construction_permit_runs_twelve_departments_in_parallel_to_issuance(deployed):
    rt = deployed
    case = rt.cases.start_case("onething_construction_permit", application(rt), FRONT)
    case = rt.cases.complete(case.tasks[0].id, {"acceptance_decision": "accept",
                                                   "materials_complete": True}, FRONT)
    reviews = case.tasks
    assert len(reviews) == 12
    assert {t.lane for t in reviews} == {"住房和城乡建设局", "人民防空办公室", "城市管理局",
                                         "生态环境局", "水利局"}
    for task in reviews:
        actor = Actor("clerk", frozenset({"approver"}), frozenset({task.lane}))
        case = rt.cases.complete(task.id, review_data(task), actor)
    assert [t.task_spec for t in case.tasks] == ["issuance"]
    case = rt.cases.complete(case.tasks[0].id, {"delivery_method": "window"}, ISSUE)
    assert case.status == "completed" and case.ended_at is not None and not case.tasks
    final = rt.cases.get_case(case.id, ADMIN, with_data=True).data
    # Each department's decision survives the join of the twelve call activities.
    assert sum(1 for key in final
               if key.endswith("_decision") and key != "acceptance_decision") == 12
    assert final["project_name"] == CONSTRUCTION_APPLICATION["project_name"]
    with rt.db.reading() as session:
        kinds = [e.kind for e in session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq))]
        assert kinds[0] == "case_started" and kinds[-1] == "case_completed"
        assert kinds.count("task_completed") == 14 and kinds.count("task_created") == 14
        assert verify_case(session, session.get(CaseRecord, case.id)).ok


def test_department_cannot_work_another_departments_task(deployed):
    case = deployed.cases.start_case("onething_construction_permit", application(deployed), FRONT)
    case = deployed.cases.complete(case.tasks[0].id, {"acceptance_decision": "accept"}, FRONT)
    housing_task = next(t for t in case.tasks if t.lane == "住房和城乡建设局")
    with pytest.raises(NotAllowed):
        deployed.cases.complete(housing_task.id, review_data(housing_task), WATER)
    with pytest.raises(NotAllowed):
        deployed.cases.claim(housing_task.id, WATER)


def test_claim_is_exclusive_and_only_the_claimer_unclaims(deployed):
    case = deployed.cases.start_case("onething_construction_permit", application(deployed), FRONT)
    task = case.tasks[0]
    colleague = Actor("frontdesk2", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
    claimed = deployed.cases.claim(task.id, FRONT)
    assert claimed.assignee == "frontdesk"
    assert deployed.cases.claim(task.id, FRONT).assignee == "frontdesk"  # idempotent
    with pytest.raises(Conflict):
        deployed.cases.claim(task.id, colleague)
    with pytest.raises(Conflict):
        deployed.cases.complete(task.id, {}, colleague)
    with pytest.raises(NotAllowed):
        deployed.cases.unclaim(task.id, colleague)
    assert deployed.cases.unclaim(task.id, FRONT).assignee is None
    assert deployed.cases.claim(task.id, colleague).assignee == "frontdesk2"


def test_second_completion_of_same_task_conflicts(deployed):
    case = deployed.cases.start_case("onething_construction_permit", application(deployed), FRONT)
    task = case.tasks[0]
    deployed.cases.complete(task.id, {"acceptance_decision": "accept"}, FRONT)
    with pytest.raises(Conflict):
        deployed.cases.complete(task.id, {}, FRONT)


def test_cancelled_case_closes_its_tasks(deployed):
    case = deployed.cases.start_case("onething_construction_permit", application(deployed), FRONT)
    case = deployed.cases.complete(case.tasks[0].id, {"acceptance_decision": "accept"}, FRONT)
    open_task = case.tasks[0]
    cancelled = deployed.cases.cancel(case.id, ADMIN, "申请人撤回申请")
    assert cancelled.status == "cancelled" and not cancelled.tasks
    with pytest.raises(Conflict):
        deployed.cases.complete(open_task.id, review_data(open_task), ADMIN)
    with pytest.raises(Conflict):
        deployed.cases.cancel(case.id, ADMIN, "再次撤回")
    with deployed.db.reading() as session:
        states = set(session.scalars(select(HumanTask.state).where(HumanTask.case_id == case.id)))
        assert states == {"completed", "cancelled"}
        events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                      .order_by(CaseEvent.seq)))
        assert events[-1].kind == "task_cancelled" or "case_cancelled" in [e.kind for e in events]


def test_task_rows_carry_what_task_lists_need(deployed):
    case = deployed.cases.start_case("onething_construction_permit", application(deployed), FRONT)
    with deployed.db.reading() as session:
        row = session.get(HumanTask, case.tasks[0].id)
        assert (row.case_id, row.task_spec, row.lane, row.state) == (
            case.id, "front_desk_acceptance", "综合受理窗口", "open")
        assert row.form_key == "generated" and row.created_at is not None
        assert row.process_key == "onething_construction_permit"


def test_failing_script_raises_an_incident_and_the_case_can_be_retried(fixtures_deployed):
    rt = fixtures_deployed
    case = rt.cases.start_case("divide", {}, ADMIN)
    case = rt.cases.complete(case.tasks[0].id, {"n": 0}, ADMIN)
    assert case.status == "incident"
    assert len(case.incidents) == 1
    message = case.incidents[0].message
    assert "计算" in message and "divide_it" in message and "Traceback" not in message
    # Retrying with the same data fails the same way, and says so again.
    case = rt.cases.retry_incident(case.incidents[0].id, ADMIN)
    assert case.status == "incident" and len(case.incidents) == 1
    with rt.db.reading() as session:
        assert len(list(session.scalars(select(Incident).where(Incident.case_id == case.id)))) == 2


def test_runaway_script_is_stopped_by_the_sandbox_as_an_incident(runtime, tmp_path):
    source = (FIXTURES / "script_divide.bpmn").read_text()
    path = tmp_path / "spin.bpmn"
    path.write_text(source.replace('id="divide"', 'id="spin"')
                    .replace("result = 100 // n", "x = 0\nwhile True:\n    x = x + 1"))
    deploy_files(runtime, path)
    case = runtime.cases.start_case("spin", {}, ADMIN)
    case = runtime.cases.complete(case.tasks[0].id, {"n": 1}, ADMIN)
    assert case.status == "incident"
    assert "上限" in case.incidents[0].message


def test_loop_state_stays_small_however_long_the_history(fixtures_deployed):
    rt = fixtures_deployed
    case = rt.cases.start_case("loop_review", {}, ADMIN)
    sizes = {}
    for i in range(1, 301):
        case = rt.cases.complete(case.tasks[0].id, {"again": True, "note": f"第{i}轮"}, ADMIN)
        if i in (10, 300):
            with rt.db.reading() as session:
                sizes[i] = session.get(CaseState, case.id).size
    assert sizes[300] < sizes[10] * 1.2
    case = rt.cases.complete(case.tasks[0].id, {"again": False}, ADMIN)
    assert case.status == "completed"


@pytest.mark.slow
def test_a_loop_runs_past_spiffworkflows_thousand_level_depth(fixtures_deployed):
    rt = fixtures_deployed
    case = rt.cases.start_case("loop_review", {}, ADMIN)
    for i in range(1100):
        case = rt.cases.complete(case.tasks[0].id, {"again": True}, ADMIN)
        assert len(case.tasks) == 1, f"lost the task after {i} rounds"
    case = rt.cases.complete(case.tasks[0].id, {"again": False}, ADMIN)
    assert case.status == "completed"


def test_parallel_branches_inside_a_loop_join_every_round(fixtures_deployed):
    rt = fixtures_deployed
    case = rt.cases.start_case("parallel_loop", {"limit": 25}, ADMIN)
    rounds = 0
    while case.tasks:
        assert len(case.tasks) == 2
        case = rt.cases.complete(case.tasks[rounds % 2].id, {}, ADMIN)
        case = rt.cases.complete(case.tasks[0].id, {}, ADMIN)
        rounds += 1
    assert case.status == "completed" and rounds == 25
    data = rt.cases.get_case(case.id, ADMIN, with_data=True).data
    assert data["history"] == list(range(1, 26))


def test_running_case_keeps_its_version_after_redeploy(fixtures_deployed, tmp_path):
    rt = fixtures_deployed
    old = rt.cases.start_case("loop_review", {}, ADMIN)
    changed = tmp_path / "loop.bpmn"
    changed.write_text((FIXTURES / "loop.bpmn").read_text().replace('name="审查"', 'name="复审"'))
    [result] = deploy_files(rt, changed)
    assert result.version == 2 and result.created
    new = rt.cases.start_case("loop_review", {}, ADMIN)
    assert new.tasks[0].name == "复审" and new.definition_version == 2
    old = rt.cases.complete(old.tasks[0].id, {"again": True}, ADMIN)
    assert old.tasks[0].name == "审查" and old.definition_version == 1
