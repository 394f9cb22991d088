"""施工许可一件事, walked in a real browser by the people who handle it.

The front-desk clerk fills the one merged form and accepts it (受理通知书); a 住建局 clerk and
a 水利局 clerk, each in their own browser, see only their own department's tasks and approve
one; the other reviews are finished through the engine; the issuance window sees every
item's result and posts the licences; the case page then shows 已办结 and the diagram.
"""
from __future__ import annotations

import re


from engine.cases.dto import Actor
from tests.browser.conftest import (PDF, PROCESS, accepted_case, applicant_materials, approve,
                                    doc_screenshot, fill_application, login, screenshot)
from demo import CONSTRUCTION_APPLICATION

HOUSING, WATER, ISSUANCE = "住房和城乡建设局", "水利局", "统一出件窗口"
ITEM_COUNT = 12
READER = Actor("reader", frozenset({"auditor"}))  # reads the case for assertions


def task_rows(page) -> list[dict]:
    """The task list as a person reads it: one dict per row."""
    rows = []
    for row in page.locator("main table tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        rows.append({"case": cells[0].strip(), "task": cells[1].strip(), "lane": cells[2].strip(),
                     "href": row.locator("td a").first.get_attribute("href")})
    return rows


def test_one_thing_from_the_counter_to_issuance(hall, new_page, people, tmp_path):
    rt = hall["runtime"]
    # Another project already waiting in review, so each department has a real queue.
    accepted_case(rt, project_name="茌平区信发街道社区服务中心")

    # -- 1. the front desk: catalogue → merged form → 零材料 → materials → 受理 --------------
    front = new_page()
    login(front, hall, *people["front"])
    front.goto(hall["url"] + "/counter")
    assert front.locator("h1").inner_text().startswith("综合受理")
    row = front.locator(f"tr[data-process='{PROCESS}']")
    assert "施工许可" in row.inner_text()
    row.locator("a", has_text="受理").click()
    assert front.url.endswith(f"/counter/{PROCESS}")
    assert "一表申请" in front.locator("main").inner_text()

    fill_application(front, CONSTRUCTION_APPLICATION)
    screenshot(front, "walk-01-counter-form")
    front.click("button[value=fetch]")
    pulled = front.locator("[data-shared=true]", has_text="已通过数据共享调取")
    assert pulled.count() >= 1, "no department-issued material was pulled by data sharing"
    assert front.locator("#f-project_name").input_value() == \
        CONSTRUCTION_APPLICATION["project_name"]
    assert front.locator("#f-builder_credit_code").input_value() == \
        CONSTRUCTION_APPLICATION["builder_credit_code"]
    screenshot(front, "walk-02-counter-shared-materials")

    materials = applicant_materials(rt)
    assert materials, "the merged form asks the applicant for no materials"
    for field in materials:
        path = tmp_path / f"{field.id}.pdf"
        path.write_bytes(PDF)
        front.set_input_files(f"input[type=file][name='{field.id}']", str(path))
    front.fill("#f-acceptance_note", "材料齐全，当场受理。")
    front.click("button[value=accept]")

    receipt_url = re.search(r"/counter/cases/(\d+)/receipt$", front.url)
    assert receipt_url, front.locator("main").inner_text()[:800]
    case_id = int(receipt_url.group(1))
    assert front.locator(".document h1").inner_text().replace(" ", "") == "受理通知书"
    number = front.locator("[data-case-number]").inner_text()
    assert number == rt.cases.get_case(case_id, READER).number
    receipt = front.locator(".document").inner_text()
    assert CONSTRUCTION_APPLICATION["project_name"] in receipt
    assert CONSTRUCTION_APPLICATION["builder_name"] in receipt
    assert front.locator(".document table tbody tr").count() == ITEM_COUNT
    assert f"已受理：{number}" in front.locator(".flash").inner_text()
    screenshot(front, "walk-03-receipt")

    # -- 2. two departments, each in its own browser, at the same time ----------------------
    housing, water = new_page(), new_page()
    login(housing, hall, *people["housing"])
    login(water, hall, *people["water"])

    housing_rows = task_rows(housing)
    water_rows = task_rows(water)
    assert {r["lane"] for r in housing_rows} == {HOUSING}
    assert {r["lane"] for r in water_rows} == {WATER}
    ours = [r for r in housing_rows if r["case"] == number]
    assert sorted(r["task"] for r in ours) == sorted(
        ["建筑工程施工许可审批", "工程质量监督审批", "施工安全监督审批", "消防设计审查审批"])
    assert len(housing_rows) == 8  # four items of ours and four of the other project
    assert [r["task"] for r in water_rows if r["case"] == number] == ["水土保持方案审批"]
    screenshot(housing, "walk-04-task-list-housing")
    doc_screenshot(housing, "task-list")
    screenshot(water, "walk-05-task-list-water")

    permit = next(r for r in ours if r["task"] == "建筑工程施工许可审批")
    soil = next(r for r in water_rows if r["case"] == number)
    housing.goto(hall["url"] + permit["href"])
    water.goto(hall["url"] + soil["href"])
    assert housing.locator("h1").inner_text().startswith("建筑工程施工许可审批")
    assert water.locator("h1").inner_text().startswith("水土保持方案审批")
    assert number in housing.locator("h1").inner_text()
    # The application the front desk took is on the task page, once, for every department.
    assert CONSTRUCTION_APPLICATION["project_name"] in water.locator("main").inner_text()
    # The housing clerk claims the task first; the water clerk works it from the queue.
    housing.click("main button:has-text('认领')")
    assert "已认领" in housing.locator(".flash").inner_text()
    assert housing.locator("main button", has_text="退回队列").count() == 1
    housing.select_option("[name='construction_permit_decision']", label="准予许可")
    housing.fill("[name='construction_permit_opinion']", "材料齐全，符合法定条件，准予许可。")
    housing.fill("[name='construction_permit_licence_no']", "371502202611200101")
    screenshot(housing, "walk-06-review-housing")
    water.select_option("[name='soil_water_conservation_decision']", label="准予许可")
    water.fill("[name='soil_water_conservation_opinion']", "水土保持措施可行，准予许可。")
    housing.click("button:has-text('提交办理')")
    water.click("button:has-text('提交办理')")

    assert f"已办结：建筑工程施工许可审批（{number}）" in housing.locator(".flash").inner_text()
    assert "已办结：水土保持方案审批" in water.locator(".flash").inner_text()
    # The housing clerk goes straight on to the next task of the department's queue.
    assert "/tasks/" in housing.url and HOUSING in housing.locator("aside").inner_text()
    screenshot(housing, "walk-07-after-submit-housing")

    decided = {e.task_spec for e in rt.cases.events(case_id, READER)
               if e.kind == "task_completed"}
    assert {"construction_permit_review", "soil_water_conservation_review"} <= decided

    # -- 3. the other ten reviews, through the engine -----------------------------------------
    case = rt.cases.get_case(case_id, READER)
    while any(t.task_spec.endswith("_review") for t in case.tasks):
        case = approve(rt, next(t for t in case.tasks if t.task_spec.endswith("_review")))
    assert [t.task_spec for t in case.tasks] == ["issuance"]

    # -- 4. the issuance window: every item's result, then post the licences ---------------
    issue = new_page()
    login(issue, hall, *people["issue"])
    issue_rows = task_rows(issue)
    assert {r["lane"] for r in issue_rows} == {ISSUANCE}
    mine = next(r for r in issue_rows if r["case"] == number)
    assert mine["task"] == "统一出件"
    issue.goto(hall["url"] + mine["href"])
    results = issue.locator("#results")
    assert results.locator("h2").inner_text() == "各事项办理结果"
    items = results.locator("tr[data-item]")
    assert items.count() == ITEM_COUNT
    assert set(results.locator("tr[data-item]").evaluate_all(
        "rows => rows.map(r => r.dataset.state)")) == {"approve"}
    permit_row = results.locator("tr[data-item=construction_permit]").inner_text()
    assert "准予许可" in permit_row and "371502202611200101" in permit_row
    soil_row = results.locator("tr[data-item=soil_water_conservation]").inner_text()
    assert "水土保持措施可行" in soil_row and WATER in soil_row
    issue.select_option("[name='delivery_method']", label="邮寄送达")
    issue.fill("[name='tracking_number']", "EMS1126005588")
    issue.fill("[name='recipient_address']", "山东省聊城市东昌府区柳园南路 88 号 陈晓 13806351234")
    screenshot(issue, "walk-08-issuance")
    issue.click("button:has-text('提交办理')")
    assert f"已办结：统一出件（{number}）" in issue.locator(".flash").inner_text()

    # -- 5. the case page: 已办结 and the diagram -------------------------------------------
    issue.goto(hall["url"] + f"/cases/{case_id}")
    facts = issue.locator(".case-head")
    assert "已办结" in facts.locator(".badge").inner_text()
    assert f"{ITEM_COUNT} / {ITEM_COUNT} 已作出决定" in facts.inner_text()
    issue.wait_for_selector(".djs-container, #element-table table", state="visible")
    issue.wait_for_function(
        "() => document.querySelector('.djs-container .djs-element')"
        " || document.querySelector('#casemap').hidden")
    assert issue.locator(".djs-container").count() == 1, "bpmn-js did not draw the diagram"
    issue.wait_for_timeout(300)  # let the zoom-to-fit settle before the picture
    assert issue.locator("#open-tasks").inner_text().count("没有待办任务") == 1
    timeline = issue.locator("#timeline").inner_text()
    assert "办结" in timeline and "吴出件" in timeline
    items = issue.locator("#items").inner_text()
    assert items.count("准予许可") == ITEM_COUNT
    assert "李审批（住建局）" in items and "周审批（水利局）" in items
    screenshot(issue, "walk-09-case-page")
    issue.click("[data-zoom=fit]")  # 全图: the whole one-thing, every item decided
    issue.wait_for_timeout(200)
    doc_screenshot(issue, "case-page")


def test_timeline_names_every_event_in_chinese(hall, new_page, people):
    case = accepted_case(hall["runtime"], project_name="聊城高新区智能制造产业园一期")
    page = new_page()
    login(page, hall, *people["housing"])
    page.goto(hall["url"] + f"/cases/{case.id}")
    timeline = page.locator("#timeline").inner_text()
    assert "任务到达" in timeline
    assert not re.search(r"[a-z]+_[a-z]+", timeline), timeline
    own = next(t for t in case.tasks if t.lane == "住房和城乡建设局")
    page.goto(hall["url"] + f"/tasks/{own.id}")
    assert not re.search(r"[a-z]+_[a-z]+", page.locator(".timeline").inner_text())


def test_air_defense_office_sees_its_two_reviews_by_plain_names(hall, new_page, people):
    case = accepted_case(hall["runtime"], project_name="聊城市人防指挥中心")
    page = new_page()
    login(page, hall, *people["air"])
    rows = [r for r in task_rows(page) if r["case"] == case.number]
    assert {r["lane"] for r in task_rows(page)} == {"人民防空办公室"}
    assert len(rows) == 2
    names = [r["task"] for r in rows]
    assert "人防工程质量监督审批" in names
    assert not [n for n in names if "审批审批" in n], names
