"""The HTTP API as another system or a clerk's client sees it (CONTRACT.md, "HTTP API").

Everything here goes through HTTP only. Every response any test here receives is checked
by `Api`: JSON, never a 500, never a traceback, errors in the contract shape, and its status
documented in the OpenAPI document for the operation that answered.
"""
from __future__ import annotations

import io
import json
import re
from datetime import datetime
from typing import Any

import pytest

from engine.cases import eventlog as audit, canonical
from web import create_app
from tests.web.apicheck import check_response
from web.api.openapi import openapi_document
from demo import CONSTRUCTION_APPLICATION

API = "/api/v1"
PROCESS = "onething_construction_permit"
FRONT_DESK = "综合受理窗口"
ISSUANCE = "统一出件窗口"
DEPARTMENTS = ["住房和城乡建设局", "人民防空办公室", "城市管理局", "生态环境局", "水利局"]
FIELD_TYPES = {"string", "textarea", "long", "decimal", "boolean", "date", "enum", "file"}
CJK = re.compile(r"[\u4e00-\u9fff]")
NUMBER = re.compile(r"^371500-20261120-\d{5}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
OWN, REQUIRED, DEFERRABLE = "申请人自备", "必要", "容缺后补"
BAD_CREDIT_BUILDER = "91371500MA3N6UXW4Q"  # on the fake registry's dishonesty list

# username: (roles, departments)
CLERKS: dict[str, tuple[list[str], list[str]]] = {
    "fd": (["frontdesk"], [FRONT_DESK]),
    "fd2": (["frontdesk"], [FRONT_DESK]),
    "zjj": (["approver"], ["住房和城乡建设局"]),
    "zjj2": (["approver"], ["住房和城乡建设局"]),
    "zjj_lead": (["approver", "lead"], ["住房和城乡建设局"]),
    "rfb": (["approver"], ["人民防空办公室"]),
    "cgj": (["approver"], ["城市管理局"]),
    "hbj": (["approver"], ["生态环境局"]),
    "slj": (["approver"], ["水利局"]),
    "chujian": (["issuance"], [ISSUANCE]),
    "analyst": (["analyst"], []),
    "auditor": (["auditor"], []),
    "admin": (["admin"], []),
}
DEPARTMENT_CLERK = {"住房和城乡建设局": "zjj", "人民防空办公室": "rfb", "城市管理局": "cgj",
                    "生态环境局": "hbj", "水利局": "slj"}


# --- the checked client -------------------------------------------------------------------

class Api:
    """The test client, with every response checked (see module docstring)."""

    def __init__(self, app, client):
        self.app, self.client = app, client
        self.document = openapi_document()

    def __call__(self, method: str, path: str, token: str | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = path if path.startswith(API) else API + path
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        check_response(self.app, response, self.document)
        return response

    def get(self, path: str, token: str | None = None, **kwargs):
        return self("GET", path, token, **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs):
        return self("POST", path, token, **kwargs)


@pytest.fixture
def api(app, client):
    return Api(app, client)


class Tokens(dict):
    """API tokens of the CLERKS, each user created on first use (password hashing is slow)."""

    def __init__(self, runtime):
        super().__init__()
        self.runtime = runtime

    def __missing__(self, username: str) -> str:
        roles, groups = CLERKS[username]
        self.runtime.users.create(username, f"{username}-pw", roles=roles, groups=groups)
        self[username] = token = self.runtime.users.issue_token(username)
        return token


@pytest.fixture
def tokens(deployed) -> Tokens:
    return Tokens(deployed)


# --- helpers ------------------------------------------------------------------------------

def materials(api: Api, token: str, necessities=(REQUIRED, DEFERRABLE), *,
              process: str = PROCESS) -> dict[str, str]:
    """The materials the applicant brings (department-issued ones are pulled by data
    sharing), as upload ids: one scan, filed under each material."""
    form = api.get(f"/processes/{process}/form", token)
    if form.status_code != 200:
        return {}
    upload = api.post("/uploads", token, data={"file": (io.BytesIO(PDF), "材料.pdf")},
                      content_type="multipart/form-data").get_json()["id"]
    return {f["id"]: upload for f in form.get_json()["form"]["fields"]
            if f["type"] == "file" and f["source"] == OWN and f["necessity"] in necessities}


def start(api: Api, token: str, data: dict[str, Any] | None = None, *, process: str = PROCESS,
          **body: Any):
    """POST /cases; without `data`, the sample application with all its materials."""
    if data is None:
        data = {**CONSTRUCTION_APPLICATION, **materials(api, token, process=process)}
    return api.post("/cases", token, json={"process": process, "data": data, **body})


def started(api: Api, tokens) -> dict[str, Any]:
    """A case the front desk accepted (受理): 12 review tasks open."""
    response = start(api, tokens["fd"])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


accepted = started


def noticed(api: Api, tokens) -> dict[str, Any]:
    """A case given the one-time notice (一次性告知): the front desk's 补齐材料 task open."""
    response = start(api, tokens["fd"], CONSTRUCTION_APPLICATION, action="notify")
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert [t["task_spec"] for t in case["tasks"]] == ["supplement_materials"]
    return case


def review_data(task_spec: str, decision: str = "approve") -> dict[str, str]:
    key = task_spec.removesuffix("_review")
    return {f"{key}_decision": decision, f"{key}_opinion": "材料齐全，符合法定条件，准予许可。"}


def task_of(case: dict[str, Any], lane: str) -> dict[str, Any]:
    return next(t for t in case["tasks"] if t["lane"] == lane)


def listed(api: Api, token: str, query: str = "") -> list[dict[str, Any]]:
    response = api.get(f"/tasks{query}", token)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["tasks"]


def assert_field_errors(response, *field_ids: str) -> dict[str, str]:
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["error"] == "validation_failed"
    for field_id in field_ids:
        assert field_id in body["fields"], (field_id, body)
        assert CJK.search(body["fields"][field_id]), body["fields"][field_id]
    return body["fields"]


# --- the happy path -----------------------------------------------------------------------

def test_processes_list_shows_deployed_one_thing_with_version_and_hash(api, tokens):
    response = api.get("/processes", tokens["fd"])
    assert response.status_code == 200
    processes = {p["key"]: p for p in response.get_json()["processes"]}
    permit = processes[PROCESS]
    assert permit["name"] == "施工许可一件事"
    assert isinstance(permit["version"], int) and permit["version"] >= 1
    assert HEX64.match(permit["hash"])
    # The 12 construction items and the 5 of 开餐馆一件事.
    assert len([k for k in processes if k.startswith("item_")]) == 17
    # Its 12 items, and the common 容缺 gate every one-thing passes before issuance.
    assert len(permit["calls"]) == 13 and "deficiency_gate" in permit["calls"]


def test_start_form_has_chinese_labels_types_and_required_flags(api, tokens):
    response = api.get(f"/processes/{PROCESS}/form", tokens["fd"])
    assert response.status_code == 200
    fields = response.get_json()["form"]["fields"]
    assert fields
    for field in fields:
        assert {"id", "label", "type", "required", "readonly", "options"} <= set(field), field
        assert CJK.search(field["label"]), field
        assert field["type"] in FIELD_TYPES, field
        assert isinstance(field["required"], bool)
    by_id = {f["id"]: f for f in fields}
    assert by_id["builder_credit_code"]["required"] is True
    assert by_id["builder_credit_code"]["type"] == "string"
    assert "统一社会信用代码" in by_id["builder_credit_code"]["label"]
    assert by_id["floor_area"]["type"] == "decimal"
    # the sample application fills in exactly the fields of the form
    assert set(CONSTRUCTION_APPLICATION) <= set(by_id)
    assert {f["id"] for f in fields if f["required"]} <= set(CONSTRUCTION_APPLICATION)


def test_one_thing_start_form_is_merged_with_sources(api, tokens):
    fields = api.get(f"/processes/{PROCESS}/form", tokens["fd"]).get_json()["form"]["fields"]
    by_id = {f["id"]: f for f in fields}
    # Shared questions are asked once and name every item that needs them.
    assert len(by_id["builder_credit_code"]["sources"]) >= 10
    assert "onething" in by_id["builder_credit_code"]["sources"]
    assert by_id["night_work_reason"]["sources"] == ["item_night_construction"]
    assert by_id["air_defense_area"]["sources"] == ["item_air_defense_basement_approval",
                                                    "item_air_defense_quality_supervision"]
    assert len([f for f in fields if f["id"] == "builder_credit_code"]) == 1


def test_full_case_through_http_only(api, tokens):
    # the front desk accepts the application (materials checked) in one call
    response = start(api, tokens["fd"])
    assert response.status_code == 201
    case = response.get_json()
    assert isinstance(case["id"], int)
    assert NUMBER.match(case["number"]) and case["number"] == "371500-20261120-00001"
    assert case["state"] == "running" and case["process"] == PROCESS
    assert response.headers["Location"] == f"{API}/cases/{case['id']}"
    assert (case["action"], case["notice"], case["deficiency"]) == ("accept", "receipt", [])
    done = listed(api, tokens["fd"], "?state=completed")
    assert [(t["task_spec"], t["completed_by"]) for t in done] == [("front_desk_acceptance",
                                                                    "fd")]
    detail = api.get(f"/tasks/{done[0]['id']}", tokens["fd"]).get_json()
    assert {"materials_complete", "acceptance_note"} <= {f["id"] for f in detail["form"]["fields"]}
    assert detail["case"] == {"id": case["id"], "number": case["number"], "state": "running",
                              "title": case["title"], "process": PROCESS}
    assert listed(api, tokens["fd"]) == [] and listed(api, tokens["fd"], "?mine=1") == []
    reviews = case["tasks"]
    assert len(reviews) == 12
    assert len({t["task_spec"] for t in reviews}) == 12
    assert all(t["task_spec"].endswith("_review") for t in reviews)
    assert {t["lane"] for t in reviews} == set(DEPARTMENTS)

    # each department sees its own review tasks and nothing else
    seen: dict[str, list[dict[str, Any]]] = {}
    for department, clerk in DEPARTMENT_CLERK.items():
        tasks = listed(api, tokens[clerk])
        assert tasks and {t["lane"] for t in tasks} == {department}, (department, tasks)
        seen[department] = tasks
    assert sorted(t["id"] for ts in seen.values() for t in ts) == sorted(t["id"] for t in reviews)
    assert {t["task_spec"] for t in seen["住房和城乡建设局"]} == {
        "construction_permit_review", "quality_supervision_review", "safety_supervision_review",
        "fire_design_review_review"}

    first = seen["住房和城乡建设局"][0]
    claimed = api.post(f"/tasks/{first['id']}/claim", tokens["zjj"])
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "zjj"
    assert [t["id"] for t in listed(api, tokens["zjj"], "?mine=1")] == [first["id"]]
    for department, clerk in DEPARTMENT_CLERK.items():
        for task in seen[department]:
            form = api.get(f"/tasks/{task['id']}", tokens[clerk]).get_json()["form"]
            key = task["task_spec"].removesuffix("_review")
            by_id = {f["id"]: f for f in form["fields"]}
            assert by_id[f"{key}_decision"]["type"] == "enum"
            assert by_id[f"{key}_decision"]["required"] is True
            assert {o["id"] for o in by_id[f"{key}_decision"]["options"]} == {"approve", "refuse",
                                                                             "correct"}
            assert by_id[f"{key}_opinion"]["type"] == "textarea"
            assert by_id[f"{key}_opinion"]["required"] is True
            response = api.post(f"/tasks/{task['id']}/complete", tokens[clerk],
                                json={"data": review_data(task["task_spec"])})
            assert response.status_code == 200, response.get_json()
            case = response.get_json()

    # all items decided: one task at the issuance window
    assert case["state"] == "running"
    assert [(t["lane"], t["task_spec"]) for t in case["tasks"]] == [(ISSUANCE, "issuance")]
    issuance = case["tasks"][0]
    assert [t["id"] for t in listed(api, tokens["chujian"])] == [issuance["id"]]
    form = api.get(f"/tasks/{issuance['id']}", tokens["chujian"]).get_json()["form"]
    delivery = next(f for f in form["fields"] if f["id"] == "delivery_method")
    assert delivery["type"] == "enum" and delivery["required"] is True
    assert {o["id"] for o in delivery["options"]} == {"window", "post"}
    response = api.post(f"/tasks/{issuance['id']}/complete", tokens["chujian"],
                        json={"data": {"delivery_method": "window"}})
    assert response.status_code == 200
    assert response.get_json()["state"] == "completed"
    assert response.get_json()["tasks"] == []

    final = api.get(f"/cases/{case['id']}", tokens["fd"]).get_json()
    assert final["state"] == "completed" and final["tasks"] == []
    assert listed(api, tokens["fd"]) == [] and listed(api, tokens["chujian"]) == []
    assert len(listed(api, tokens["zjj"], "?state=completed")) == 4

    # the audit trail: in order, hashes chained and recomputable from what the API shows
    events = api.get(f"/cases/{case['id']}/events", tokens["auditor"]).get_json()["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["kind"] == "case_started" and events[0]["prev_hash"] is None
    assert events[-1]["kind"] == "case_completed"
    for previous, event in zip(events, events[1:]):
        assert event["prev_hash"] == previous["hash"]
    assert len({e["hash"] for e in events}) == len(events)
    for event in events:
        assert HEX64.match(event["hash"])
        assert event["hash"] == audit.event_hash(
            case_id=case["id"], seq=event["seq"], kind=event["kind"], actor=event["actor"],
            at=datetime.fromisoformat(event["at"]), task_id=event["task_id"],
            task_spec=event["task_spec"], definition_hash=event["definition_hash"],
            payload=canonical.dumps(canonical.decode(event["payload"])),
            prev_hash=event["prev_hash"])
    kinds = [e["kind"] for e in events]
    assert kinds.count("task_completed") == 14 and kinds.count("task_created") == 14
    assert kinds.count("task_claimed") == 1


def test_case_numbers_count_up_per_day(api, tokens):
    first, second = started(api, tokens), started(api, tokens)
    assert (first["number"], second["number"]) == ("371500-20261120-00001",
                                                   "371500-20261120-00002")
    assert first["id"] != second["id"]


def test_case_status_for_front_desk_and_auditor(api, tokens):
    case = accepted(api, tokens)
    for who in ("fd", "zjj", "auditor", "admin"):
        response = api.get(f"/cases/{case['id']}", tokens[who])
        assert response.status_code == 200
        body = response.get_json()
        assert body["state"] == "running" and len(body["tasks"]) == 12
        assert body["number"] == case["number"]


def test_case_status_shows_clock_and_materials(api, tokens):
    case = noticed(api, tokens)
    body = api.get(f"/cases/{case['id']}", tokens["fd"]).get_json()
    # Received, not yet accepted: the clock is the five-day one-time-notice rule.
    assert body["clock"]["stage"] == "receipt" and body["clock"]["status"] == "正常"
    assert body["clock"]["deadline"].startswith("2026-11-27")
    assert body["materials"] and all({"field", "label", "necessity", "source", "provided"}
                                     <= set(m) for m in body["materials"])
    accepted_case = accepted(api, tokens)
    body = api.get(f"/cases/{accepted_case['id']}", tokens["fd"]).get_json()
    assert body["clock"]["stage"] == "accepted" and body["clock"]["status"] in ("正常", "预警")
    assert len(body["clock"]["items"]) == 12


def test_task_list_filters(api, tokens):
    case = accepted(api, tokens)
    mine = task_of(case, "住房和城乡建设局")
    assert api.post(f"/tasks/{mine['id']}/claim", tokens["zjj"]).status_code == 200
    assert [t["id"] for t in listed(api, tokens["zjj"], "?mine=1")] == [mine["id"]]
    assert listed(api, tokens["zjj2"], "?mine=1") == []
    assert len(listed(api, tokens["zjj"], "?group=住房和城乡建设局")) == 4
    assert len(listed(api, tokens["zjj"], "?limit=2")) == 2
    assert len(listed(api, tokens["zjj"], "?limit=2&offset=3")) == 1
    assert len(listed(api, tokens["admin"])) == 12
    assert len(listed(api, tokens["fd"], "?state=completed")) == 1
    assert len(listed(api, tokens["fd"], "?state=all")) == 1
    assert listed(api, tokens["fd"]) == []
    # a clerk asking for another department's list
    response = api.get("/tasks?group=水利局", tokens["zjj"])
    assert response.status_code == 403


def test_unclaim_by_self_and_by_another(api, tokens):
    task = task_of(accepted(api, tokens), "住房和城乡建设局")
    assert api.post(f"/tasks/{task['id']}/claim", tokens["zjj"]).status_code == 200
    assert api.post(f"/tasks/{task['id']}/unclaim", tokens["zjj2"]).status_code == 403
    response = api.post(f"/tasks/{task['id']}/unclaim", tokens["zjj"])
    assert response.status_code == 200 and response.get_json()["assignee"] is None
    assert api.post(f"/tasks/{task['id']}/claim", tokens["zjj2"]).get_json()["assignee"] == "zjj2"


def test_cancel_case_by_lead_with_reason(api, tokens):
    case = accepted(api, tokens)
    path = f"/cases/{case['id']}/cancel"
    assert api.post(path, tokens["zjj_lead"], json={}).status_code == 422
    assert api.post(path, tokens["zjj_lead"], json={"reason": "  "}).status_code == 422
    assert api.post(path, tokens["zjj_lead"], json={"reason": "长" * 501}).status_code == 422
    assert api.post(path, tokens["zjj"], json={"reason": "申请人撤回申请"}).status_code == 403
    response = api.post(path, tokens["zjj_lead"], json={"reason": "申请人撤回申请"})
    assert response.status_code == 200
    assert response.get_json()["state"] == "cancelled" and response.get_json()["tasks"] == []
    assert api.post(path, tokens["zjj_lead"], json={"reason": "再次撤销"}).status_code == 409
    assert listed(api, tokens["zjj"]) == []
    task = task_of(case, "住房和城乡建设局")
    response = api.post(f"/tasks/{task['id']}/complete", tokens["zjj"],
                        json={"data": review_data(task["task_spec"])})
    assert response.status_code == 409
    assert api.post(f"{API}/cases/999999/cancel", tokens["admin"],
                    json={"reason": "不存在"}).status_code == 404


# --- the front desk's rules, as on the counter page ------------------------------------------

def test_an_application_missing_required_materials_is_refused_per_material(api, tokens):
    required = materials(api, tokens["fd"], (REQUIRED,))
    assert len(required) >= 5
    response = start(api, tokens["fd"], dict(CONSTRUCTION_APPLICATION))
    errors = assert_field_errors(response, *required)
    assert set(required) <= set(errors)
    assert all(errors[f] == "必要材料未提交，不能受理：请补齐，或出具一次性告知书" for f in required)
    assert "必要材料未提交" in response.get_json()["message"]
    assert listed(api, tokens["admin"], "?state=all") == []  # nothing started


def test_acceptance_with_deficiency_needs_the_signed_commitment(api, tokens):
    brought = {**CONSTRUCTION_APPLICATION, **materials(api, tokens["fd"], (REQUIRED,))}
    unsigned = start(api, tokens["fd"], brought)
    errors = assert_field_errors(unsigned, "deficiency_commitment", "deficiency_signer")
    assert errors["deficiency_commitment"].startswith("容缺受理须申请人签署容缺受理承诺书")
    assert listed(api, tokens["admin"], "?state=all") == []
    response = start(api, tokens["fd"], {**brought, "deficiency_commitment": True,
                                         "deficiency_signer": " 李建设 "})
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert (case["action"], case["notice"]) == ("accept", "deficiency_notice")
    deferred = materials(api, tokens["fd"], (DEFERRABLE,))
    assert {d["field"] for d in case["deficiency"]} == set(deferred)
    # each deferred material with its deadline: five working days, the one-thing's promise
    assert {d["deadline"] for d in case["deficiency"]} == {"2026-11-27T23:59:59+08:00"}
    assert all(CJK.search(d["name"]) and CJK.search(d["item"]) for d in case["deficiency"])
    assert len(case["tasks"]) == 12  # accepted: the departments review at once
    status = api.get(f"/cases/{case['id']}/materials", tokens["fd"]).get_json()
    assert status["outstanding"] == len(deferred)
    events = api.get(f"/cases/{case['id']}/events", tokens["auditor"]).get_json()["events"]
    started_with = canonical.decode(events[0]["payload"])["data"]
    assert started_with["deficiency_commitment"]["signed_by"] == "李建设"
    assert started_with["deficiency_commitment"]["witnessed_by"] == "fd"
    decided = [canonical.decode(e["payload"])["data"] for e in events
               if e["kind"] == "task_completed" and e["task_spec"] == "front_desk_acceptance"]
    assert decided == [{"acceptance_decision": "accept", "materials_complete": False,
                        "missing_materials": decided[0]["missing_materials"]}]
    assert "建设工程监理合同" in decided[0]["missing_materials"]


def test_a_bad_credit_applicant_is_refused_deficiency_on_the_api(api, tokens):
    response = start(api, tokens["fd"], {
        **CONSTRUCTION_APPLICATION, **materials(api, tokens["fd"], (REQUIRED,)),
        "builder_credit_code": BAD_CREDIT_BUILDER, "deficiency_commitment": "signed",
        "deficiency_signer": "李建设"})
    errors = assert_field_errors(response, *materials(api, tokens["fd"], (DEFERRABLE,)))
    assert all("不适用容缺受理" in errors[f] for f in materials(api, tokens["fd"], (DEFERRABLE,)))
    assert listed(api, tokens["admin"], "?state=all") == []


def test_the_one_time_notice_through_the_api(api, tokens):
    response = start(api, tokens["fd"], {**CONSTRUCTION_APPLICATION,
                                         "missing_materials": "施工合同缺少发包方盖章"},
                     action="notify")
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert (case["action"], case["notice"]) == ("notify", "notice")
    assert [(t["lane"], t["task_spec"]) for t in case["tasks"]] == [
        (FRONT_DESK, "supplement_materials")]
    events = api.get(f"/cases/{case['id']}/events", tokens["auditor"]).get_json()["events"]
    decided = next(canonical.decode(e["payload"])["data"] for e in events
                   if e["kind"] == "task_completed")
    assert decided["acceptance_decision"] == "notify"
    assert decided["missing_materials"] == "施工合同缺少发包方盖章"
    # without a text of its own, the notice lists every material still to bring
    listed_by_default = start(api, tokens["fd"], dict(CONSTRUCTION_APPLICATION), action="notify")
    events = api.get(f"/cases/{listed_by_default.get_json()['id']}/events",
                     tokens["auditor"]).get_json()["events"]
    text = next(canonical.decode(e["payload"])["data"]["missing_materials"] for e in events
                if e["kind"] == "task_completed")
    assert "施工合同（建筑工程施工许可证核发；必要）" in text


@pytest.mark.parametrize("body, field", [
    pytest.param({"action": "reject"}, "action", id="no-veto"),
    pytest.param({"action": ["accept"]}, "action", id="action-is-a-list"),
    pytest.param({"data": {"deficiency_signer": 7}}, "deficiency_signer",
                 id="signer-is-a-number"),
    pytest.param({"data": {"acceptance_note": "长" * 501}}, "acceptance_note",
                 id="note-over-maxlength"),
])
def test_bad_decisions_get_422_on_their_field(api, tokens, body, field):
    body = dict(body)  # the parameters are shared by every database's run: never pop them
    data = {**CONSTRUCTION_APPLICATION, **materials(api, tokens["fd"]), **body.pop("data", {})}
    response = api.post("/cases", tokens["fd"], json={"process": PROCESS, "data": data, **body})
    assert field in assert_field_errors(response, field)
    assert listed(api, tokens["admin"], "?state=all") == []


def test_a_lead_assigns_extends_and_pauses_a_task_as_on_the_task_page(api, tokens):
    case = accepted(api, tokens)
    task = next(t for t in case["tasks"] if t["task_spec"] == "construction_permit_review")
    path, _ = f"/tasks/{task['id']}", (tokens["zjj2"], tokens["slj"])
    refused = api.post(f"{path}/assign", tokens["zjj"], json={"assignee": "zjj2"})
    assert refused.status_code == 403 and "负责人" in refused.get_json()["message"]
    assigned = api.post(f"{path}/assign", tokens["zjj_lead"], json={"assignee": "zjj2"})
    assert assigned.status_code == 200 and assigned.get_json()["assignee"] == "zjj2"
    elsewhere = api.post(f"{path}/assign", tokens["zjj_lead"], json={"assignee": "slj"})
    assert elsewhere.status_code == 403 and CJK.search(elsewhere.get_json()["message"])

    before = api.get(f"/cases/{case['id']}", tokens["fd"]).get_json()["clock"]
    no_reason = api.post(f"{path}/extend", tokens["zjj_lead"], json={"amount": 5, "reason": " "})
    assert "reason" in assert_field_errors(no_reason, "reason")
    too_long = api.post(f"{path}/extend", tokens["zjj_lead"], json={"amount": 61, "reason": "x"})
    assert too_long.status_code == 422 and "amount" in too_long.get_json()["fields"]
    extended = api.post(f"{path}/extend", tokens["zjj_lead"],
                        json={"amount": 5, "reason": "需现场核查"})
    assert extended.status_code == 200 and extended.get_json()["clock"] != before
    assert extended.get_json()["task"]["id"] == task["id"]

    unknown = api.post(f"{path}/procedure", tokens["zjj2"], json={"procedure": "占卜"})
    assert "procedure" in assert_field_errors(unknown, "procedure")
    paused = api.post(f"{path}/procedure", tokens["zjj2"], json={"procedure": "专家评审"})
    assert paused.status_code == 200
    resumed = api.post(f"{path}/procedure", tokens["zjj2"], json={"procedure": None})
    assert resumed.status_code == 200
    events = api.get(f"/cases/{case['id']}/events", tokens["auditor"]).get_json()["events"]
    assert "task_assigned" in {e["kind"] for e in events}


# --- authentication and authorisation -----------------------------------------------------

@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", "Bearer wrong-token", "Bearer ot_" + "x" * 43,
    "Basic Zm9vOmJhcg==", "Token abc", "Bearer " + "x" * 10_000, "Bearer 令牌",
])
def test_requests_without_a_valid_token_get_401(api, tokens, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in [("GET", "/processes"), ("GET", f"/processes/{PROCESS}/form"),
                         ("POST", "/cases"), ("GET", "/cases/1"), ("GET", "/cases/1/events"),
                         ("GET", "/tasks"), ("GET", "/tasks/x"), ("POST", "/tasks/x/claim"),
                         ("POST", "/tasks/x/complete"), ("POST", "/uploads")]:
        response = api(method, path, headers=headers)
        assert response.status_code == 401, (method, path)
        assert response.get_json()["error"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_renewed_token_replaces_the_old_one(api, tokens, deployed):
    old = tokens["fd"]
    new = deployed.users.issue_token("fd")
    assert api.get("/processes", old).status_code == 401
    assert api.get("/processes", new).status_code == 200


def test_only_the_front_desk_starts_cases(api, tokens):
    for who in ("zjj", "chujian", "analyst", "auditor"):
        response = start(api, tokens[who])
        assert response.status_code == 403, who
        assert CJK.search(response.get_json()["message"])
    assert start(api, tokens["admin"]).status_code == 201


def test_another_department_cannot_work_on_a_task(api, tokens):
    case = accepted(api, tokens)
    task = task_of(case, "住房和城乡建设局")
    data = {"data": review_data(task["task_spec"])}
    assert api.post(f"/tasks/{task['id']}/complete", tokens["slj"], json=data).status_code == 403
    assert api.post(f"/tasks/{task['id']}/claim", tokens["slj"]).status_code == 403
    assert api.get(f"/tasks/{task['id']}", tokens["slj"]).status_code == 403
    assert api.post(f"/tasks/{task['id']}/complete", tokens["fd"], json=data).status_code == 403
    # nothing happened: the task is still open and unclaimed
    detail = api.get(f"/tasks/{task['id']}", tokens["zjj"]).get_json()
    assert detail["state"] == "open" and detail["assignee"] is None


def test_case_is_hidden_from_users_without_a_department(api, tokens):
    """A case one may not read answers exactly like a case that does not exist."""
    case = started(api, tokens)
    hidden = api.get(f"/cases/{case['id']}", tokens["analyst"])
    missing = api.get("/cases/999999", tokens["analyst"])
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json()["error"] == missing.get_json()["error"]
    assert api.get(f"/cases/{case['id']}/events", tokens["analyst"]).status_code == 404
    assert api.get(f"/cases/{case['id']}/events", tokens["auditor"]).status_code == 200


@pytest.mark.parametrize("path", [
    "/processes/no_such_process/form", "/processes/%E5%8A%9E%E4%BB%B6/form",
    "/cases/999999", "/cases/999999/events", "/cases/0", "/cases/2147483648",
    "/cases/99999999999999999999999999", "/cases/9223372036854775808/events",
    "/tasks/00000000-0000-0000-0000-000000000000", "/tasks/not-a-task",
    "/tasks/" + "x" * 5000, "/tasks/%00", "/tasks/%E2%80%AE%F0%9F%98%80",
    "/processes/%00/form", "/processes/%F0%9F%98%80/form", "/processes/" + "k" * 5000 + "/form",
    "/no/such/route",
])
def test_unknown_things_are_404_json(api, tokens, path):
    response = api.get(path, tokens["admin"])
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
    assert len(response.data) < 2000


@pytest.mark.parametrize("path", ["/tasks/00000000-0000-0000-0000-000000000000", "/tasks/%00x",
                                  "/tasks/" + "y" * 3000])
@pytest.mark.parametrize("action", ["claim", "unclaim", "complete"])
def test_actions_on_unknown_tasks_are_404(api, tokens, path, action):
    response = api.post(f"{path}/{action}", tokens["admin"], json={"data": {}})
    assert response.status_code == 404


def test_starting_an_unknown_process_is_404(api, tokens):
    for process in ("no_such_process", "item_", "onething_construction_permit2", "办件", "a\x00b",
                    "x" * 10_000):
        response = start(api, tokens["fd"], process=process)
        assert response.status_code == 404, process


# --- input validation ---------------------------------------------------------------------

def _credit_code_one_char_changed() -> str:
    code = CONSTRUCTION_APPLICATION["builder_credit_code"]
    return code[:-1] + ("4" if code[-1] != "4" else "5")


BAD_CODE = _credit_code_one_char_changed()


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in CONSTRUCTION_APPLICATION.items() if k != key}


@pytest.mark.parametrize("data, fields", [
    pytest.param({**CONSTRUCTION_APPLICATION, "builder_credit_code": BAD_CODE},
                 ["builder_credit_code"], id="credit-code-check-digit"),
    pytest.param({**CONSTRUCTION_APPLICATION, "contractor_credit_code": "91110000802100433"},
                 ["contractor_credit_code"], id="credit-code-too-short"),
    pytest.param(_without("project_name"), ["project_name"], id="missing-required"),
    pytest.param({**CONSTRUCTION_APPLICATION, "project_name": "   "}, ["project_name"],
                 id="blank-required"),
    pytest.param({**CONSTRUCTION_APPLICATION, "project_name": None}, ["project_name"],
                 id="null-required"),
    pytest.param({**CONSTRUCTION_APPLICATION, "project_name": ["聊城"]}, ["project_name"],
                 id="list-for-string"),
    pytest.param({**CONSTRUCTION_APPLICATION, "legal_person": {"name": "刘"}}, ["legal_person"],
                 id="object-for-string"),
    pytest.param({**CONSTRUCTION_APPLICATION, "contract_duration": "五百天"},
                 ["contract_duration"], id="text-for-long"),
    pytest.param({**CONSTRUCTION_APPLICATION, "contract_duration": True}, ["contract_duration"],
                 id="bool-for-long"),
    pytest.param({**CONSTRUCTION_APPLICATION, "floor_area": "-1"}, ["floor_area"],
                 id="negative-area"),
    pytest.param({**CONSTRUCTION_APPLICATION, "planned_start_date": "2026-02-30"},
                 ["planned_start_date"], id="impossible-date"),
    pytest.param({**CONSTRUCTION_APPLICATION, "contact_mobile": "1380635"}, ["contact_mobile"],
                 id="bad-mobile"),
    pytest.param({**CONSTRUCTION_APPLICATION, "shoe_size": "42"}, ["shoe_size"],
                 id="unknown-extra-field"),
    pytest.param({**CONSTRUCTION_APPLICATION, "project_name": "楼" * (1024 * 1024)},
                 ["project_name"], id="one-megabyte-string"),
    pytest.param({**CONSTRUCTION_APPLICATION, "construction_scale": "x" * (1024 * 1024)},
                 ["construction_scale"], id="one-megabyte-textarea"),
    pytest.param({**CONSTRUCTION_APPLICATION, "project_name": "楼\x00"}, ["project_name"],
                 id="nul-in-string"),
    pytest.param({**CONSTRUCTION_APPLICATION, "builder_credit_code": BAD_CODE,
                  "contract_duration": ["540"], "extra": 1, "project_name": None},
                 ["builder_credit_code", "contract_duration", "extra", "project_name"],
                 id="several-at-once"),
])
def test_bad_applications_get_422_with_a_chinese_message_per_field(api, tokens, data, fields):
    response = start(api, tokens["fd"], data)
    errors = assert_field_errors(response, *fields)
    assert set(errors) == set(fields)
    assert len(response.data) < 10_000
    assert listed(api, tokens["fd"]) == []  # no case was started


def test_field_messages_follow_accept_language(api, tokens):
    response = api.post("/cases", tokens["fd"], headers={"Accept-Language": "en"},
                        json={"process": PROCESS, "data": _without("project_name")})
    assert response.status_code == 422
    assert not CJK.search(response.get_json()["fields"]["project_name"])


@pytest.mark.parametrize("field, literal", [
    ("floor_area", "NaN"), ("investment", "Infinity"), ("contract_duration", "-Infinity"),
    ("floor_area", "1e400"), ("contract_duration", "540.5"),
    ("contract_duration", "99999999999999999999999"), ("floor_area", "-0.0"),
])
def test_non_finite_and_odd_numbers_get_field_messages(api, tokens, field, literal):
    body = json.dumps({"process": PROCESS, "data": {**CONSTRUCTION_APPLICATION,
                                                    **materials(api, tokens["fd"]),
                                                    field: "__X__"}})
    body = body.replace('"__X__"', literal)
    response = api.post("/cases", tokens["fd"], data=body, content_type="application/json")
    if literal == "-0.0":  # minus zero is a number ≥ 0: accepted
        assert response.status_code == 201
        return
    assert set(assert_field_errors(response, field)) == {field}


@pytest.mark.parametrize("body, content_type", [
    pytest.param(b"[1, 2]", "application/json", id="array-body"),
    pytest.param(b'"text"', "application/json", id="string-body"),
    pytest.param(b"null", "application/json", id="null-body"),
    pytest.param(b"42", "application/json", id="number-body"),
    pytest.param(b"{bad json", "application/json", id="invalid-json"),
    pytest.param(b"", "application/json", id="empty-body"),
    pytest.param(b"\xff\xfe\x00", "application/json", id="not-utf8"),
    pytest.param(b'{"process": "x", "data": {}', "application/json", id="truncated"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "application/json", id="deeply-nested"),
    pytest.param(b'{"process": "onething_construction_permit", "data": {"a": ' + b"[" * 50_000
                 + b"]" * 50_000 + b"}}", "application/json", id="deeply-nested-value"),
    pytest.param(b'{"process": "\\ud800"}', "application/json", id="lone-surrogate-process"),
    pytest.param(b'{"process": "onething_construction_permit", "data": {"\\udfff": 1}}',
                 "application/json", id="lone-surrogate-key"),
    pytest.param(b'{"process": "onething_construction_permit", "data": {"project_name": '
                 b'"\\ud83d"}}', "application/json", id="lone-surrogate-value"),
    pytest.param(b'{"process": "onething_construction_permit", "data": []}',
                 "application/json", id="data-is-a-list"),
    pytest.param(b'{"process": "onething_construction_permit", "data": "x"}',
                 "application/json", id="data-is-a-string"),
    pytest.param(b'{"process": "onething_construction_permit", "data": null}',
                 "application/json", id="data-is-null"),
    pytest.param(b'{"data": {}}', "application/json", id="no-process"),
    pytest.param(b'{"process": 42}', "application/json", id="process-is-a-number"),
    pytest.param(b'{"process": ["onething_construction_permit"]}', "application/json",
                 id="process-is-a-list"),
    pytest.param(b'{"process": ""}', "application/json", id="process-is-empty"),
    pytest.param(b'process=onething_construction_permit', "application/x-www-form-urlencoded",
                 id="form-encoded"),
    pytest.param(b'{"process": "onething_construction_permit"}', "text/plain", id="text-plain"),
])
def test_malformed_bodies_get_422(api, tokens, body, content_type):
    response = api.post("/cases", tokens["fd"], data=body, content_type=content_type)
    assert response.status_code == 422
    assert response.get_json()["error"] == "validation_failed"
    assert CJK.search(response.get_json()["message"])
    assert listed(api, tokens["fd"]) == []


def test_request_body_over_the_request_limit_is_413_json(deployed, tokens):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "MAX_CONTENT_LENGTH": 64 * 1024},
                     runtime=deployed)
    api = Api(app, app.test_client())
    big = {"process": PROCESS, "data": {**CONSTRUCTION_APPLICATION, "project_name": "x" * 70_000}}
    response = start(api, tokens["fd"], big["data"])
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    case = start(api, tokens["fd"]).get_json()
    response = api.post(f"/tasks/{case['tasks'][0]['id']}/complete", tokens["fd"],
                        json={"data": {"acceptance_note": "x" * 70_000}})
    assert response.status_code == 413


