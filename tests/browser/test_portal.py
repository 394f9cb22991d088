"""The applicant portal in a real browser: look a case up with its number and the last four
digits of the contact's mobile, send a correction the department asked for, rate the case."""
from __future__ import annotations

from tests.browser.conftest import PDF, accepted_case, clerk_of, doc_screenshot, screenshot


def test_applicant_looks_up_supplements_and_rates(hall, new_page, people, tmp_path):
    rt = hall["runtime"]
    case = accepted_case(rt)
    review = next(t for t in case.tasks if t.task_spec == "night_construction_review")
    case = rt.cases.complete(review.id, {"night_construction_decision": "correct",
                                         "night_construction_opinion": "请补正：夜间施工降噪方案。"},
                             clerk_of(rt, review.lane))
    page = new_page()
    page.goto(hall["url"] + "/portal")
    page.fill("#number", case.number)
    page.fill("#digits", "0000")
    page.click("button.primary")
    assert "办件编号或验证信息不正确" in page.content()
    page.fill("#number", case.number)
    page.fill("#digits", "1234")
    page.click("button.primary")
    assert page.url.endswith("/portal/case")
    assert page.locator("#case-number").inner_text() == case.number
    assert page.locator(".portal-steps [aria-current=step]").inner_text() == "审查"
    assert "请补正：夜间施工降噪方案。" in page.content()

    scheme = tmp_path / "降噪方案.pdf"
    scheme.write_bytes(PDF)
    request = page.locator("#requests + ul > li").first
    request.locator("input[type=file]").set_input_files(str(scheme))
    request.locator("textarea[name=note]").fill("已补夜间施工降噪方案")
    request.locator("button[type=submit]").click()
    assert "补正材料已提交" in page.content()
    assert "降噪方案.pdf" in page.locator("#requests + ul").inner_text()

    rating = page.locator("section.portal-rating[data-scope=case]")
    rating.locator("input[name=score][value='5']").check()
    rating.locator("textarea[name=comment]").fill("一次都没跑腿，网上就补上了材料")
    rating.locator("button[type=submit]").click()
    assert "感谢您的评价" in page.content()
    assert "非常满意" in page.locator("section.portal-rating[data-scope=case]").inner_text()
    assert rt.ratings.current(case.id)["case"].score == 5
    page.evaluate("window.scrollTo(0, 0)")
    doc_screenshot(page, "portal")
    screenshot(page, "portal-case")
