"""Bad input (issue 13): a refused action — wrong process, wrong role, wrong state — gets the
same Chinese message on every surface that offers the action (the HTML page or flash, the
JSON API's error `message`), never a 500, and nothing is written."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from engine.store.models import CaseEvent, CaseRecord, HumanTask
from tests.web.demohall import module_hall

RESTAURANT = "onething_restaurant"
NOT_AN_ENTRY = "不是可以直接申请的事项或一件事"


hall = module_hall()


def _written(hall) -> tuple[int, ...]:
    """What a refused action must leave as it was: cases, events, task rows and states."""
    with hall.runtime.db.reading() as session:
        return (session.scalar(select(func.count()).select_from(CaseRecord)),
                session.scalar(select(func.count()).select_from(CaseEvent)),
                session.scalar(select(func.count()).select_from(HumanTask)),
                session.scalar(select(func.count()).select_from(HumanTask)
                               .where(HumanTask.state == "open")))


def _error_paragraph(response) -> str:
    """The message of the error page."""
    return html.unescape(re.search(r"<p>(.*?)</p>", response.get_data(as_text=True)).group(1))


def _flashes(response) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<div class="flash error" role="status">'
                                                 r"(.*?)</div>", response.get_data(as_text=True))]


# -- starting a process that is not an entry process ----------------------------------------

@pytest.mark.parametrize("process", ["hotline_workorder", "loop_bad_rating"])
def test_starting_a_loop_process_is_refused_alike_on_the_counter_and_the_api(hall, process):
    before = _written(hall)
    api = hall.api("POST", "/cases", "frontdesk", json={"process": process, "data": {}})
    assert api.status_code == 403
    message = api.get_json()["message"]
    assert NOT_AN_ENTRY in message

    browser = hall.client("frontdesk")
    page = browser.get(f"/counter/{process}")
    assert page.status_code == 403
    assert _error_paragraph(page) == message
    submitted = browser.post(f"/counter/{process}", data={
        "csrf_token": browser.csrf, "action": "accept"})
    assert submitted.status_code == 403
    assert _error_paragraph(submitted) == message
    assert _written(hall) == before


@pytest.mark.parametrize("process", [RESTAURANT, "hotline_workorder"])
def test_starting_by_an_approver_is_refused_alike_on_the_counter_and_the_api(hall, process):
    before = _written(hall)
    api = hall.api("POST", "/cases", "rfb", json={"process": process, "data": {}})
    assert api.status_code == 403
    message = api.get_json()["message"]
    assert message == "只有综合受理窗口可以受理申请"

    browser = hall.client("rfb")
    for response in (browser.get(f"/counter/{process}"),
                     browser.post(f"/counter/{process}", data={
                         "csrf_token": browser.csrf, "action": "accept"})):
        assert response.status_code == 403
        assert _error_paragraph(response) == message
    assert _written(hall) == before


# -- cancelling a case by someone not allowed ------------------------------------------------

def test_cancelling_by_an_involved_clerk_who_is_no_lead_is_refused_without_a_write(hall):
    case = hall.case_id(RESTAURANT, status="running")
    before = _written(hall)
    refused = hall.api("POST", f"/cases/{case}/cancel", "ycj", json={"reason": "测试"})
    assert refused.status_code == 403
    assert refused.get_json()["message"] == "只有办件所涉部门的负责人或管理员可以撤销办件"
    assert hall.status(case) == "running"
    assert _written(hall) == before


def test_cancelling_by_an_uninvolved_lead_is_told_the_case_does_not_exist(hall):
    case = hall.case_id(RESTAURANT, status="running")
    before = _written(hall)
    refused = hall.api("POST", f"/cases/{case}/cancel", "zjj", json={"reason": "测试"})
    missing = hall.api("POST", "/cases/999999/cancel", "zjj", json={"reason": "测试"})
    assert refused.status_code == missing.status_code == 404
    assert refused.get_json()["message"] == missing.get_json()["message"].replace(
        "999999", str(case))
    assert _written(hall) == before


# -- completing a task that is already completed ---------------------------------------------

def _completed_task(hall) -> tuple[str, str]:
    """A completed task and an approver of its department (no lead, no supervisor)."""
    with hall.runtime.db.reading() as session:
        for task in session.scalars(select(HumanTask).where(HumanTask.state == "completed")
                                    .order_by(HumanTask.id)):
            for username, user in hall.users.items():
                if task.lane in user["departments"] and user["roles"] == ["approver"]:
                    return task.id, username
    raise LookupError("no completed task with a clerk")


def test_completing_a_completed_task_is_refused_alike_on_the_page_and_the_api(hall):
    task, clerk = _completed_task(hall)
    before = _written(hall)
    api = hall.api("POST", f"/tasks/{task}/complete", clerk, json={"data": {}})
    assert api.status_code == 409
    message = api.get_json()["message"]
    assert "已办结或已取消" in message

    browser = hall.client(clerk)
    page = browser.post(f"/tasks/{task}", data={"csrf_token": browser.csrf},
                        follow_redirects=True)
    assert page.status_code == 200
    assert _flashes(page) == [message]
    assert _written(hall) == before


def test_completing_another_departments_task_is_refused_alike_on_the_page_and_the_api(hall):
    case = hall.case_id("onething_construction_permit", status="running",
                        with_open="construction_permit_review")
    task = hall.open_task(case, "construction_permit_review")
    before = _written(hall)
    api = hall.api("POST", f"/tasks/{task}/complete", "rfb", json={"data": {}})
    assert api.status_code == 403
    message = api.get_json()["message"]
    assert "您无权办理" in message

    browser = hall.client("rfb")
    page = browser.post(f"/tasks/{task}", data={"csrf_token": browser.csrf})
    assert page.status_code == 403
    assert _error_paragraph(page) == message
    assert _written(hall) == before