@pytest.mark.parametrize("data, fields", [
    pytest.param({}, ["construction_permit_decision", "construction_permit_opinion"],
                 id="empty"),
    pytest.param({"construction_permit_decision": "maybe",
                  "construction_permit_opinion": "同意"}, ["construction_permit_decision"],
                 id="enum-not-an-option"),
    pytest.param({"construction_permit_decision": "approve",
                  "construction_permit_opinion": "意" * 501}, ["construction_permit_opinion"],
                 id="opinion-over-maxlength"),
    pytest.param({"construction_permit_decision": "approve", "construction_permit_opinion": "同意",
                  "quality_supervision_decision": "approve"}, ["quality_supervision_decision"],
                 id="another-items-field"),
    pytest.param({"construction_permit_decision": ["approve"],
                  "construction_permit_opinion": "同意"}, ["construction_permit_decision"],
                 id="list-for-enum"),
])
def test_completing_with_bad_data_is_422_and_leaves_the_task_open(api, tokens, data, fields):
    case = accepted(api, tokens)
    task = next(t for t in case["tasks"] if t["task_spec"] == "construction_permit_review")
    response = api.post(f"/tasks/{task['id']}/complete", tokens["zjj"], json={"data": data})
    assert set(assert_field_errors(response, *fields)) == set(fields)
    assert api.get(f"/tasks/{task['id']}", tokens["zjj"]).get_json()["state"] == "open"


