"""The case map: per-element and per-item states computed from the audit log and the open
task rows (never from the workflow)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from engine.audit import casemap
from engine.audit.casemap import CaseMaps
from engine.errors import NotFound
from engine.store.models import HumanTask
from engine.cases.dto import Actor
from tests.conftest import FIXTURES, PROCESSES, deploy_files
from web import formsource
from demo import CONSTRUCTION_APPLICATION

ONE_THING = "onething_construction_permit"
FRONT = Actor("frontdesk", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
AUDITOR = Actor("auditor", frozenset({"auditor"}))
ISSUE = Actor("chujian", frozenset({"issuance"}), frozenset({"统一出件窗口"}))
NOBODY = Actor("visitor")
ACCEPT = {"acceptance_decision": "accept", "materials_complete": True}


def clerk(lane: str) -> Actor:
    return Actor(f"clerk-{lane}", frozenset({"approver"}), frozenset({lane}))


def maps(rt) -> CaseMaps:
    return CaseMaps(rt.db, rt.definitions, rt.clock)


def start(rt):
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, ONE_THING)
    data = formsource.clean_application(rt, definition, dict(CONSTRUCTION_APPLICATION))
    return rt.cases.start_case(ONE_THING, data, FRONT)


def review(rt, case, item: str, decision: str = "approve"):
    task = next(t for t in case.tasks if t.task_spec == f"{item}_review")
    return rt.cases.complete(task.id, {f"{item}_decision": decision,
                                       f"{item}_opinion": "意见"}, clerk(task.lane))


@pytest.fixture
def accepted(deployed):
    case = start(deployed)
    return deployed.cases.complete(case.tasks[0].id, ACCEPT, FRONT)


def test_just_received_case_marks_start_done_and_acceptance_active(deployed):
    case = start(deployed)
    result = maps(deployed).get(case.id, AUDITOR)
    assert result.is_one_thing and result.processes[0].key == ONE_THING
    top = result.process(ONE_THING)
    assert top.role == "case" and top.version == 1
    assert top.element("onething_start").state == casemap.COMPLETED
    acceptance = top.element("front_desk_acceptance")
    assert acceptance.state == casemap.ACTIVE and acceptance.active == 1
    assert acceptance.open_tasks[0].id == case.tasks[0].id
    assert top.element("call_construction_permit").state is None
    assert top.element("issuance").state is None
    assert len(result.items) == 12
    assert {i.state for i in result.items} == {casemap.ITEM_WAITING}
    assert {i.label for i in result.items} == {"待受理"}
    # Every item process the one-thing calls has its own (pinned) map, in diagram order.
    # (after them, the common 容缺 gate it calls, which is not an item)
    assert [p.key for p in result.processes[1:]] == [i.key for i in result.items] + [
        "deficiency_gate"]
    assert result.items[0].key == "item_construction_permit"
    assert result.items[0].name == "建筑工程施工许可"
    assert result.items[0].department == "住房和城乡建设局"


def test_after_acceptance_and_some_decisions(deployed, accepted, clock):
    rt = deployed
    clock.advance(hours=1)
    case = review(rt, accepted, "construction_permit")
    case = review(rt, case, "night_construction", "refuse")
    result = maps(rt).get(case.id, FRONT)
    top = result.process(ONE_THING)

    acceptance = top.element("front_desk_acceptance")
    assert acceptance.state == casemap.COMPLETED and acceptance.completed == 1
    assert acceptance.last.actor == "frontdesk"

    states = {i.key: i for i in result.items}
    permit = states["item_construction_permit"]
    assert (permit.state, permit.label, permit.decided_by) == (
        casemap.ITEM_APPROVED, "准予许可", "clerk-住房和城乡建设局")
    assert permit.decided_at == clock.now()
    assert states["item_night_construction"].label == "不予许可"
    assert states["item_fire_design_review"].label == "审查中"
    assert len(states["item_fire_design_review"].open_tasks) == 1
    assert sum(1 for i in result.items if i.state == casemap.ITEM_REVIEW) == 10

    # Call activities: completed once their item decided, active while its task is open.
    assert top.element("call_construction_permit").state == casemap.COMPLETED
    assert top.element("call_night_construction").state == casemap.COMPLETED
    fire = top.element("call_fire_design_review")
    assert fire.state == casemap.ACTIVE and fire.open_tasks[0].name == "消防设计审查审批"
    assert top.element("issuance").state is None

    # Inside an item: start, review and end of the decided one; the open one's review.
    item = result.process("item_construction_permit")
    assert item.role == "item" and item.call_activity == "call_construction_permit"
    assert [(e.id, e.state) for e in item.marked] == [
        ("construction_permit_start", "completed"), ("construction_permit_review", "completed"),
        ("construction_permit_end", "completed")]
    assert item.element("construction_permit_review").last.actor == "clerk-住房和城乡建设局"
    fire_item = result.process("item_fire_design_review")
    assert fire_item.element("fire_design_review_review").state == casemap.ACTIVE
    assert fire_item.element("fire_design_review_end").state is None

    data = result.to_json()
    assert data["case"]["number"] == case.number
    permit_json = next(p for p in data["processes"] if p["key"] == "item_construction_permit")
    assert permit_json["elements"]["construction_permit_review"]["markers"] == ["completed"]
    assert permit_json["version"] == 1 and len(permit_json["hash"]) == 64


def test_finished_case_marks_issuance_and_end(deployed, accepted):
    rt = deployed
    case = accepted
    while case.tasks[0].task_spec != "issuance":
        case = review(rt, case, case.tasks[0].task_spec.removesuffix("_review"))
    case = rt.cases.complete(case.tasks[0].id, {"delivery_method": "window"}, ISSUE)
    assert case.status == "completed"
    result = maps(rt).get(case.id, AUDITOR)
    top = result.process(ONE_THING)
    assert top.element("issuance").state == casemap.COMPLETED
    assert top.element("onething_end").state == casemap.COMPLETED
    assert all(e.state == casemap.COMPLETED for e in top.elements if e.kind == "callActivity")
    assert {i.label for i in result.items} == {"准予许可"}


def test_a_loop_counts_each_completion(deployed, clock):
    rt = deployed
    deploy_files(rt, FIXTURES / "loop.bpmn")
    case = rt.cases.start_case("loop_review", {}, FRONT)
    reviewer = clerk("审查科")
    for again in (True, True):
        clock.advance(minutes=5)
        case = rt.cases.complete(case.tasks[0].id, {"again": again}, reviewer)
    result = maps(rt).get(case.id, AUDITOR)
    assert not result.is_one_thing and [p.key for p in result.processes] == ["loop_review"]
    element = result.process("loop_review").element("review")
    assert (element.state, element.completed, element.active) == (casemap.ACTIVE, 2, 1)
    assert [c.actor for c in element.completions] == ["clerk-审查科"] * 2
    case = rt.cases.complete(case.tasks[0].id, {"again": False}, reviewer)
    result = maps(rt).get(case.id, AUDITOR)
    process = result.process("loop_review")
    element = process.element("review")
    assert (element.state, element.completed, element.active) == (casemap.COMPLETED, 3, 0)
    assert process.element("end").state == casemap.COMPLETED
    assert process.element("decide").state is None  # gateways are not recorded
    assert process.to_json()["elements"]["review"]["completed"] == 3


def test_a_task_past_its_due_time_is_overdue(deployed, accepted, clock):
    rt = deployed
    fire = next(t for t in accepted.tasks if t.task_spec == "fire_design_review_review")
    other = next(t for t in accepted.tasks if t.task_spec == "drainage_permit_review")
    with rt.db.transaction() as session:
        session.execute(update(HumanTask).where(HumanTask.id == fire.id)
                        .values(due_at=clock.now() + timedelta(days=1)))
        session.execute(update(HumanTask).where(HumanTask.id == other.id)
                        .values(due_at=clock.now() + timedelta(days=3)))
    assert not maps(rt).get(accepted.id, AUDITOR).process(ONE_THING).element(
        "call_fire_design_review").overdue
    clock.advance(days=2)
    result = maps(rt).get(accepted.id, AUDITOR)
    review_element = result.process("item_fire_design_review").element("fire_design_review_review")
    assert review_element.overdue and review_element.markers() == ["active", "overdue"]
    assert result.process(ONE_THING).element("call_fire_design_review").overdue
    assert next(i for i in result.items if i.key == "item_fire_design_review").overdue
    assert not result.process("item_drainage_permit").element("drainage_permit_review").overdue


def item_state(rt, case, key):
    return next(i for i in maps(rt).get(case.id, AUDITOR).items if i.key == key)


def test_correction_then_review_again(deployed, accepted):
    rt = deployed
    case = review(rt, accepted, "soil_water_conservation", "correct")
    state = item_state(rt, case, "item_soil_water_conservation")
    assert (state.state, state.label, state.decision) == (casemap.ITEM_CORRECTION, "补正中",
                                                          "correct")
    correction = next(t for t in case.tasks if t.task_spec == "soil_water_conservation_correction")
    assert state.open_tasks[0].id == correction.id
    call = maps(rt).get(case.id, AUDITOR).process(ONE_THING).element(
        "call_soil_water_conservation")
    assert call.state == casemap.ACTIVE  # the item is still running
    case = rt.cases.complete(correction.id, {"soil_water_conservation_corrected": True},
                             clerk(correction.lane))
    assert item_state(rt, case, "item_soil_water_conservation").label == "审查中"
    case = review(rt, case, "soil_water_conservation")
    assert item_state(rt, case, "item_soil_water_conservation").label == "准予许可"
    item = maps(rt).get(case.id, AUDITOR).process("item_soil_water_conservation")
    assert item.element("soil_water_conservation_review").completed == 2  # a loop counts
    assert item.element("soil_water_conservation_correction").completed == 1


def test_a_decision_value_without_a_correction_path_means_correction(deployed, accepted):
    rt = deployed
    # forms/ lets only the enum's values through; the engine records whatever it is given
    case = review(rt, accepted, "soil_water_conservation", "supplement")
    state = item_state(rt, case, "item_soil_water_conservation")
    assert (state.state, state.decision) == (casemap.ITEM_CORRECTION, "supplement")


def test_cancelled_case_marks_open_tasks_cancelled(deployed, accepted):
    rt = deployed
    case = review(rt, accepted, "construction_permit")
    rt.cases.cancel(case.id, Actor("admin", frozenset({"admin"})), "申请人撤回")
    result = maps(rt).get(case.id, AUDITOR)
    top = result.process(ONE_THING)
    assert top.element("call_construction_permit").state == casemap.COMPLETED
    assert top.element("call_drainage_permit").state == casemap.CANCELLED
    assert result.process("item_drainage_permit").element(
        "drainage_permit_review").state == casemap.CANCELLED
    states = {i.key: i.label for i in result.items}
    assert states["item_construction_permit"] == "准予许可"
    assert states["item_drainage_permit"] == "已撤销"


def test_map_uses_the_pinned_versions(deployed, tmp_path):
    rt = deployed
    case = start(rt)
    changed = (PROCESSES / "items" / "night_construction.bpmn").read_text("utf-8").replace(
        'name="夜间施工许可审批"', 'name="夜间施工许可审批（新版）"')
    (tmp_path / "night_construction.bpmn").write_text(changed, "utf-8")
    deploy_files(rt, tmp_path / "night_construction.bpmn")
    result = maps(rt).get(case.id, AUDITOR)
    night = result.process("item_night_construction")
    assert night.version == 1
    assert night.element("night_construction_review").name == "夜间施工许可审批"
    diagram = maps(rt).diagram(case.id, "item_night_construction", AUDITOR)
    assert diagram.version == 1 and "（新版）" not in diagram.xml


def test_who_may_read_the_map(deployed):
    rt = deployed
    case = start(rt)
    with pytest.raises(NotFound):  # a case one may not read is one that does not exist
        maps(rt).get(case.id, NOBODY)
    with pytest.raises(NotFound):
        maps(rt).get(case.id + 1000, AUDITOR)
    with pytest.raises(NotFound):
        maps(rt).diagram(case.id, "item_not_in_this_case", AUDITOR)
    with pytest.raises(NotFound):
        maps(rt).diagram(case.id, "../etc\x00", AUDITOR)
