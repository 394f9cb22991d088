"""The one-form follows the answers in the browser: typing a below-threshold investment and
area hides the questions only the construction-permit item asks, without a reload (what
was typed stays), and a big project shows them again."""
from __future__ import annotations

import pytest

from tests.browser.conftest import PROCESS, fill_application, login

pytestmark = pytest.mark.browser


def test_a_small_project_hides_the_permit_items_questions_as_you_type(hall, new_page, people):
    page = new_page()
    login(page, hall, *people["front"])
    page.goto(hall["url"] + f"/counter/{PROCESS}")
    land = page.locator("[data-field='land_use_cert_no']")
    assert land.is_visible()
    fill_application(page, {"project_name": "社区便民服务站改造"})
    with page.expect_response(lambda r: r.url.endswith("/applicable")):
        fill_application(page, {"investment": "25"})
        page.locator("#f-floor_area").fill("260")
        page.locator("#f-floor_area").dispatch_event("change")
    page.wait_for_function(
        "document.getElementById('hidden-fields').textContent.includes('land_use_cert_no')")
    assert not land.is_visible()
    assert page.locator("#f-project_name").input_value() == "社区便民服务站改造"  # no reload
    with page.expect_response(lambda r: r.url.endswith("/applicable")):
        page.locator("#f-investment").fill("3000")
        page.locator("#f-investment").dispatch_event("change")
    page.wait_for_function(
        "!document.getElementById('hidden-fields').textContent.includes('land_use_cert_no')")
    assert land.is_visible()