@pytest.mark.parametrize("body", [b"[]", b"{", b'{"data": []}', b'{"data": 1}', b""])
def test_completing_with_a_malformed_body_is_422(api, tokens, body):
    case = noticed(api, tokens)
    task = case["tasks"][0]
    response = api.post(f"/tasks/{task['id']}/complete", tokens["fd"], data=body,
                        content_type="application/json")
    assert response.status_code == 422
    assert api.get(f"/tasks/{task['id']}", tokens["fd"]).get_json()["state"] == "open"


def test_readonly_fields_cannot_be_tampered_with(api, tokens):
    """A readonly value is what the server has, whatever the client posts."""
    start_form = api.get(f"/processes/{PROCESS}/form", tokens["fd"]).get_json()["form"]
    readonly_start = [f["id"] for f in start_form["fields"] if f["readonly"]]
    case = accepted(api, tokens)
    readonly_tasks = []
    for task in case["tasks"]:
        clerk = DEPARTMENT_CLERK[task["lane"]]
        detail = api.get(f"/tasks/{task['id']}", tokens[clerk]).get_json()
        readonly_tasks += [(task, clerk, f["id"], detail["values"].get(f["id"]))
                           for f in detail["form"]["fields"] if f["readonly"]]
    # The permit review shows the project name as applied for, read-only.
    applied_for = CONSTRUCTION_APPLICATION["project_name"]
    assert ("construction_permit_review", "project_name", applied_for) \
        in [(t["task_spec"], f, v) for t, _c, f, v in readonly_tasks]

    def recorded(case_id: int, kind: str, task_id: str | None = None) -> dict[str, Any]:
        events = api.get(f"/cases/{case_id}/events", tokens["auditor"]).get_json()["events"]
        event = next(e for e in events if e["kind"] == kind and e["task_id"] == task_id)
        return canonical.decode(event["payload"])["data"]

    if readonly_start:
        response = start(api, tokens["fd"], {**CONSTRUCTION_APPLICATION,
                                             **{f: "篡改" for f in readonly_start}})
        if response.status_code == 201:
            data = recorded(response.get_json()["id"], "case_started")
            assert all(data.get(f) != "篡改" for f in readonly_start)
        else:
            assert response.status_code == 422
    for task, clerk, field, shown in readonly_tasks:
        response = api.post(f"/tasks/{task['id']}/complete", tokens[clerk],
                            json={"data": {**review_data(task["task_spec"]), field: "篡改"}})
        assert response.status_code == 200, response.get_json()
        assert recorded(case["id"], "task_completed", task["id"]).get(field) == shown


