"""Who may do what (engine.cases.policy), in the demo hall, by the demo people: each test
is one defect measured on main (issue 13) that a user or an outside client would notice."""
from __future__ import annotations

import pytest

from engine.errors import NotAllowed
from engine.cases import policy
from engine.people.users import actor_of
from tests.web.demohall import module_hall

CONSTRUCTION = "onething_construction_permit"
RESTAURANT = "onething_restaurant"


hall = module_hall()


def _review(hall, spec="construction_permit_review"):
    case = hall.case_id(CONSTRUCTION, status="running", with_open=spec)
    return case, hall.open_task(case, spec)


# -- 审管分离 ------------------------------------------------------------------------------

def test_supervisor_cannot_claim_or_complete_an_approval_task(hall):
    _case, task = _review(hall)
    claimed = hall.api("POST", f"/tasks/{task}/claim", "jianguan")
    assert claimed.status_code == 403
    assert "审管分离" in claimed.get_json()["message"]
    done = hall.api("POST", f"/tasks/{task}/complete", "jianguan", json={"data": {
        "construction_permit_decision": "approve",
        "construction_permit_opinion": "同意"}})
    assert done.status_code == 403
    detail = hall.api("GET", f"/tasks/{task}", "zjj").get_json()
    assert detail["state"] == "open" and detail["assignee"] is None


def test_supervisor_is_not_offered_as_assignee_of_an_approval_task(hall):
    _case, task = _review(hall)
    page = hall.client("zjj").get(f"/tasks/{task}").get_data(as_text=True)
    assert 'name="assignee"' in page  # the lead is offered colleagues …
    assert "黄监管" not in page       # … but never the supervisor
    lead = actor_of(_user(hall, "zjj"))
    with pytest.raises(NotAllowed, match="审管分离"):
        hall.runtime.cases.assign(task, "jianguan", lead)


def _user(hall, username):
    from sqlalchemy import select

    from engine.store.models import User

    with hall.runtime.db.reading() as session:
        user = session.scalar(select(User).where(User.username == username))
        session.expunge(user)
        return user


def test_supervision_tasks_stay_with_supervisors():
    """审管分离 keeps supervisors out of approvals, not out of their own 签收 tasks."""
    supervisor = policy_actor("jianguan", {"supervisor"}, {"住房和城乡建设局"})
    assert policy.may_work_on(supervisor, "住房和城乡建设局", "supervision_push")
    assert not policy.may_work_on(supervisor, "住房和城乡建设局", "item_construction_permit")


def test_loop_process_names_are_those_of_the_loops():
    from engine.loops.ratings import REVIEW_PROCESS
    from engine.loops.reminders import RENEWAL_PROCESS
    from engine.loops.supervision import SUPERVISION_PROCESS
    from engine.loops.workorders import WORKORDER_PROCESS

    assert policy.LOOP_PROCESSES == {REVIEW_PROCESS, RENEWAL_PROCESS, SUPERVISION_PROCESS,
                                     WORKORDER_PROCESS}


def policy_actor(username, roles, groups):
    from engine.cases.dto import Actor

    return Actor(username, frozenset(roles), frozenset(groups))


# -- reading -------------------------------------------------------------------------------

def test_clerk_of_an_uninvolved_department_reads_no_case(hall):
    case = hall.case_id(RESTAURANT, status="completed")
    missing = hall.api("GET", "/cases/999999/events", "rexian")
    for path in (f"/cases/{case}/events", f"/cases/{case}", f"/cases/{case}/materials"):
        hidden = hall.api("GET", path, "rexian")
        assert hidden.status_code == 404, path
        assert hidden.get_json()["error"] == missing.get_json()["error"]
    page = hall.client("rexian").get(f"/cases/{case}")
    assert page.status_code == 404


def test_involved_departments_and_the_windows_read_the_case(hall):
    case = hall.case_id(RESTAURANT, status="completed")
    for username in ("scjgj", "xfzd", "frontdesk", "chujian", "auditor", "admin"):
        assert hall.api("GET", f"/cases/{case}/events", username).status_code == 200, username
    construction = hall.case_id(CONSTRUCTION, status="completed")
    assert hall.api("GET", f"/cases/{construction}", "scjgj").status_code == 404


def _payload_text(response) -> str:
    return str([e["payload"] for e in response.get_json()["events"]])


def test_personal_numbers_are_masked_for_a_supervisor(hall):
    case = hall.case_id(CONSTRUCTION, status="completed")
    full = _payload_text(hall.api("GET", f"/cases/{case}/events", "zjj"))
    assert "11010519491231002X" in full and "13806351234" in full
    masked = hall.api("GET", f"/cases/{case}/events", "jianguan")
    assert masked.status_code == 200
    text = _payload_text(masked)
    assert "11010519491231002X" not in text and "13806351234" not in text
    assert "110105********002X" in text and "138****1234" in text


# -- starting ------------------------------------------------------------------------------

@pytest.mark.parametrize("process", ["loop_bad_rating", "supervision_push",
                                     "deficiency_gate", "hotline_workorder"])
def test_loop_and_internal_processes_cannot_be_started(hall, process):
    response = hall.api("POST", "/cases", "frontdesk", json={"process": process, "data": {}})
    assert response.status_code == 403
    assert "不是可以直接申请的事项或一件事" in response.get_json()["message"]
    assert hall.client("frontdesk").get(f"/counter/{process}").status_code == 403


def test_processes_say_which_the_caller_may_start(hall):
    listed = {p["key"]: p["startable"]
              for p in hall.api("GET", "/processes", "frontdesk").get_json()["processes"]}
    assert listed[RESTAURANT] and listed[CONSTRUCTION] and listed["item_food_business_permit"]
    assert not any(listed[k] for k in ("loop_bad_rating", "supervision_push",
                                       "deficiency_gate", "hotline_workorder",
                                       "licence_renewal"))
    analyst = hall.api("GET", "/processes", "analyst").get_json()["processes"]
    assert not any(p["startable"] for p in analyst)


def test_counter_catalogue_offers_only_entry_processes(hall):
    page = hall.client("frontdesk").get("/counter").get_data(as_text=True)
    assert f'data-process="{RESTAURANT}"' in page
    for key in ("loop_bad_rating", "supervision_push", "deficiency_gate",
                "hotline_workorder", "licence_renewal"):
        assert f'data-process="{key}"' not in page


# -- cancelling (last: it ends a demo case) ------------------------------------------------

def test_only_leads_of_involved_departments_cancel(hall):
    case = hall.case_id(RESTAURANT, status="running")
    for lead in ("rexian-lead", "haocha", "zjj"):
        response = hall.api("POST", f"/cases/{case}/cancel", lead, json={"reason": "测试"})
        assert response.status_code == 404, lead  # they may not even read it
        assert hall.status(case) == "running"
    clerk = hall.api("POST", f"/cases/{case}/cancel", "ycj", json={"reason": "测试"})
    assert clerk.status_code == 403  # involved, but not a lead
    assert hall.status(case) == "running"
    response = hall.api("POST", f"/cases/{case}/cancel", "scjgj", json={"reason": "申请人撤回"})
    assert response.status_code == 200
    assert hall.status(case) == "cancelled"
