"""GET /api/v1/openapi.json: public, a well-formed OpenAPI 3.1 document, listing exactly the
routes the API serves and exactly the statuses each of them really returns.

(test_api.py and test_uploads.py check every response they get against this document too.)
"""
from __future__ import annotations

import io
import re
from collections import defaultdict
from typing import Any

import pytest

from tests.web.apicheck import openapi_path
from web import create_app
from demo import CONSTRUCTION_APPLICATION

API = "/api/v1"
PROCESS = "onething_construction_permit"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PDF = b"%PDF-1.4\n%%EOF\n"


def api_routes(app) -> set[tuple[str, str]]:
    return {(method.lower(), openapi_path(rule.rule))
            for rule in app.url_map.iter_rules() if rule.rule.startswith(API + "/")
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items()
            for method in item if method in METHODS}


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        assert part in node, f"unresolvable $ref {ref}"
        node = node[part]
    return node


def refs(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


@pytest.fixture
def document(client) -> dict[str, Any]:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.get_json()


# --- the document itself ------------------------------------------------------------------

def test_openapi_is_served_without_a_token(client):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        response = client.get(f"{API}/openapi.json", headers=headers)
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert response.get_json()["openapi"] == "3.1.0"


def test_is_a_valid_openapi_3_1_document(document):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)


def test_document_structure_by_hand(document):
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    assert document["info"]["title"] and document["info"]["version"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}
    assert document["security"] == [{"bearer": []}]
    for ref in refs(document):
        resolve(document, ref)
    for path, item in document["paths"].items():
        assert path.startswith(API + "/"), path
        template_params = set(re.findall(r"{([^}]+)}", path))
        for method, operation in item.items():
            assert method in METHODS, (path, method)
            where = f"{method.upper()} {path}"
            assert operation["summary"], where
            assert operation["responses"], where
            params = operation.get("parameters", [])
            for param in params:
                assert param["in"] in ("path", "query", "header", "cookie"), where
                assert "schema" in param and param["name"], where
            path_params = {p["name"] for p in params if p["in"] == "path"}
            assert path_params == template_params, where
            assert all(p["required"] is True for p in params if p["in"] == "path"), where
            for status, response in operation["responses"].items():
                assert re.fullmatch(r"[1-5][0-9][0-9]", status), (where, status)
                assert response["description"], (where, status)
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (where, status)
            success = [s for s in operation["responses"] if s.startswith("2")]
            assert len(success) == 1, where
            if operation.get("security") == []:
                assert "401" not in operation["responses"], where
            else:
                assert "401" in operation["responses"], where
            if "requestBody" in operation:
                assert operation["requestBody"]["content"], where
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message", "fields"}


def test_documented_operations_are_exactly_the_served_routes(app, document):
    served, listed = api_routes(app), documented(document)
    assert served == listed, {"served, not documented": sorted(served - listed),
                              "documented, not served": sorted(listed - served)}


def test_the_document_matches_the_contract_table(document):
    contract = {("get", "/processes"), ("get", "/processes/{key}/form"), ("post", "/cases"),
                ("get", "/cases/{case_id}"), ("get", "/cases/{case_id}/events"),
                ("get", "/tasks"), ("get", "/tasks/{task_id}"),
                ("post", "/tasks/{task_id}/claim"), ("post", "/tasks/{task_id}/complete"),
                ("post", "/uploads")}
    listed = {(m, p.removeprefix(API)) for m, p in documented(document)}
    assert contract <= listed
    statuses = {(m, p.removeprefix(API)): set(document["paths"][p][m]["responses"])
                for m, p in documented(document)}
    # the errors the contract promises
    assert {"404"} <= statuses[("get", "/processes/{key}/form")]
    assert {"201", "404", "422"} <= statuses[("post", "/cases")]
    # A case one may not read is 404, like a missing one (issue 13: the rule wins over
    # the 403 the contract table once listed).
    assert {"404"} <= statuses[("get", "/cases/{case_id}")]
    assert {"404"} <= statuses[("get", "/cases/{case_id}/events")]
    assert {"403", "404"} <= statuses[("get", "/tasks/{task_id}")]
    assert {"409"} <= statuses[("post", "/tasks/{task_id}/claim")]
    assert {"403", "409", "422"} <= statuses[("post", "/tasks/{task_id}/complete")]
    assert {"201", "413", "415"} <= statuses[("post", "/uploads")]