# --- conflicts ----------------------------------------------------------------------------

def test_completing_a_completed_task_is_409(api, tokens):
    case = noticed(api, tokens)
    task = case["tasks"][0]
    path = f"/tasks/{task['id']}/complete"
    accept = {"data": {"supplemented": True}}
    assert api.post(path, tokens["fd"], json=accept).status_code == 200
    response = api.post(path, tokens["fd"], json=accept)
    assert response.status_code == 409
    assert response.get_json()["error"] == "conflict"
    assert api.post(f"/tasks/{task['id']}/claim", tokens["fd"]).status_code == 409
    detail = api.get(f"/tasks/{task['id']}", tokens["fd"]).get_json()
    assert detail["state"] == "completed" and detail["completed_by"] == "fd"


def test_claiming_a_task_claimed_by_someone_else_is_409(api, tokens):
    task = noticed(api, tokens)["tasks"][0]
    assert api.post(f"/tasks/{task['id']}/claim", tokens["fd"]).status_code == 200
    assert api.post(f"/tasks/{task['id']}/claim", tokens["fd"]).status_code == 200  # idempotent
    response = api.post(f"/tasks/{task['id']}/claim", tokens["fd2"])
    assert response.status_code == 409
    assert "fd" in response.get_json()["message"]
    # and the other clerk cannot complete it either
    accept = {"data": {"supplemented": True}}
    response = api.post(f"/tasks/{task['id']}/complete", tokens["fd2"], json=accept)
    assert response.status_code == 409
    assert api.post(f"/tasks/{task['id']}/complete", tokens["fd"], json=accept).status_code == 200


