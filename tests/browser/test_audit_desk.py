"""The auditor's desk in Chromium: find a case, open its replay, step back and forth
through its events (buttons and ← →) and watch the diagram's marks change; switch to an
item's diagram; run the re-execution check."""
from __future__ import annotations

import re

from tests.browser.conftest import accepted_case, approve, doc_screenshot, login, screenshot

ACTIVE = '.replay-canvas .djs-element[data-replay="{}"]'


def marked(page, state: str) -> set[str]:
    return set(page.eval_on_selector_all(ACTIVE.format(state),
                                         "els => els.map(e => e.getAttribute('data-element-id'))"))


def wait_active(page, condition: str) -> None:
    """Until the number of elements marked active on the diagram meets `condition`."""
    page.wait_for_function(
        f"document.querySelectorAll('{ACTIVE.format('active')}').length {condition}")


def seq(page) -> int:
    return int(page.locator("#replay-seq").inner_text())


def test_auditor_steps_through_a_parallel_case(hall, new_page, people):
    rt = hall["runtime"]
    case = accepted_case(rt, project_name="聊城市审计回放示范项目")
    for spec in ("construction_permit_review", "fire_design_review_review",
                 "night_construction_review"):
        task = next(t for t in rt.cases.get_case(case.id, _admin()).tasks if t.task_spec == spec)
        approve(rt, task)

    page = new_page()
    login(page, hall, *people["auditor"])
    page.goto(hall["url"] + "/audit")
    page.fill("#applicant", "东昌府区教育")
    page.click("form.audit-search button[type=submit]")
    page.click(f"tr[data-case='{case.id}'] >> text=逐步回放")
    page.wait_for_selector(ACTIVE.format("active"))
    total = seq(page)
    now_active = marked(page, "active")
    assert "call_fire_design_review" not in now_active and "call_quality_supervision" in now_active
    assert "call_fire_design_review" in marked(page, "completed")

    page.click("#step-back")
    page.wait_for_function(f"document.getElementById('replay-seq').textContent === '{total - 1}'")
    # Back to the first event: only the acceptance is being worked on.
    for _ in range(total - 2):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function("document.getElementById('replay-seq').textContent === '1'")
    wait_active(page, "=== 1")
    assert marked(page, "active") == {"front_desk_acceptance"}
    assert "seq=1" in page.url
    assert page.locator("#replay-data tr[data-field='project_name']").inner_text().endswith(
        "聊城市审计回放示范项目")

    for _ in range(14):  # acceptance done, twelve items in parallel
        page.keyboard.press("ArrowRight")
    page.wait_for_function("document.getElementById('replay-seq').textContent === '15'")
    wait_active(page, "> 1")
    assert "front_desk_acceptance" in marked(page, "completed")
    assert {"call_construction_permit", "call_fire_design_review"} <= marked(page, "active")

    page.click(".process-tabs a[data-process='item_construction_permit']")
    page.wait_for_selector(".replay-canvas [data-element-id='construction_permit_review']"
                           "[data-replay='active']")
    assert marked(page, "active") == {"construction_permit_review"}
    screenshot(page, "audit-replay-item")

    page.goto(hall["url"] + f"/audit/cases/{case.id}/replay")
    page.click("text=重新执行核对")
    page.wait_for_selector("#conformance")
    assert "一致" in page.locator("#conformance").inner_text()
    page.wait_for_selector(ACTIVE.format("active"))
    assert re.search(r"/audit/cases/\d+/reexecute", page.url)
    page.evaluate("document.getElementById('conformance').scrollIntoView()")
    doc_screenshot(page, "audit")


def _admin():
    from engine.cases.dto import Actor

    return Actor("admin", frozenset({"admin"}))
