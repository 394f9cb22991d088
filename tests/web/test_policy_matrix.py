"""Every route of the app × every demo person: who gets in, who is refused, and how.

The routes come from the app's own `url_map`, so a new route cannot escape: one missing
from EXPECTED fails `test_every_route_has_an_expectation`. Each person of `onething demo`
(plus an anonymous visitor) asks every route once, in the seeded demo hall, about a real
case and task. Outcomes:

* ``in``       — passed every permission check (whatever the page then says);
* ``sign-in``  — sent to /login (pages) or 401 (API);
* ``403``      — known but not allowed (a role or task rule);
* ``404``      — a case the person may not read, answered exactly like a missing one.

Routes that change something (any method but GET) are asked only by the people expected
to be refused, so the matrix never changes the hall it reads; what the others may do is
exercised by the behaviour tests (tests/web/test_policy.py and the rest of the suite).
"""
from __future__ import annotations

import io

import pytest

from tests.web.demohall import build_demo_hall
from demo import DEMO_USERS

RESTAURANT = "onething_restaurant"
CONSTRUCTION = "onething_construction_permit"
ANONYMOUS = "(anonymous)"
PEOPLE = [u[0] for u in DEMO_USERS] + [ANONYMOUS]
ROLES = {u[0]: set(u[3]) for u in DEMO_USERS}

# The sample case: 开餐馆, issued, the fire brigade's site check still open. Its tasks were
# in the windows (综合受理窗口, 统一出件窗口) and in 市场监管局, 城市管理局, 消防救援支队 and
# 烟草专卖局. Readers: the windows (and the API client filing for the front desk, which is
# in 综合受理窗口), auditors, admins and those departments' clerks.
CASE_READERS = {"frontdesk", "chujian", "auditor", "admin", "api", "scjgj", "xfzd", "ycj",
                "cgj"}
# …and who may cancel it: admins and leads of those departments.
CASE_CANCELLERS = {"admin", "scjgj", "xfzd"}
# The sample task: 建筑工程施工许可审批, open in 住房和城乡建设局. Its page opens for that
# department (the supervisor jianguan included: reading is not approving), auditors, admins;
# working on it is for the department's approvers only (审管分离: not jianguan).
TASK_VIEWERS = {"zjj", "jianguan", "auditor", "admin"}
TASK_WORKERS = {"zjj", "admin"}
TASK_LEADS = {"zjj", "admin"}


def roles(*names: str):
    """Holders of one of `names` (an administrator holds every role); others 403."""
    return _gate(lambda person: "in" if ROLES[person] & {*names, "admin"} else "403")


def people(allowed: set[str], refused: str = "403"):
    rule = lambda person: "in" if person in allowed else refused  # noqa: E731
    return _gate(rule) if refused == "403" else rule


def _gate(rule):
    """A role or task gate: past it, a 404 is the page's own answer (no such notice,
    draft or version in the demo hall), not a refusal."""
    rule.gate = True
    return rule


def case_reader(person: str) -> str:
    return "in" if person in CASE_READERS else "404"


def case_canceller(person: str) -> str:
    if person in CASE_CANCELLERS:
        return "in"
    return "403" if person in CASE_READERS else "404"


def signed_in(person: str) -> str:
    return "in"


PUBLIC = "public"  # no sign-in needed, anonymous visitors included