def test_second_completion_by_another_client_is_409(app, api, tokens):
    case = accepted(api, tokens)
    task = next(t for t in case["tasks"] if t["task_spec"] == "construction_permit_review")
    other = Api(app, app.test_client())
    path = f"/tasks/{task['id']}/complete"
    first = api.post(path, tokens["zjj"], json={"data": review_data(task["task_spec"])})
    second = other.post(path, tokens["zjj2"],
                        json={"data": review_data(task["task_spec"], "refuse")})
    assert (first.status_code, second.status_code) == (200, 409)
    events = api.get(f"/cases/{case['id']}/events", tokens["auditor"]).get_json()["events"]
    completions = [e for e in events if e["kind"] == "task_completed"
                   and e["task_id"] == task["id"]]
    assert len(completions) == 1 and completions[0]["actor"] == "zjj"


# --- never a 500 --------------------------------------------------------------------------

WEIRD = ["%00", "%E2%80%AE", "%F0%9F%98%80", "%ED%A0%80", "%FF%FE", "..%2F..%2Fetc%2Fpasswd",
         "'%20OR%201=1--", "%3Cscript%3E", "-1", "1.5", "1e9", " ", "Ω" * 300, "9" * 400]


@pytest.mark.parametrize("weird", WEIRD)
def test_weird_path_parameters_are_4xx_json(api, tokens, weird):
    for method, template in [("GET", "/processes/{}/form"), ("GET", "/cases/{}"),
                             ("GET", "/cases/{}/events"), ("POST", "/cases/{}/cancel"),
                             ("GET", "/tasks/{}"), ("POST", "/tasks/{}/claim"),
                             ("POST", "/tasks/{}/unclaim"), ("POST", "/tasks/{}/complete")]:
        response = api(method, template.format(weird), tokens["admin"],
                       json={"data": {}, "reason": "x"})
        assert 400 <= response.status_code < 500, (method, template, weird)


