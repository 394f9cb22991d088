"""Migration in a real browser: a case waits at 审查 on v1 of a small process; the analyst
deploys v2, which adds 签发 after 审查, sees the change highlighted on the diagram, checks the
case (可以迁移) and migrates it; the clerk completes 审查 and the case goes on to the new
task 签发, with its new form field."""
from __future__ import annotations

import pytest

from engine.cases.dto import Actor
from tests.browser.conftest import login, screenshot
from tests.studio_variants import V1, V2, deploy_text

ANALYST = ("analyst", "analyst-pass-1")
REVIEWER = ("shenchake", "review-pass-1")
CLERK = Actor("system-front", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))


@pytest.fixture(scope="module")
def users(hall):
    rt = hall["runtime"]
    if rt.users.get(ANALYST[0]) is None:
        rt.users.create(ANALYST[0], ANALYST[1], display_name="陈分析", roles=["analyst"])
    if rt.users.get(REVIEWER[0]) is None:
        rt.users.create(REVIEWER[0], REVIEWER[1], display_name="审查科 刘审查",
                        roles=["approver"], groups=["审查科"])


def test_a_waiting_case_is_migrated_and_continues_to_the_new_task(hall, users, new_page):
    rt = hall["runtime"]
    deploy_text(rt, V1)
    case = rt.cases.start_case("simple_permit", {}, CLERK)
    case = rt.cases.complete(case.tasks[0].id, {"applicant": "张三"}, CLERK)
    review = case.tasks[0]
    assert review.task_spec == "review"
    deploy_text(rt, V2)

    analyst = new_page()
    login(analyst, hall, *ANALYST)
    analyst.goto(hall["url"] + "/studio/diff?key=simple_permit&old=1&new=2")
    analyst.wait_for_selector(".diff-canvas[data-side=new][data-drawn=true]")
    added = analyst.locator(".diff-canvas[data-side=new] .djs-element.ot-diff-added"
                            "[data-element-id=sign_off]")
    assert added.count() == 1
    assert "新增" in analyst.locator(".diff-canvas[data-side=new] .ot-diff-badge.added").first.inner_text()
    assert "签发" in analyst.locator("#diff-changes").inner_text()
    screenshot(analyst, "studio-diff")

    analyst.click("text=把 v1 的办件迁移到 v2")
    row = analyst.locator(f"tr[data-case='{case.number}']")
    assert "可以迁移" in row.inner_text() and "「审查」(review)" in row.inner_text()
    screenshot(analyst, "studio-migration-check")
    row.locator("button", has_text="迁移到 v2").click()
    assert f"办件 {case.number} 已迁移到 v2" in analyst.locator(".flash").inner_text()
    assert analyst.locator("#migration-history button", has_text="撤销迁移").count() == 1

    clerk = new_page()
    login(clerk, hall, *REVIEWER)
    clerk.goto(hall["url"] + f"/tasks/{review.id}")
    clerk.fill("[name='opinion']", "同意")
    clerk.click("button:has-text('提交办理')")
    assert "已办结：审查" in clerk.locator(".flash").inner_text()
    sign_off = next(t for t in rt.cases.get_case(case.id, CLERK).tasks)
    assert sign_off.task_spec == "sign_off" and sign_off.name == "签发"
    clerk.goto(hall["url"] + f"/tasks/{sign_off.id}")
    assert clerk.locator("[name='licence_no']").count() == 1
    screenshot(clerk, "studio-migrated-case-new-task")

    analyst.reload()
    assert analyst.locator("#migration-history", has_text="办件已继续办理，不能撤销").count() == 1
