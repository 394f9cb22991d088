"""Who may see and do what, the counter's validation and the English switch — in a browser.

Each department sees and handles only its own lane's tasks, on the pages and on the API;
anonymous visitors are sent to sign in; an auditor reads cases but handles nothing; only
front-desk clerks may use 综合受理.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine.store.models import CaseRecord
from engine.cases.dto import Actor
from tests.browser.conftest import (PROCESS, accepted_case, csrf_token, fill_application, login,
                                    screenshot)
from demo import CONSTRUCTION_APPLICATION

HOUSING, WATER = "住房和城乡建设局", "水利局"
# The counter refuses with the reason the API gives too (engine.cases.policy.NOT_A_STARTER).
NOT_THE_COUNTER = "只有综合受理窗口可以受理申请"
CJK = re.compile(r"[\u4e00-\u9fff]")
_READER = Actor("reader", frozenset({"auditor"}))  # reads tasks for assertions


@pytest.fixture(scope="module")
def case(hall, people):
    """One construction-permit case in parallel review in all five departments."""
    return accepted_case(hall["runtime"])


def task_in(case, lane: str):
    return next(t for t in case.tasks if t.lane == lane)


def test_a_department_cannot_open_another_departments_task(hall, new_page, people, case):
    page = new_page()
    login(page, hall, *people["water"])
    housing_task = task_in(case, HOUSING)
    response = page.goto(hall["url"] + f"/tasks/{housing_task.id}")
    assert response.status == 403
    assert page.locator("main h1").inner_text() == "403"
    assert "无权查看该任务" in page.locator("main").inner_text()
    assert "提交办理" not in page.content()
    screenshot(page, "access-403-other-department")
    # Its own department's task of the same case opens as usual.
    response = page.goto(hall["url"] + f"/tasks/{task_in(case, WATER).id}")
    assert response.status == 200
    assert page.locator("button", has_text="提交办理").count() == 1


def test_a_department_cannot_complete_another_departments_task(hall, new_page, people, case):
    """Neither by posting the task form nor through the API with the clerk's own token."""
    rt = hall["runtime"]
    page = new_page()
    login(page, hall, *people["water"])
    housing_task = task_in(case, HOUSING)
    key = housing_task.task_spec.removesuffix("_review")
    form = {f"{key}_decision": "approve", f"{key}_opinion": "越权办理"}

    posted = page.request.post(hall["url"] + f"/tasks/{housing_task.id}",
                               form={**form, "csrf_token": csrf_token(page)})
    refusal = f"该任务属于「{HOUSING}」，您无权办理"  # the same on the page and the API
    assert posted.status == 403
    assert refusal in posted.text()

    token = rt.users.issue_token(people["water"][0])
    api = page.request.post(hall["url"] + f"/api/v1/tasks/{housing_task.id}/complete",
                            headers={"Authorization": f"Bearer {token}"}, data={"data": form})
    assert api.status == 403
    assert api.json()["message"] == refusal
    assert rt.tasks.get(housing_task.id, _READER).state == "open"

    # The same token completes the clerk's own department's task.
    water_task = task_in(case, WATER)
    own_key = water_task.task_spec.removesuffix("_review")
    ok = page.request.post(hall["url"] + f"/api/v1/tasks/{water_task.id}/complete",
                           headers={"Authorization": f"Bearer {token}"},
                           data={"data": {f"{own_key}_decision": "approve",
                                          f"{own_key}_opinion": "水土保持措施可行，准予许可。"}})
    assert ok.status == 200, ok.text()
    assert rt.tasks.get(water_task.id, _READER).state == "completed"


@pytest.mark.parametrize("path", ["/tasks", "/counter", "/cases/{case_id}",
                                  "/tasks/{task_id}", f"/counter/{PROCESS}"])
def test_anonymous_visitor_is_sent_to_sign_in(hall, new_page, case, path):
    page = new_page()
    page.goto(hall["url"] + path.format(case_id=case.id, task_id=case.tasks[0].id))
    assert "/login" in page.url
    assert page.locator("h1").inner_text() == "登录"
    assert case.number not in page.content()


def test_auditor_reads_the_case_but_completes_nothing(hall, new_page, people, case):
    rt = hall["runtime"]
    page = new_page()
    login(page, hall, *people["auditor"])
    response = page.goto(hall["url"] + f"/cases/{case.id}")
    assert response.status == 200
    assert case.number in page.locator("h1").inner_text()
    assert page.locator("#items tbody tr").count() == 12

    task = task_in(case, HOUSING)
    key = task.task_spec.removesuffix("_review")
    form = {f"{key}_decision": "approve", f"{key}_opinion": "审计人员不应能办理"}
    page.goto(hall["url"] + f"/tasks/{task.id}")
    posted = page.request.post(hall["url"] + f"/tasks/{task.id}",
                               form={**form, "csrf_token": csrf_token(page)})
    assert posted.status == 403
    assert f"该任务属于「{HOUSING}」，您无权办理" in posted.text()
    claimed = page.request.post(hall["url"] + f"/tasks/{task.id}/claim",
                                form={"csrf_token": csrf_token(page)})
    assert claimed.status == 403
    token = rt.users.issue_token(people["auditor"][0])
    api = page.request.post(hall["url"] + f"/api/v1/tasks/{task.id}/complete",
                            headers={"Authorization": f"Bearer {token}"}, data={"data": form})
    assert api.status == 403
    after = rt.tasks.get(task.id, _READER)
    assert after.state == "open" and after.assignee is None