@pytest.mark.parametrize("query", [
    "?limit=abc", "?limit=-1", "?limit=1.5", "?limit=%C2%B2", "?limit=%D9%A3",
    "?limit=99999999999999999999", "?offset=x", "?offset=%00", "?state=bogus", "?state=%00",
    "?state=OPEN", "?group=%00", "?group=" + "组" * 5000, "?mine=%00&state=%ED%A0%80",
    "?limit=&offset=", "?state=open&state=bogus",
])
def test_weird_task_list_queries_are_never_500(api, tokens, query):
    for who in ("zjj", "admin"):
        response = api.get(f"/tasks{query}", tokens[who])
        assert response.status_code in (200, 403, 422), (who, query)


def test_bogus_task_states_are_422_not_403(api, tokens):
    response = api.get("/tasks?state=bogus", tokens["zjj"])
    assert response.status_code == 422
    assert "state" in response.get_json()["fields"]
    assert api.get("/tasks?limit=abc", tokens["zjj"]).get_json()["fields"].keys() == {"limit"}


def test_wrong_methods_are_405_json(api, tokens):
    for method, path in [("POST", "/processes"), ("DELETE", "/cases/1"), ("PUT", "/tasks/x"),
                         ("GET", "/uploads"), ("GET", "/tasks/x/complete")]:
        assert api(method, path, tokens["admin"]).status_code == 405