# endpoint (or "endpoint METHOD") -> who gets in. Anonymous visitors get "sign-in"
# everywhere but on PUBLIC routes.
EXPECTED = {
    "home": PUBLIC, "static": PUBLIC, "i18n.choose": PUBLIC, "auth.login": PUBLIC,
    "auth.logout": signed_in,
    "portal.index": PUBLIC, "portal.lookup": PUBLIC, "portal.leave": PUBLIC,
    "portal.case": PUBLIC, "portal.supply": PUBLIC, "portal.submit": PUBLIC,
    "portal.rate": PUBLIC,
    # the clerk's desk
    "tasks.index": signed_in, "tasks.notifications": signed_in,
    "tasks.notifications_read": signed_in,
    "tasks.show": people(TASK_VIEWERS), "tasks.complete": people(TASK_WORKERS),
    "tasks.claim": people(TASK_WORKERS), "tasks.unclaim": people(TASK_WORKERS),
    "tasks.procedure": people(TASK_WORKERS), "tasks.assign": people(TASK_LEADS),
    "tasks.extend": people(TASK_LEADS),
    # an upload nobody has used yet opens for its uploader (the front desk) only
    "tasks.material": people({"frontdesk"}, "404"),
    # the case page
    "cases.show": case_reader, "cases.map_json": case_reader, "cases.diagram": case_reader,
    # the counter
    "counter.index": roles("frontdesk"), "counter.apply": roles("frontdesk"),
    "counter.submit": roles("frontdesk"), "counter.applicable": roles("frontdesk"),
    "counter.report": roles("frontdesk", "analyst"),
    "counter.deficiency_notice": roles("frontdesk"), "counter.materials": roles("frontdesk"),
    "counter.supply": roles("frontdesk"), "counter.notice": roles("frontdesk"),
    "counter.receipt": roles("frontdesk"), "counter.withdrawal": roles("frontdesk"),
    # the hall's loops
    "loops.ratings": roles("lead"), "loops.reminders": roles("frontdesk", "lead", "auditor"),
    "loops.supervision": roles("supervisor", "lead", "auditor"),
    "loops.workorders": roles("hotline", "frontdesk", "approver", "lead", "auditor"),
    "loops.workorder": roles("hotline", "frontdesk", "approver", "lead", "auditor"),
    "loops.workorder_new": roles("hotline"), "loops.workorder_create": roles("hotline"),
    "loops.workorder_dispatch": roles("hotline"),
    # auditors (replay and history of any case are theirs)
    **{f"audit.{name}": roles("auditor") for name in (
        "index", "analytics_page", "analytics_diagram", "case_history", "reexecute",
        "replay", "state_json", "export_xes", "verify_page", "verify_checkpoint")},
    # analysts
    **{f"studio.{name}": roles("analyst") for name in (
        "index", "catalogue", "catalogue_entry", "catalogue_json", "catalogue_version",
        "diff", "download_logged", "migrations", "revert_migration", "migrate_all",
        "migrate_case", "deploy", "save_draft", "download_draft", "discard_draft",
        "preview_draft", "edit", "preview_posted", "validate", "download_version",
        "upload")},
    # administrators
    **{f"admin.{name}": roles("admin") for name in (
        "index", "calendar", "import_calendar", "department_list", "add_department",
        "activate_department", "deactivate_department", "incidents", "retry_incident",
        "users", "create_user", "edit_user", "activate_user", "deactivate_user",
        "reset_password", "issue_token")},
    # the API (bearer tokens: every demo person has one)
    "api.openapi": PUBLIC, "api.list_processes": signed_in, "api.process_form": signed_in,
    "api.start_case": roles("frontdesk", "api"),
    "api.get_case": case_reader, "api.case_events": case_reader,
    "api.deficiency_status": case_reader,
    "api.supply_material": roles("frontdesk", "api"),
    "api.cancel_case": case_canceller,
    "api.list_tasks": signed_in, "api.get_task": people(TASK_VIEWERS),
    "api.claim_task": people(TASK_WORKERS), "api.unclaim_task": people(TASK_WORKERS),
    "api.complete_task": people(TASK_WORKERS),
    "api.special_procedure": people(TASK_WORKERS),
    "api.assign_task": people(TASK_LEADS), "api.extend_task": people(TASK_LEADS),
    "api.upload": signed_in,
}


@pytest.fixture(scope="module")
def hall(tmp_path_factory, sqlite_template):
    hall = build_demo_hall(tmp_path_factory.mktemp("matrix"), sqlite_template)
    rt = hall.runtime
    hall.case = hall.case_id(RESTAURANT, status="running", with_open="fire_safety_site_check")
    hall.task = hall.open_task(hall.case_id(CONSTRUCTION, status="running",
                                            with_open="construction_permit_review"),
                               "construction_permit_review")
    hall.upload = rt.uploads.save(io.BytesIO(b"%PDF-1.4 scan"), "scan.pdf", "frontdesk").id
    hall.clients = {}
    yield hall
    rt.db.dispose()


def routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _routes_of_a_fresh_app():
    from engine.runtime import build_runtime
    from web import create_app

    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp())
    rt = build_runtime(f"sqlite:///{folder / 'routes.sqlite3'}", instance=folder)
    app = create_app({"TESTING": True, "SECRET_KEY": "test"}, runtime=rt)
    found = [(rule.endpoint, rule.rule, method) for rule, method in routes(app)]
    rt.db.dispose()
    return found


ROUTES = _routes_of_a_fresh_app()


def expectation(endpoint: str, method: str):
    return EXPECTED.get(f"{endpoint} {method}", EXPECTED.get(endpoint))


def test_every_route_has_an_expectation():
    missing = sorted({f"{e} {m} {r}" for e, r, m in ROUTES if expectation(e, m) is None})
    assert not missing, "routes without an expected answer: " + ", ".join(missing)
    stale = sorted(set(EXPECTED) - {e for e, _r, _m in ROUTES}
                   - {f"{e} {m}" for e, _r, m in ROUTES})
    assert not stale, stale


def _url(hall, endpoint: str, rule: str) -> str:
    values = {"case_id": hall.case, "task_id": hall.task, "key": RESTAURANT,
              "username": "rfb", "department_id": 1, "incident_id": 1,
              "upload_id": hall.upload, "version": 1, "entry_id": 1, "migration_id": 1,
              "element_id": "front_desk_acceptance", "process": RESTAURANT, "code": "zh",
              "filename": "css/onething.css"}
    with hall.app.test_request_context():
        from flask import url_for

        args = {name: values[name] for name in _arguments(hall.app, endpoint, rule)}
        return url_for(endpoint, **args)


def _arguments(app, endpoint, rule_text):
    return next(r.arguments for r in app.url_map.iter_rules()
                if r.endpoint == endpoint and r.rule == rule_text)


def _ask(hall, person: str, method: str, url: str):
    if url.startswith("/api/"):
        headers = {} if person == ANONYMOUS else {"Authorization": f"Bearer {hall.token(person)}"}
        body = {"json": {"reason": "核对", "process": RESTAURANT, "data": {},
                         "field": "business_licence_file", "upload": hall.upload,
                         "assignee": "zjj", "amount": 1}} \
            if method == "POST" else {}
        return hall.app.test_client().open(url, method=method, headers=headers, **body)
    if person not in hall.clients:
        hall.clients[person] = _anonymous(hall) if person == ANONYMOUS else hall.client(person)
    client = hall.clients[person]
    # A valid CSRF token and well-formed input, so that only permission can refuse.
    data = {"csrf_token": client.csrf, "assignee": "zjj", "amount": "1", "reason": "核对"}
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data=data)


def _anonymous(hall):
    import re

    client = hall.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return client


def outcome(response) -> str:
    location = response.headers.get("Location", "")
    if response.status_code == 401 or (response.status_code in (301, 302, 303)
                                       and "/login" in location):
        return "sign-in"
    if response.status_code in (403, 404):
        return str(response.status_code)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    return "in"


@pytest.mark.parametrize("endpoint,rule,method", ROUTES,
                         ids=[f"{m} {r}" for _e, r, m in ROUTES])
def test_route_answers_every_person_as_the_policy_says(hall, endpoint, rule, method):
    rule_of = expectation(endpoint, method)
    url = _url(hall, endpoint, rule)
    wrong = {}
    for person in PEOPLE:
        if rule_of == PUBLIC:
            expected = "in"
        elif person == ANONYMOUS:
            expected = "sign-in"
        else:
            expected = rule_of(person)
        if method != "GET" and expected == "in":
            continue  # never change the hall the matrix reads
        got = outcome(_ask(hall, person, method, url))
        if got == "404" and expected == "in" and getattr(rule_of, "gate", False):
            got = "in"
        if got != expected:
            wrong[person] = f"expected {expected}, got {got}"
    assert not wrong, wrong
