"""Signing in and being sent to sign-in, in a real browser."""
from __future__ import annotations

from tests.browser.conftest import login, screenshot


def test_anonymous_visitor_is_sent_to_sign_in(hall, new_page):
    page = new_page()
    page.goto(hall["url"] + "/tasks")
    assert "/login" in page.url
    assert page.locator("h1").inner_text() == "登录"


def test_wrong_password_says_so_in_chinese(hall, new_page, people):
    page = new_page()
    login(page, hall, people["front"][0], "wrong-password")
    assert "用户名或密码错误" in page.content()
    assert page.locator("#password").get_attribute("aria-invalid") == "true"


def test_clerk_signs_in_to_the_task_list_and_out_again(hall, new_page, people):
    page = new_page()
    login(page, hall, *people["housing"])
    assert page.url.endswith("/tasks")
    assert page.locator("h1").inner_text() == "待办任务"
    screenshot(page, "task-list-empty")
    page.click("text=退出")
    assert "/login" in page.url
    page.goto(hall["url"] + "/tasks")
    assert "/login" in page.url
