"""The portal's read model and look-up rules: progress steps from the mapping table, which
application fields identify the applicant, and the attempt table."""
from __future__ import annotations

import pytest

from engine.loops.portal import PortalSettings, TooManyAttempts, steps_of
from engine.store.models_loops import PortalAttempt
from engine.cases.dto import Actor
from tests.scenarios.test_construction_permit import issue, review_all, start

FRONT = Actor("fd", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
ACCEPT = {"acceptance_decision": "accept", "materials_complete": True}


def states(steps) -> str:
    return " ".join(f"{s.label}:{s.state}" for s in steps)


@pytest.mark.parametrize("status, specs, expected", [
    ("running", ["front_desk_acceptance"], "收件:done 受理:current 审查:todo"),
    ("running", ["supplement_materials"], "收件:done 受理:current 审查:todo"),
    ("running", ["night_construction_review", "drainage_permit_correction"],
     "受理:done 审查:current 决定:todo"),
    ("running", ["issuance"], "审查:done 决定:done 制证:current 送达:todo"),
    ("completed", [], "制证:done 送达:done"),
])
def test_steps_follow_the_open_tasks(status, specs, expected):
    assert expected in states(steps_of(status, specs))


def test_progress_of_a_case_through_its_life(deployed):
    portal = deployed.portal
    case = start(deployed)
    assert [s.state for s in portal.progress(case.id).steps][:2] == ["done", "current"]
    case = deployed.cases.complete(case.tasks[0].id, ACCEPT, FRONT)
    progress = portal.progress(case.id)
    assert progress.clock["stage"] == "accepted"
    assert {i.state for i in progress.items} == {"审查中"}
    clocks = {c["scope"]: c for c in progress.clock["items"]}
    for item in progress.items:  # each item's own promised limit and its 正常/预警 state
        own = clocks[f"item_{item.key}"]
        assert item.due_at.isoformat() == own["due_at"]
        assert item.clock_status == own["state_label"] in ("正常", "预警")
    case = review_all(deployed, case, decide=lambda k: "refuse" if k == "drainage_permit" else "approve")
    states_by_key = {i.key: i.state for i in portal.progress(case.id).items}
    assert states_by_key["drainage_permit"] == "不予许可"
    assert states_by_key["night_construction"] == "准予许可"
    issue(deployed, case)
    done = portal.progress(case.id)
    assert {s.state for s in done.steps} == {"done"} and done.outcome_code == "0"


def test_only_phone_and_id_fields_identify_the_applicant(deployed):
    case = start(deployed)
    portal = deployed.portal
    assert portal.lookup(case.number, "1234", "a") == case.id          # contact_mobile
    assert portal.lookup(case.number, "002x", "b") == case.id          # ID number, X
    assert portal.lookup(case.number, "0123", "c") is None             # project_code tail
    assert portal.lookup(case.number, "123", "d") is None              # too short
    assert portal.lookup(f" {case.number} ", "1234", "e") == case.id   # spaces trimmed


def test_attempts_older_than_the_window_are_forgotten(deployed):
    deployed.portal.settings = PortalSettings(window_minutes=10, per_client=2, per_case=10)
    for _ in range(2):
        deployed.portal.lookup("x", "0000", "10.0.0.1")
    with pytest.raises(TooManyAttempts):
        deployed.portal.lookup("y", "0000", "10.0.0.1")
    deployed.portal.lookup("y", "0000", "10.0.0.2")  # another client is not affected
    deployed.clock.advance(minutes=11)
    assert deployed.portal.lookup("x", "0000", "10.0.0.1") is None
    with deployed.db.reading() as session:
        assert session.query(PortalAttempt).count() == 2  # the old rows were deleted


def test_a_submission_only_answers_an_open_request_of_the_same_case(deployed):
    from engine.errors import Conflict, NotFound, ValidationFailed

    case = start(deployed)
    acceptance = case.tasks[0]
    with pytest.raises(Conflict):  # the acceptance itself is no request to the applicant
        deployed.portal.submit(case.id, acceptance.id, "说明", [])
    with pytest.raises(NotFound):
        deployed.portal.submit(case.id, "no-such-task", "说明", [])
    case = deployed.cases.complete(acceptance.id, {"acceptance_decision": "notify",
                                                   "missing_materials": "建设工程规划许可证复印件"},
                                   FRONT)
    notice = case.tasks[0]
    assert notice.task_spec == "supplement_materials"
    request = deployed.portal.progress(case.id).requests[0]
    assert request.asked == "建设工程规划许可证复印件"
    with pytest.raises(ValidationFailed):
        deployed.portal.submit(case.id, notice.id, "", [])
    with pytest.raises(ValidationFailed):
        deployed.portal.submit(case.id, notice.id, "x", ["not-an-upload"])
    deployed.portal.submit(case.id, notice.id, "规划许可证已邮寄", [])
    assert [s["note"] for s in deployed.portal.submissions(notice.id)] == ["规划许可证已邮寄"]
