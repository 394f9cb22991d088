"""Browser tests: the real pages, served by a live server on 127.0.0.1, driven by
Playwright's Python package in Debian's Chromium (never a downloaded browser)."""
from __future__ import annotations

import shutil
import threading
from datetime import datetime
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine.worktime.clock import SHANGHAI, FrozenClock
from engine.runtime import build_runtime
from engine.cases.dto import Actor
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


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture(scope="module")
def people(hall):
    """Demo-like users (display names as in `make demo`), created once per module."""
    users = {
        "front": ("frontdesk", "front-pass-1", "王受理", ["frontdesk"], ["综合受理窗口"]),
        "housing": ("zjj", "zjj-pass-1", "李审批（住建局）", ["approver", "lead"], ["住房和城乡建设局"]),
        "water": ("slj", "slj-pass-1", "周审批（水利局）", ["approver"], ["水利局"]),
        "air": ("rfb", "rfb-pass-1", "张审批（人防办）", ["approver"], ["人民防空办公室"]),
        "city": ("cgj", "cgj-pass-1", "赵审批（城管局）", ["approver"], ["城市管理局"]),
        "ecology": ("hbj", "hbj-pass-1", "孙审批（生态环境局）", ["approver"], ["生态环境局"]),
        "issue": ("chujian", "chujian-pass-1", "吴出件", ["issuance"], ["统一出件窗口"]),
        "auditor": ("auditor", "auditor-pass-1", "钱审计", ["auditor"], []),
        # Sits at the front-desk window but holds no role: may not accept applications.
        "norole": ("trainee", "trainee-pass-1", "见习人员", [], ["综合受理窗口"]),
    }
    rt = hall["runtime"]
    for username, password, name, roles, groups in users.values():
        if rt.users.get(username) is None:
            rt.users.create(username, password, display_name=name, roles=roles, groups=groups)
    return {key: (u[0], u[1]) for key, u in users.items()}


# -- helpers for the walkthrough and access tests -------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PROCESS = "onething_construction_permit"
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
       b"trailer << /Root 1 0 R >>\n%%EOF\n")
FRONT_ACTOR = Actor("frontdesk", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))


def doc_screenshot(page, name: str) -> Path:
    """A README screenshot: the viewport only (1366×768), into docs/screenshots/."""
    DOCS.mkdir(parents=True, exist_ok=True)
    path = DOCS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def csrf_token(page) -> str:
    """The CSRF token of the page (every signed-in page has one in its sign-out form)."""
    return page.locator("input[name=csrf_token]").first.get_attribute("value")


def accepted_case(runtime, **changes):
    """A construction-permit case received and accepted through the engine (no browser):
    it waits in parallel review in all five departments."""
    from web import formsource
    from demo import CONSTRUCTION_APPLICATION

    with runtime.db.reading() as session:
        definition = runtime.definitions.latest(session, PROCESS)
    data = formsource.clean_application(runtime, definition,
                                        {**CONSTRUCTION_APPLICATION, **changes})
    case = runtime.cases.start_case(PROCESS, data, FRONT_ACTOR)
    task = next(t for t in case.tasks if t.task_spec == "front_desk_acceptance")
    return runtime.cases.complete(task.id, {"acceptance_decision": "accept",
                                            "materials_complete": True}, FRONT_ACTOR)


def clerk_of(runtime, lane: str) -> Actor:
    """A user of `lane` (from `people`) as the engine sees them."""
    from engine.people.users import actor_of

    username, _name = runtime.users.in_group(lane)[0]
    return actor_of(runtime.users.get(username))


def approve(runtime, task, opinion: str = "材料齐全，符合条件，准予许可。"):
    """Approve one item review task through the engine API, as a clerk of its department."""
    key = task.task_spec.removesuffix("_review")
    return runtime.cases.complete(task.id, {f"{key}_decision": "approve",
                                            f"{key}_opinion": opinion},
                                  clerk_of(runtime, task.lane))


def applicant_materials(runtime) -> list:
    """The materials the applicant brings (必要 and 容缺后补) to the construction permit;
    department-issued ones are pulled from the data-sharing platform at the counter (零材料)."""
    from web import formsource

    with runtime.db.reading() as session:
        definition = runtime.definitions.latest(session, PROCESS)
    return [f for f in formsource.start_form(runtime, definition).fields
            if f.type == "file" and f.source == "申请人自备" and f.necessity in ("必要", "容缺后补")]


def fill_application(page, values: dict) -> None:
    """Type every value into the counter's merged form, whatever kind of input its field has
    (inputs are named by field id; selects by option value; checkboxes; dates YYYY-MM-DD)."""
    for field_id, value in values.items():
        control = page.locator(f"form [name='{field_id}']").first
        tag = control.evaluate("e => e.tagName.toLowerCase()")
        if tag == "select":
            control.select_option(value)
        elif control.get_attribute("type") == "checkbox":
            control.set_checked(value in ("true", True))
        else:
            control.fill(value)
