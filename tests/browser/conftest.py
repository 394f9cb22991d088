"""Browser tests: the real pages, served by a live server on 127.0.0.1, driven by
Playwright's Python package in Debian's Chromium (never a downloaded browser)."""
from __future__ import annotations

import shutil
import threading
from datetime import datetime
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine.clock import SHANGHAI, FrozenClock
from engine.runtime import build_runtime
from tests.conftest import PROCESSES, deploy_files
from web import create_app
from web.formsource import form_check

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    if CHROMIUM:
        return
    skip = pytest.mark.skip(reason="Debian chromium is not installed (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def hall(tmp_path_factory, sqlite_template):
    """A running service hall: deployed processes, a live server, a clock tests can move."""
    folder = tmp_path_factory.mktemp("hall")
    db_path = folder / "hall.sqlite3"
    shutil.copy(sqlite_template, db_path)
    clock = FrozenClock(datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI))
    runtime = build_runtime(f"sqlite:///{db_path}", clock=clock, instance=folder / "instance",
                            checks=[form_check])
    deploy_files(runtime, PROCESSES)
    app = create_app({"TESTING": True, "SECRET_KEY": "browser-tests",
                      "WTF_CSRF_SSL_STRICT": False}, runtime=runtime)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "runtime": runtime, "clock": clock}
    server.shutdown()
    runtime.db.dispose()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """Pages in separate contexts, so each user has their own session cookie."""
    contexts = []

    def make(width: int = 1366, height: int = 768):
        context = browser.new_context(viewport={"width": width, "height": height},
                                      locale="zh-CN")
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def login(page, hall, username: str, password: str) -> None:
    page.goto(hall["url"] + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="module")
def people(hall):
    """Demo-like users, created once per module."""
    users = {
        "front": ("frontdesk", "front-pass-1", ["frontdesk"], ["综合受理窗口"]),
        "housing": ("zjj", "zjj-pass-1", ["approver", "lead"], ["住房和城乡建设局"]),
        "water": ("slj", "slj-pass-1", ["approver"], ["水利局"]),
        "issue": ("chujian", "chujian-pass-1", ["issuance"], ["统一出件窗口"]),
        "auditor": ("auditor", "auditor-pass-1", ["auditor"], []),
    }
    rt = hall["runtime"]
    for username, password, roles, groups in users.values():
        if rt.users.get(username) is None:
            rt.users.create(username, password, roles=roles, groups=groups)
    return {key: (u[0], u[1]) for key, u in users.items()}


