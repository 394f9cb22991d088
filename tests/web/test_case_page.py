"""The case page `/cases/<id>` and its two JSON/XML endpoints, through the login form."""
from __future__ import annotations

import re

import pytest

from engine.cases.dto import Actor
from tests.conftest import PROCESSES, deploy_files
from web import formsource
from demo import CONSTRUCTION_APPLICATION

ONE_THING = "onething_construction_permit"
FRONT = Actor("frontdesk", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
HOUSING = Actor("zjj", frozenset({"approver"}), frozenset({"住房和城乡建设局"}))
ACCEPT = {"acceptance_decision": "accept", "materials_complete": True}
PASSWORD = "secret-2026"


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token.group(1)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def people(deployed):
    users = deployed.users
    users.create("zjj", PASSWORD, display_name="李审批", roles=["approver"],
                 groups=["住房和城乡建设局"])
    users.create("frontdesk", PASSWORD, display_name="王受理", roles=["frontdesk"],
                 groups=["综合受理窗口"])
    users.create("auditor", PASSWORD, display_name="钱审计", roles=["auditor"])
    users.create("analyst", PASSWORD, display_name="郑分析", roles=["analyst"])
    return deployed


@pytest.fixture
def case(people):
    """A one-thing accepted at the front desk, with the construction permit decided."""
    rt = people
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, ONE_THING)
    data = formsource.clean_application(rt, definition, dict(CONSTRUCTION_APPLICATION))
    case = rt.cases.start_case(ONE_THING, data, FRONT)
    case = rt.cases.complete(case.tasks[0].id, ACCEPT, FRONT)
    task = next(t for t in case.tasks if t.task_spec == "construction_permit_review")
    return rt.cases.complete(task.id, {"construction_permit_decision": "approve",
                                       "construction_permit_opinion": "同意"}, HOUSING)


@pytest.mark.parametrize("username", ["zjj", "auditor"])
def test_page_for_a_department_clerk_and_an_auditor(client, case, username):
    login(client, username)
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert case.number in page and "聊城市东昌府区实验小学教学楼" in page
    assert "王受理" in page  # the accepting clerk, by name
    # The diagram: viewer and our script from the static folder, never a CDN.
    assert "/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" in page
    assert "/static/js/casemap.js" in page and "://unpkg" not in page and "cdn" not in page
    assert f'data-map-url="/cases/{case.id}/map.json"' in page
    # Without JavaScript: the element table of the one-thing, and the per-item table.
    assert "各环节办理状态" in page and "综合受理" in page
    assert "事项办理情况" in page and "准予许可" in page and "审查中" in page
    # Open tasks link to the task page.
    for task in case.tasks:
        assert f"/tasks/{task.id}" in page
    # Timeline with Chinese labels and actors.
    assert "收件" in page and "办理完成" in page and "李审批" in page


def test_selecting_an_item_shows_its_table_without_javascript(client, case):
    login(client, "auditor")
    page = client.get(f"/cases/{case.id}?process=item_construction_permit").get_data(
        as_text=True)
    panel = re.search(r'<div class="map-panel" data-process="item_construction_permit"\s*>', page)
    assert panel is not None  # not hidden
    assert re.search(rf'<div class="map-panel" data-process="{ONE_THING}" hidden>', page)
    assert "建筑工程施工许可审批" in page
    # An unknown process falls back to the one-thing's own diagram.
    page = client.get(f"/cases/{case.id}?process=nope").get_data(as_text=True)
    assert re.search(rf'<div class="map-panel" data-process="{ONE_THING}"\s*>', page)


def test_user_without_departments_or_roles_gets_404(client, case):
    """A case one may not read looks exactly like one that does not exist."""
    login(client, "analyst")
    for path in (f"/cases/{case.id}", f"/cases/{case.id}/map.json",
                 f"/cases/{case.id}/diagram.xml?process={ONE_THING}"):
        assert client.get(path).status_code == 404, path


def test_anonymous_visitors_are_sent_to_login(client, case):
    for path in (f"/cases/{case.id}", f"/cases/{case.id}/map.json",
                 f"/cases/{case.id}/diagram.xml"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_unknown_case_and_process_are_404(client, case):
    login(client, "auditor")
    assert client.get("/cases/999999").status_code == 404
    assert client.get("/cases/99999999999").status_code == 404
    assert client.get(f"/cases/{case.id}/diagram.xml?process=item_unknown").status_code == 404
    assert client.get(f"/cases/{case.id}/diagram.xml?process=..%2F%00").status_code == 404
    response = client.get("/cases/999999/map.json", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.get_json()["error"]


def test_diagram_xml_is_the_pinned_version_after_a_newer_deploy(client, case, people,
                                                                tmp_path):
    login(client, "zjj")
    before = client.get(f"/cases/{case.id}/diagram.xml?process=item_night_construction")
    assert before.status_code == 200 and before.mimetype == "application/xml"
    assert "sandbox" in before.headers["Content-Security-Policy"]
    pinned = before.get_data(as_text=True)
    assert 'id="item_night_construction"' in pinned

    changed = (PROCESSES / "items" / "night_construction.bpmn").read_text("utf-8").replace(
        'name="夜间施工许可审批"', 'name="夜间施工许可审批（第二版）"')
    assert changed != pinned
    (tmp_path / "night_construction.bpmn").write_text(changed, "utf-8")
    assert deploy_files(people, tmp_path / "night_construction.bpmn")

    after = client.get(f"/cases/{case.id}/diagram.xml?process=item_night_construction")
    assert after.get_data(as_text=True) == pinned
    assert "第二版" not in after.get_data(as_text=True)
    assert after.headers["X-Process-Version"] == "1"
    # Without ?process= it is the case's own process.
    top = client.get(f"/cases/{case.id}/diagram.xml").get_data(as_text=True)
    assert f'id="{ONE_THING}"' in top


def test_map_json_marks_active_and_completed_elements(client, case):
    login(client, "auditor")
    response = client.get(f"/cases/{case.id}/map.json")
    assert response.status_code == 200
    data = response.get_json()
    assert data["case"]["number"] == case.number
    processes = {p["key"]: p for p in data["processes"]}
    assert list(processes)[0] == ONE_THING
    top = processes[ONE_THING]["elements"]
    assert top["onething_start"]["state"] == "completed"
    assert top["front_desk_acceptance"]["state"] == "completed"
    assert top["front_desk_acceptance"]["completions"][0]["actor"] == "frontdesk"
    assert top["call_construction_permit"]["markers"] == ["completed"]
    assert top["call_fire_design_review"]["markers"] == ["active"]
    assert "issuance" not in top  # not reached: no marks
    permit = processes["item_construction_permit"]
    assert permit["call_activity"] == "call_construction_permit"
    assert permit["elements"]["construction_permit_review"]["completed"] == 1
    fire = processes["item_fire_design_review"]["elements"]["fire_design_review_review"]
    assert fire["state"] == "active" and fire["open_tasks"][0]["id"] in {t.id for t in case.tasks}
    items = {i["key"]: i for i in data["items"]}
    assert items["item_construction_permit"]["label"] == "准予许可"
    assert items["item_construction_permit"]["decided_by"] == "zjj"
    assert items["item_fire_design_review"]["label"] == "审查中"


def test_task_page_links_to_the_case_page(client, case):
    login(client, "zjj")
    task = next(t for t in case.tasks if t.lane == "住房和城乡建设局")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f'href="/cases/{case.id}"' in page