def test_auditor_is_not_offered_buttons_they_cannot_use(hall, new_page, people, case):
    page = new_page()
    login(page, hall, *people["auditor"])
    page.goto(hall["url"] + f"/tasks/{task_in(case, HOUSING).id}")
    screenshot(page, "access-auditor-task-page")
    assert page.locator("main button", has_text="提交办理").count() == 0
    assert page.locator("main button", has_text="认领").count() == 0


@pytest.mark.parametrize("who", ["norole", "housing"])
def test_only_front_desk_clerks_use_the_counter(hall, new_page, people, who):
    page = new_page()
    login(page, hall, *people[who])
    for path in ("/counter", f"/counter/{PROCESS}"):
        response = page.goto(hall["url"] + path)
        assert response.status == 403
        assert NOT_THE_COUNTER in page.locator("main").inner_text()
    assert page.locator("nav.mainnav a", has_text="综合受理").count() == 0


def test_wrong_credit_code_is_marked_next_to_its_field(hall, new_page, people):
    rt = hall["runtime"]
    good = CONSTRUCTION_APPLICATION["builder_credit_code"]
    wrong = good[:-1] + ("4" if good[-1] != "4" else "5")
    page = new_page()
    login(page, hall, *people["front"])
    page.goto(hall["url"] + f"/counter/{PROCESS}")
    fill_application(page, {**CONSTRUCTION_APPLICATION, "builder_credit_code": wrong})
    page.fill("#f-acceptance_note", "请核对信用代码")
    before = _case_count(rt)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("button[value=accept]")
    assert posted.value.status == 422
    page.wait_for_load_state()

    code = page.locator("#f-builder_credit_code")
    assert code.get_attribute("aria-invalid") == "true"
    assert code.input_value() == wrong
    message = page.locator("#f-builder_credit_code-error")
    assert message.inner_text() == "统一社会信用代码校验位不正确"
    assert "f-builder_credit_code-error" in code.get_attribute("aria-describedby")
    assert message.locator("xpath=..").get_attribute("data-field") == "builder_credit_code"
    alert = page.locator(".flash.error[role=alert]")
    assert "请更正标出的 1 处问题" in alert.inner_text()
    assert page.locator("[aria-invalid=true]").count() == 1  # only the code is marked
    # What was typed elsewhere is still there.
    assert page.locator("#f-project_name").input_value() == CONSTRUCTION_APPLICATION["project_name"]
    assert page.locator("#f-builder_name").input_value() == CONSTRUCTION_APPLICATION["builder_name"]
    assert page.locator("#f-contact_mobile").input_value() == \
        CONSTRUCTION_APPLICATION["contact_mobile"]
    assert page.locator("#f-acceptance_note").input_value() == "请核对信用代码"
    assert page.locator("#f-planned_start_date").input_value() == \
        CONSTRUCTION_APPLICATION["planned_start_date"]
    assert page.locator("#f-structure_type").input_value() == \
        CONSTRUCTION_APPLICATION["structure_type"]
    assert page.locator("#f-green_restore_commitment").is_checked()
    assert _case_count(rt) == before
    code.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -200)")
    screenshot(page, "counter-invalid-credit-code", full_page=False)


def test_english_switch(hall, new_page, people):
    page = new_page()
    login(page, hall, *people["housing"])
    assert page.locator("h1").inner_text() == "待办任务"
    page.click("header a:has-text('English')")
    assert page.url.endswith("/tasks")
    assert page.locator("h1").inner_text() == "Tasks"
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(hall["url"] + "/tasks")
    assert page.locator("h1").inner_text() == "Tasks"
    screenshot(page, "task-list-english")
    page.goto(hall["url"] + "/lang/zh")
    assert page.locator("h1").inner_text() == "待办任务"
    # Another person's browser is not switched.
    other = new_page()
    login(other, hall, *people["water"])
    assert other.locator("h1").inner_text() == "待办任务"


def test_english_task_list_has_no_chinese_labels(hall, new_page, people, case):
    page = new_page()
    login(page, hall, *people["housing"])
    page.goto(hall["url"] + "/lang/en")
    assert page.locator("h1").inner_text() == "Tasks"
    chrome = {"tabs": page.locator("nav.tabs").inner_text(),
              "filters": " ".join(page.locator("form.filters label").all_inner_texts()),
              "columns": page.locator("main thead").inner_text()}
    chinese = {part: text for part, text in chrome.items() if CJK.search(text)}
    assert not chinese, chinese


def _case_count(rt) -> int:
    with rt.db.reading() as session:
        return session.scalar(select(func.count()).select_from(CaseRecord))
