"""The analyst studio in a real browser: an analyst opens a department's review task in the
modeler, adds a required form field through the Camunda properties panel, validates (the
problem shows on the task itself until the field is complete), previews the form and
deploys; then a clerk of that department sees the new field on a case received after the
deployment, while a case received before keeps the form it started with."""
from __future__ import annotations

import pytest

from tests.browser.conftest import (accepted_case, clerk_of, doc_screenshot, login,
                                    screenshot)

ITEM = "item_drainage_permit"
REVIEW = "drainage_permit_review"
LANE = "城市管理局"
FIELD = "drainage_outlet_count"
ANALYST = ("analyst", "analyst-pass-1")


@pytest.fixture(scope="module")
def analyst_user(hall, people):
    rt = hall["runtime"]
    if rt.users.get(ANALYST[0]) is None:
        rt.users.create(ANALYST[0], ANALYST[1], display_name="陈分析", roles=["analyst"])
    return ANALYST


def review_task_of(runtime, case_id: int):
    clerk = clerk_of(runtime, LANE)
    return next(t for t in runtime.tasks.visible(clerk, limit=200)
                if t.case_id == case_id and t.task_spec == REVIEW and t.state == "open")


def entry(page, suffix: str):
    return page.locator(f'[data-entry-id="{REVIEW}-formField-3-{suffix}"]')


def test_analyst_adds_a_required_field_and_only_new_cases_get_it(hall, people, analyst_user,
                                                                new_page):
    rt = hall["runtime"]
    before = accepted_case(rt)  # received before the change: pinned to v1 of the item

    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, hall, *analyst_user)
    page.goto(hall["url"] + "/studio")
    row = page.locator(f"#process-{ITEM} tr[data-version='1']")
    assert row.locator("td[data-open]").get_attribute("data-open") == "1"
    page.click(f"#process-{ITEM} a:has-text('打开建模器')")
    page.wait_for_selector("#studio[data-ready=true]")

    # Select the department's review task and open its form fields in the properties panel.
    page.click(f'.djs-element[data-element-id="{REVIEW}"]')
    group = page.locator('[data-group-id="group-CamundaPlatform__FormData"]')
    group.wait_for()
    group.locator(".bio-properties-panel-group-header").click()
    group.locator(".bio-properties-panel-group-header .bio-properties-panel-add-entry").click()
    entry(page, "formFieldID").wait_for()

    # An empty field is a problem: validation marks the task itself and lists the problem.
    page.click("#studio-validate")
    page.wait_for_selector(f'.djs-element.studio-problem[data-element-id="{REVIEW}"]')
    assert page.locator(f'#studio-problem-list li[data-element="{REVIEW}"]').count() >= 1
    screenshot(page, "studio-problems")

    entry(page, "formFieldID").locator("input").fill(FIELD)
    entry(page, "formFieldLabel").locator("input").fill("排水口数量")
    entry(page, "formFieldType").locator("select").select_option("long")
    constraints = entry(page, "formFieldConstraints")
    constraints.locator(".bio-properties-panel-add-entry").first.click()
    name = entry(page, "formFieldConstraints-constraint-0-name").locator("input")
    name.wait_for()
    name.fill("required")
    # The panel commits typed values after a short debounce; wait until the diagram has them.
    page.wait_for_function("""([task, field]) => {
        const element = window.studioModeler.get('elementRegistry').get(task);
        const data = (element.businessObject.extensionElements.values || [])
            .find(e => e.$type === 'camunda:FormData');
        const found = data && data.fields.find(f => f.id === field);
        return found && found.label === '排水口数量' && found.type === 'long' &&
            found.validation && found.validation.constraints.some(c => c.name === 'required');
    }""", arg=[REVIEW, FIELD])

    page.click("#studio-validate")
    page.wait_for_selector("#studio-message.success")
    assert page.locator(".djs-element.studio-problem").count() == 0

    # The preview is the clerk's form: the new field, required, as a number input.
    page.select_option("#studio-preview-element", REVIEW)
    page.click("#studio-preview")
    preview = page.locator("#studio-preview-body")
    preview.locator(f"input[name={FIELD}][type=number][required]").wait_for()
    screenshot(page, "studio-preview")
    page.evaluate("window.scrollTo(0, 0)")
    doc_screenshot(page, "studio")

    page.click("#studio-deploy")
    page.wait_for_url("**/studio")
    assert "v2" in page.locator(".flash.success").inner_text()
    deployer = page.locator(f"#process-{ITEM} tr[data-version='2'] td[data-by]")
    assert deployer.inner_text() == "analyst"
    screenshot(page, "studio-index")

    after = accepted_case(rt)  # received after the deployment: pinned to v2

    clerk = new_page()
    city = people["city"]
    login(clerk, hall, *city)
    clerk.goto(hall["url"] + f"/tasks/{review_task_of(rt, after.id).id}")
    new_field = clerk.locator(f"form [name={FIELD}]")
    assert new_field.count() == 1 and new_field.get_attribute("required") is not None
    clerk.goto(hall["url"] + f"/tasks/{review_task_of(rt, before.id).id}")
    clerk.locator("form [name=drainage_permit_decision]").wait_for()
    assert clerk.locator(f"form [name={FIELD}]").count() == 0