# --- the statuses really returned ---------------------------------------------------------

class Recorder:
    """Sends requests and notes which status each documented operation answered."""

    def __init__(self, document: dict[str, Any]):
        self.document = document
        self.seen: dict[tuple[str, str], set[str]] = defaultdict(set)

    def __call__(self, app, method: str, path: str, token: str | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = app.test_client().open(API + path, method=method, headers=headers, **kwargs)
        assert response.status_code < 500, (method, path, response.data[:300])
        assert response.mimetype == "application/json"
        rule, _ = app.url_map.bind("localhost").match(response.request.path, method=method,
                                                      return_rule=True)
        self.seen[(method.lower(), openapi_path(rule.rule))].add(str(response.status_code))
        return response


def test_every_documented_status_is_really_returned_and_no_other(deployed, app, document):
    rt = deployed
    small = create_app({"TESTING": True, "SECRET_KEY": "test", "MAX_CONTENT_LENGTH": 16 * 1024},
                       runtime=rt)
    people = {"fd": (["frontdesk"], ["综合受理窗口"]), "fd2": (["frontdesk"], ["综合受理窗口"]),
              "zjj": (["approver", "lead"], ["住房和城乡建设局"]),
              "fd_lead": (["frontdesk", "lead"], ["综合受理窗口"]),
              "slj": (["approver"], ["水利局"]), "analyst": (["analyst"], [])}
    token = {}
    for name, (roles, groups) in people.items():
        rt.users.create(name, "pw", roles=roles, groups=groups)
        token[name] = rt.users.issue_token(name)
    call = Recorder(document)
    app_json = dict(content_type="application/json")
    huge = b'{"data": {"x": "' + b"x" * 20_000 + b'"}, "reason": "x"}'

    for method, path in documented(document):
        route = path.removeprefix(API).replace("{key}", PROCESS).replace("{case_id}", "1") \
                                      .replace("{task_id}", "00000000-0000-0000-0000-000000000000")
        if document["paths"][path][method].get("security") != []:
            call(app, method.upper(), route, "wrong")                                   # 401
    call(app, "GET", "/openapi.json")                                                   # 200

    call(app, "GET", "/processes", token["fd"])                                         # 200
    call(app, "GET", f"/processes/{PROCESS}/form", token["fd"])                         # 200
    call(app, "GET", "/processes/nope/form", token["fd"])                               # 404

    # 一次性告知: received, the front desk's 补齐材料 task open
    start = {"process": PROCESS, "action": "notify", "data": CONSTRUCTION_APPLICATION}
    case = call(app, "POST", "/cases", token["fd"], json=start).get_json()              # 201
    call(app, "POST", "/cases", token["slj"], json=start)                               # 403
    call(app, "POST", "/cases", token["fd"], json={"process": "nope", "data": {}})      # 404
    call(small, "POST", "/cases", token["fd"], data=huge, **app_json)                   # 413
    call(app, "POST", "/cases", token["fd"], json={"process": PROCESS, "data": {}})     # 422

    call(app, "GET", f"/cases/{case['id']}", token["fd"])                               # 200
    call(app, "GET", f"/cases/{case['id']}", token["analyst"])                          # 404
    call(app, "GET", "/cases/999", token["fd"])                                         # 404
    call(app, "GET", f"/cases/{case['id']}/events", token["fd"])                        # 200
    call(app, "GET", f"/cases/{case['id']}/events", token["analyst"])                   # 404
    call(app, "GET", "/cases/999/events", token["fd"])                                  # 404

    call(app, "GET", "/tasks", token["fd"])                                             # 200
    call(app, "GET", "/tasks?group=水利局", token["fd"])                                 # 403
    call(app, "GET", "/tasks?limit=x", token["fd"])                                     # 422

    front = case["tasks"][0]["id"]
    call(app, "GET", f"/tasks/{front}", token["fd"])                                    # 200
    call(app, "GET", f"/tasks/{front}", token["slj"])                                   # 403
    call(app, "GET", "/tasks/nope", token["fd"])                                        # 404
    call(app, "POST", f"/tasks/{front}/claim", token["slj"])                            # 403
    call(app, "POST", "/tasks/nope/claim", token["fd"])                                 # 404
    call(app, "POST", f"/tasks/{front}/claim", token["fd"])                             # 200
    call(app, "POST", f"/tasks/{front}/claim", token["fd2"])                            # 409
    call(app, "POST", f"/tasks/{front}/unclaim", token["fd2"])                          # 403
    call(app, "POST", "/tasks/nope/unclaim", token["fd"])                               # 404
    call(app, "POST", f"/tasks/{front}/unclaim", token["fd"])                           # 200
    call(app, "POST", f"/tasks/{front}/complete", token["slj"], json={"data": {}})      # 403
    call(app, "POST", "/tasks/nope/complete", token["fd"], json={"data": {}})           # 404
    call(small, "POST", f"/tasks/{front}/complete", token["fd"], data=huge, **app_json)  # 413
    call(app, "POST", f"/tasks/{front}/complete", token["fd"],
         json={"data": {"supplemented": "也许"}})                                         # 422
    accept = {"data": {"supplemented": True}}
    call(app, "POST", f"/tasks/{front}/complete", token["fd"], json=accept)             # 200
    call(app, "POST", f"/tasks/{front}/complete", token["fd"], json=accept)             # 409
    call(app, "POST", f"/tasks/{front}/unclaim", token["fd"])                           # 409

    cancel = f"/cases/{case['id']}/cancel"
    call(app, "POST", cancel, token["fd"], json={"reason": "撤回"})                      # 403
    call(app, "POST", "/cases/999/cancel", token["zjj"], json={"reason": "撤回"})        # 404
    call(small, "POST", cancel, token["zjj"], data=huge, **app_json)                    # 413
    call(app, "POST", cancel, token["zjj"], json={})                                    # 422
    # cancelling is for a lead of a department with a task in the case (the front desk's)
    call(app, "POST", cancel, token["fd_lead"], json={"reason": "申请人撤回"})             # 200
    call(app, "POST", cancel, token["fd_lead"], json={"reason": "申请人撤回"})             # 409

    pdf = lambda name, content=PDF: {"file": (io.BytesIO(content), name)}  # noqa: E731

    # 改派, 延期 and 特别程序 on a department's review task of an accepted case
    rt.users.create("zjj2", "pw", roles=["approver"], groups=["住房和城乡建设局"])
    token["zjj2"] = rt.users.issue_token("zjj2")
    scan = call(app, "POST", "/uploads", token["fd"], data=pdf("c.pdf")).get_json()["id"]
    form = call(app, "GET", f"/processes/{PROCESS}/form", token["fd"]).get_json()["form"]
    brought = {f["id"]: scan for f in form["fields"]
               if f["type"] == "file" and f["source"] == "申请人自备"}
    accepted = call(app, "POST", "/cases", token["fd"], json={
        "process": PROCESS, "data": {**CONSTRUCTION_APPLICATION, **brought}}).get_json()
    review = next(t["id"] for t in accepted["tasks"]
                  if t["task_spec"] == "construction_permit_review")
    nope = "00000000-0000-0000-0000-000000000000"
    clock_actions = [("assign", {"assignee": "zjj2"}, {"assignee": ""}),
                     ("extend", {"amount": 5, "reason": "需现场核查"}, {"amount": 0, "reason": "x"}),
                     ("procedure", {"procedure": "专家评审"}, {"procedure": "占卜"})]
    for action, good, bad in clock_actions:
        call(app, "POST", f"/tasks/{review}/{action}", token["slj"], json=good)          # 403
        call(app, "POST", f"/tasks/{nope}/{action}", token["zjj"], json=good)            # 404
        call(small, "POST", f"/tasks/{review}/{action}", token["zjj"], data=huge,
             **app_json)                                                                 # 413
        call(app, "POST", f"/tasks/{review}/{action}", token["zjj"], json=bad)           # 422
        call(app, "POST", f"/tasks/{review}/{action}", token["zjj"], json=good)          # 200
    decided = {"construction_permit_decision": "approve", "construction_permit_opinion": "同意"}
    call(app, "POST", f"/tasks/{review}/complete", token["zjj2"], json={"data": decided})
    for action, good, _bad in clock_actions:
        call(app, "POST", f"/tasks/{review}/{action}", token["zjj"], json=good)          # 409
    call(app, "POST", "/uploads", token["fd"], data=pdf("a.pdf"))                       # 201
    call(app, "POST", "/uploads", token["fd"], data=pdf("a.pdf", PDF * 80_000))         # 413
    call(app, "POST", "/uploads", token["fd"], data=pdf("a.exe"))                       # 415
    call(app, "POST", "/uploads", token["fd"], data={})                                 # 422

    # 容缺: materials supplied later (GET the list, POST one material)
    supplied = call(app, "POST", "/uploads", token["fd"], data=pdf("b.pdf")).get_json()["id"]
    owed = _deficient_case(rt)
    materials, body = f"/cases/{owed}/materials", {"field": "supervision_contract_file",
                                                   "upload": supplied}
    call(app, "GET", materials, token["fd"])                                            # 200
    call(app, "GET", materials, token["analyst"])                                       # 404
    call(app, "GET", "/cases/999/materials", token["fd"])                               # 404
    call(app, "POST", materials, token["analyst"], json=body)                           # 403
    call(app, "POST", "/cases/999/materials", token["fd"], json=body)                   # 404
    call(small, "POST", materials, token["fd"], data=huge, **app_json)                  # 413
    call(app, "POST", materials, token["fd"], json={"field": "x"})                      # 422
    call(app, "POST", materials, token["fd"], json=body)                                # 200
    call(app, "POST", materials, token["fd"], json=body)                                # 409

    for method, path in sorted(documented(document)):
        listed = set(document["paths"][path][method]["responses"])
        assert call.seen[(method, path)] == listed, (method, path)


def _deficient_case(rt) -> int:
    """A construction-permit case accepted with one 容缺后补 material owed."""
    from engine.acceptance.deficiency import MissingMaterial
    from engine.cases.dto import Actor
    from web import formsource

    front = Actor("fd", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, PROCESS)
    data = formsource.clean_application(rt, definition, dict(CONSTRUCTION_APPLICATION))
    data.update(rt.deficiencies.plan(
        PROCESS, [MissingMaterial("supervision_contract_file", "监理合同", "工程质量监督")],
        signed_by="李建设", witnessed_by="fd"))
    return rt.cases.start_case(PROCESS, data, front).id


def test_unknown_api_paths_and_methods_are_json_not_html(client):
    for method, path in [("GET", "/nope"), ("POST", "/processes"), ("DELETE", "/cases/1"),
                         ("GET", "/openapi.yaml")]:
        response = client.open(API + path, method=method)
        assert response.status_code in (401, 404, 405), (method, path)
        assert response.mimetype == "application/json"
        assert {"error", "message", "fields"} <= set(response.get_json())


# --- property-based: schemathesis against the document --------------------------------------

def test_schemathesis_finds_no_failures_against_the_document(deployed, app):
    """Every operation, generated from the document (valid and invalid inputs), with all of
    schemathesis's checks, on a small bounded budget: no 500, every status and body as
    documented, constraints the document declares are the ones the server enforces."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    deployed.users.create("st", "pw", roles=["frontdesk"], groups=["综合受理窗口"])
    headers = {"Authorization": f"Bearer {deployed.users.issue_token('st')}"}
    # A schema-valid body may still name something the server does not have: an upload that
    # was never stored (422, as for every unknown reference in a body) or a file whose type
    # is not allowed (415). Those two answers are right there, and only there.
    referring = ["2xx", "3xx", "401", "403", "404", "409", "429"]
    also_right = {("POST", f"{API}/cases/{{case_id}}/materials"): "422",
                  ("POST", f"{API}/uploads"): "415"}

    def schema_accepting(status: str | None):
        checks = {} if status is None else {"checks": {"positive_data_acceptance": {
            "expected-statuses": [*referring, status]}}}
        config = schemathesis.config.SchemathesisConfig.from_dict(checks)
        return schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app, config=config)

    schema = schema_accepting(None)
    special = {key: schema_accepting(status) for key, status in also_right.items()}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        if key in special:
            operation = special[key][operation.path][operation.method.upper()]

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=headers)

        try:
            check()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - a FailureGroup: collect every operation's
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)


EXAMPLES = 10
