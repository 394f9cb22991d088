"""The loop pages through the login form: 12345 intake (errors in Chinese, 422, nothing
lost), 派单 from the order page, 退单 without a legal basis refused on the task page, the
supervision page with its auto-claim count, the violation notice on the original case's
page, and the reminders page linking to the counter pre-filled from the old case."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from engine.worktime.clock import SHANGHAI
from engine.people.departments import Departments
from engine.store.models_loops import SupervisionPush
from engine.cases.dto import Actor
from engine.loops.workorders import HOTLINE
from tests.scenarios import test_restaurant as restaurant
from tests.scenarios.test_supervision import SUPERVISOR, approved_case, complete, open_task
from tests.web.test_case_page import PASSWORD, login

CGJ, HOUSING = "城市管理局", "住房和城乡建设局"
ADMIN = Actor("admin", frozenset({"admin"}))
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf(client, url: str) -> str:
    return CSRF.search(client.get(url).get_data(as_text=True)).group(1)


@pytest.fixture
def hall(deployed):
    departments = Departments(deployed.db)
    for name in (CGJ, HOUSING):
        departments.add(name)
    departments.add(HOTLINE, kind="window")
    users = deployed.users
    for username, roles, groups in (
            ("hotline1", ["hotline"], [HOTLINE]), ("cgj1", ["approver"], [CGJ]),
            ("jgk", ["supervisor"], [HOUSING]), ("zjj-lead", ["lead"], [HOUSING]),
            ("frontdesk", ["frontdesk"], ["综合受理窗口"])):
        users.create(username, PASSWORD, roles=roles, groups=groups)
    return deployed


CALL = {"citizen_name": "王女士", "citizen_phone": "13912345678", "category": "general",
        "content": "振兴路井盖缺失，夜间有安全隐患。", "address": "振兴路"}


def test_intake_with_bad_input_is_422_in_chinese_and_keeps_what_was_typed(client, hall):
    login(client, "hotline1")
    token = csrf(client, "/workorders/new")
    response = client.post("/workorders/new", data={**CALL, "citizen_phone": "12345",
                                                    "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请填写 11 位手机号码或带区号的固定电话" in page
    assert "振兴路井盖缺失" in page  # nothing typed is lost
    assert hall.loops.workorders.orders(ADMIN) == []


def test_intake_dispatch_and_a_return_without_legal_basis(client, hall):
    login(client, "hotline1")
    response = client.post("/workorders/new", data={**CALL, "csrf_token":
                                                    csrf(client, "/workorders/new")})
    assert response.status_code == 302
    order_url = response.headers["Location"]
    page = client.get(order_url).get_data(as_text=True)
    assert "待派单" in page and f"<option >{CGJ}</option>" in page.replace("<option>", "<option >")
    case_id = int(order_url.rstrip("/").split("/")[-1])
    response = client.post(f"/workorders/{case_id}/dispatch", data={
        "handler_department": CGJ, "co_departments": [HOUSING],
        "csrf_token": csrf(client, order_url)})
    assert response.status_code == 302
    assert "待签收" in client.get(order_url).get_data(as_text=True)
    client.get("/logout")

    login(client, "cgj1")
    listing = client.get("/tasks").get_data(as_text=True)
    task_id = re.search(r'href="/tasks/([0-9a-f-]{36})"', listing).group(1)
    token = csrf(client, f"/tasks/{task_id}")
    refused = client.post(f"/tasks/{task_id}", data={"sign_decision": "return",
                                                     "csrf_token": token})
    assert refused.status_code == 422
    assert "必填" in refused.get_data(as_text=True)
    assert hall.loops.workorders.get(case_id, ADMIN).state == "signing"
    accepted = client.post(f"/tasks/{task_id}", data={
        "sign_decision": "return", "return_basis": "依据《城镇排水与污水处理条例》第二十条",
        "csrf_token": token})
    assert accepted.status_code == 302
    assert hall.loops.workorders.get(case_id, ADMIN).state == "returned"


def test_only_the_hotline_takes_calls(client, hall):
    login(client, "cgj1")
    assert client.get("/workorders/new").status_code == 403
    assert client.get("/workorders").status_code == 200


def test_supervision_page_counts_auto_claims_per_department(client, hall, clock):
    approved_case(hall)
    hall.timers.run_once()
    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI))
    hall.timers.run_once()
    login(client, "zjj-lead")
    page = client.get("/supervision").get_data(as_text=True)
    row = re.search(rf"<tr><td>{HOUSING}</td>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r">(\d+)<", row) == ["4", "0", "4", "0"]
    assert "系统自动认领" in page
    client.get("/logout")
    login(client, "frontdesk")
    assert client.get("/supervision").status_code == 403


def test_the_original_case_page_shows_the_violation_notice(client, hall):
    case = approved_case(hall)
    hall.timers.run_once()
    with hall.db.reading() as session:
        push = session.scalar(select(SupervisionPush).where(
            SupervisionPush.item_key == "item_construction_permit"))
    complete(hall, open_task(hall, push.supervision_case_id, "sign_for"), {}, SUPERVISOR)
    complete(hall, open_task(hall, push.supervision_case_id, "supervise"), {
        "supervision_result": "violation", "violation_action": "suspend",
        "violation_notice": "未按规定落实安全防护措施，暂扣施工许可证 30 日。"}, SUPERVISOR)
    login(client, "jgk")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="violation-notices"' in page
    assert "暂扣（暂停）许可" in page and "暂扣施工许可证 30 日" in page


def test_reminders_page_links_to_the_counter_prefilled_from_the_old_case(client, hall, clock):
    case = restaurant.issue(hall, restaurant.review_all(hall, restaurant.accepted(hall)))
    clock.set(datetime(2031, 9, 20, 9, 0, tzinfo=SHANGHAI))
    assert hall.loops.reminders.run_due() == 2
    login(client, "frontdesk")
    page = client.get("/reminders").get_data(as_text=True)
    assert "食品经营许可" in page and "2031-11-19" in page
    link = f"/counter/onething_restaurant?from_case={case.id}"
    assert page.count(link) == 2
    assert link in client.get(f"/cases/{case.id}").get_data(as_text=True)
    [reminder] = [r for r in hall.loops.reminders.listing()
                  if r.item_key == "item_food_business_permit"]
    renewal_task = hall.cases.get_case(reminder.renewal_case_id, ADMIN).tasks[0]
    task_page = client.get(f"/tasks/{renewal_task.id}").get_data(as_text=True)
    assert "JY23715020012345" in task_page and "2031-11-19" in task_page
    assert link in task_page.replace("&amp;", "&")  # the front desk's task links to the counter
    counter = client.get(link)
    assert counter.status_code == 200  # the counter's application form, pre-filled
    assert 'value="聊城市东昌府区张记小吃店"' in counter.get_data(as_text=True)


from tests.web.test_i18n import english_app  # noqa: E402,F401  (fixture)


@pytest.mark.parametrize("url", ["/workorders", "/workorders/new", "/supervision", "/reminders"])
def test_loop_pages_in_english(english_app, runtime, url):  # noqa: F811
    runtime.users.create("boss", "boss-pass-1", roles=["admin"])
    client = english_app.test_client()
    login(client, "boss", "boss-pass-1")
    client.get("/lang/en")
    page = client.get(url).get_data(as_text=True)
    assert '<html lang="en">' in page
    left = re.findall(r"[\u4e00-\u9fff]+", page.replace("中文", ""))
    assert left == [], left
