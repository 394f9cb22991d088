"""The analyst studio through HTTP, as an analyst uses it (sign-in with CSRF, then the same
requests the modeler page sends): who may enter, the process list, drafts, validation with
element-level problems, form preview, deploy, upload of hostile files, byte-exact download,
and the studio log."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine.definitions import deployments
from engine.store.models import ProcessDefinition
from engine.store.models_studio import StudioDraft, StudioEvent
from engine.people.users import actor_of
from engine.cases.dto import Actor
from tests.conftest import PROCESSES
from web import formsource
from demo import CONSTRUCTION_APPLICATION

ITEM = "item_drainage_permit"
ITEM_FILE = PROCESSES / "items" / "drainage_permit.bpmn"
ONETHING = "onething_construction_permit"
REVIEW = "drainage_permit_review"
FRONT = Actor("frontdesk", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
NEW_FIELD = ('<camunda:formField id="drainage_outlet_count" label="排水口数量" type="long">'
             '<camunda:validation><camunda:constraint name="required"/></camunda:validation>'
             '</camunda:formField>')


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(client, username: str, password: str):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


def text_of(response) -> str:
    return response.get_data(as_text=True)


def item_xml() -> str:
    return ITEM_FILE.read_text(encoding="utf-8")


def with_new_field(xml: str) -> str:
    """The drainage item with one more required field on its department review task."""
    anchor = '<camunda:formField id="drainage_permit_licence_no"'
    assert anchor in xml
    return xml.replace(anchor, NEW_FIELD + anchor, 1)


@pytest.fixture
def hall(deployed):
    rt = deployed
    rt.users.create("analyst", "analyst-pass-1", display_name="陈分析", roles=["analyst"])
    rt.users.create("slj", "slj-pass-1", display_name="周审批", roles=["approver"],
                    groups=["城市管理局"])
    return rt


@pytest.fixture
def analyst(client, hall):
    assert login(client, "analyst", "analyst-pass-1").status_code == 302
    token = csrf_of(text_of(client.get("/studio")))

    def post(url, data=None, *, json=True, **kwargs):
        headers = {"Accept": "application/json"} if json else {}
        return client.post(url, data={"csrf_token": token, **(data or {})}, headers=headers,
                           **kwargs)

    client.post_ = post
    return client


def versions(rt, key: str) -> list[int]:
    with rt.db.reading() as session:
        return list(session.scalars(select(ProcessDefinition.version)
                                    .where(ProcessDefinition.key == key)
                                    .order_by(ProcessDefinition.version)))


def studio_events(rt) -> list[StudioEvent]:
    with rt.db.reading() as session:
        return list(session.scalars(select(StudioEvent).order_by(StudioEvent.id)))


def accepted_case(rt):
    """A construction-permit case accepted at the front desk: every item is in review."""
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, ONETHING)
    data = formsource.clean_application(rt, definition, CONSTRUCTION_APPLICATION)
    case = rt.cases.start_case(ONETHING, data, FRONT)
    task = next(t for t in case.tasks if t.task_spec == "front_desk_acceptance")
    return rt.cases.complete(task.id, {"acceptance_decision": "accept",
                                       "materials_complete": True}, FRONT)


def review_form_fields(rt, case) -> list[str]:
    clerk = actor_of(rt.users.get("slj"))
    task = next(t for t in rt.tasks.visible(clerk, limit=50)
                if t.case_id == case.id and t.task_spec == REVIEW)
    return [f.id for f in formsource.task_form(rt, task).fields]


# -- who may enter ------------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_sign_in(client, hall):
    response = client.get("/studio")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_clerks_may_not_open_edit_or_deploy(client, hall):
    assert login(client, "slj", "slj-pass-1").status_code == 302
    token = csrf_of(text_of(client.get("/tasks")))
    assert client.get("/studio").status_code == 403
    assert client.get(f"/studio/processes/{ITEM}/edit").status_code == 403
    assert client.get(f"/studio/processes/{ITEM}/versions/1.bpmn").status_code == 403
    response = client.post(f"/studio/processes/{ITEM}/draft",
                           data={"csrf_token": token, "xml": with_new_field(item_xml())})
    assert response.status_code == 403
    assert client.post(f"/studio/processes/{ITEM}/deploy",
                       data={"csrf_token": token}).status_code == 403
    assert versions(hall, ITEM) == [1]
    assert studio_events(hall) == []


def test_posts_without_csrf_token_are_refused(analyst, hall):
    response = analyst.post(f"/studio/processes/{ITEM}/draft", data={"xml": item_xml()})
    assert response.status_code == 400
    assert "CSRF" in text_of(response)
    with hall.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(StudioDraft)) == 0


def test_studio_lists_every_process_with_versions_author_and_open_cases(analyst, hall):
    accepted_case(hall)
    page = text_of(analyst.get("/studio"))
    with hall.db.reading() as session:
        keys = {d.key for d in hall.definitions.all_latest(session)}
        overview = {p.key: p for p in deployments.overview(session)}
    for key in keys:
        assert f'id="process-{key}"' in page
    # The one-thing case runs on the one-thing's v1 and on v1 of each item it calls.
    assert overview[ONETHING].latest.open_cases == 1
    assert overview[ITEM].latest.open_cases == 0 and overview[ITEM].latest.open_within == 1
    assert overview[ITEM].latest.deployed_by == "cli"
    section = page[page.index(f'id="process-{ITEM}"'):]
    section = section[:section.index("</tbody>")]
    assert "v1" in section and "<td data-by>cli</td>" in section and 'data-open="1"' in section


# -- drafts -------------------------------------------------------------------------------

def test_saving_a_draft_leaves_deployed_versions_alone_and_is_audited(analyst, hall):
    changed = with_new_field(item_xml())
    response = analyst.post_(f"/studio/processes/{ITEM}/draft",
                             {"xml": changed, "base_version": "1"})
    assert response.status_code == 200 and response.get_json()["saved"] is True
    assert versions(hall, ITEM) == [1]
    # Reopening the modeler opens the draft, byte for byte as saved.
    page = text_of(analyst.get(f"/studio/processes/{ITEM}/edit"))
    assert f"/studio/processes/{ITEM}/draft.bpmn" in page
    assert analyst.get(f"/studio/processes/{ITEM}/draft.bpmn").data == changed.encode("utf-8")
    [event] = studio_events(hall)
    assert (event.actor, event.kind, event.process_key) == ("analyst", "draft_saved", ITEM)
    assert event.content_hash == response.get_json()["hash"]
    assert event.content == changed
    # Discarding removes it, and that is recorded too.
    response = analyst.post_(f"/studio/processes/{ITEM}/draft/discard", json=False)
    assert response.status_code == 302
    assert analyst.get(f"/studio/processes/{ITEM}/draft.bpmn").status_code == 404
    assert [e.kind for e in studio_events(hall)] == ["draft_saved", "draft_discarded"]
    assert "放弃草稿" in text_of(analyst.get("/studio"))


def test_a_draft_of_another_process_id_is_refused_with_a_reason(analyst, hall):
    other = item_xml().replace(f'id="{ITEM}"', 'id="item_renamed"')
    response = analyst.post_(f"/studio/processes/{ITEM}/draft", {"xml": other})
    assert response.status_code == 422
    assert "item_renamed" in response.get_json()["message"]
    assert studio_events(hall) == []


# -- validate -----------------------------------------------------------------------------

def test_validate_names_the_element_of_each_problem(analyst, hall):
    broken = item_xml().replace(f"<bpmn:flowNodeRef>{REVIEW}</bpmn:flowNodeRef>", "", 1)
    broken = broken.replace("drainage_permit_decision == 'correct'",
                            "().__class__.__base__.__subclasses__()", 1)
    broken = broken.replace('id="drainage_permit_licence_no" label="排水许可证编号" type="string"',
                            'id="drainage_permit_licence_no" label="排水许可证编号" type="colour"', 1)
    body = analyst.post_(f"/studio/processes/{ITEM}/validate", {"xml": broken}).get_json()
    assert body["ok"] is False
    by_element = {}
    for problem in body["problems"]:
        by_element.setdefault(problem["element"], []).append(problem["message"])
    assert any("泳道" in m for m in by_element[REVIEW])
    assert any("表单" in m for m in by_element[REVIEW])
    assert any("沙箱" in m for m in by_element["drainage_permit_flow_correct"])


def test_validate_passes_a_good_draft(analyst, hall):
    body = analyst.post_(f"/studio/processes/{ITEM}/validate",
                         {"xml": with_new_field(item_xml())}).get_json()
    assert body == {"ok": True, "message": body["message"], "problems": [], "elsewhere": []}


def test_validate_reports_unsafe_xml_without_an_error_page(analyst, hall):
    xxe = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<d>&x;</d>')
    response = analyst.post_(f"/studio/processes/{ITEM}/validate", {"xml": xxe})
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is False and "DOCTYPE" in body["message"]


# -- preview ------------------------------------------------------------------------------

def test_preview_shows_the_task_form_as_the_clerk_will_see_it(analyst, hall):
    body = analyst.post_(f"/studio/processes/{ITEM}/preview",
                         {"xml": with_new_field(item_xml()), "element": REVIEW}).get_json()
    html = body["html"]
    # The same markup the task page renders: label, required marker, typed input, options.
    assert 'name="drainage_outlet_count"' in html and 'type="number"' in html
    assert re.search(r'for="f-drainage_outlet_count">排水口数量<span class="required"', html)
    assert '<select id="f-drainage_permit_decision"' in html and "准予许可" in html
    assert "disabled" in html  # a preview submits nothing
    # A deployed task page renders the same field markup from the same macro.
    assert 'data-field="drainage_permit_decision"' in html


def test_preview_of_a_one_thing_start_is_the_merged_application_form(analyst, hall):
    page = text_of(analyst.get(f"/studio/processes/{ONETHING}/draft/preview/onething_start"))
    assert 'name="project_code"' in page
    assert 'name="drainage_permit_' not in page  # review fields are not application fields
    for item_field in ("builder_credit_code", "site_address"):
        assert f'name="{item_field}"' in page


def test_preview_of_an_unknown_element_is_a_clear_404(analyst, hall):
    response = analyst.post_(f"/studio/processes/{ITEM}/preview",
                             {"xml": item_xml(), "element": "nope"})
    assert response.status_code == 404 and "nope" in response.get_json()["message"]


# -- deploy -------------------------------------------------------------------------------

def test_deploying_a_draft_makes_a_new_version_and_running_cases_keep_theirs(analyst, hall):
    before = accepted_case(hall)
    analyst.post_(f"/studio/processes/{ITEM}/draft",
                  {"xml": with_new_field(item_xml()), "base_version": "1"})
    response = analyst.post_(f"/studio/processes/{ITEM}/deploy")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 2 and response.get_json()["created"] is True
    assert versions(hall, ITEM) == [1, 2]
    with hall.db.reading() as session:
        row = deployments.version(session, ITEM, 2)
        assert row.deployed_by == "analyst"
        assert session.scalar(select(func.count()).select_from(StudioDraft)) == 0
    deployed_event = studio_events(hall)[-1]
    assert (deployed_event.kind, deployed_event.actor, deployed_event.version) == \
        ("definition_deployed", "analyst", 2)
    assert deployed_event.content_hash == row.content_hash
    after = accepted_case(hall)
    assert "drainage_outlet_count" not in review_form_fields(hall, before)
    assert "drainage_outlet_count" in review_form_fields(hall, after)
    assert "部署新版本" in text_of(analyst.get("/studio"))


def test_an_invalid_draft_is_not_deployed(analyst, hall):
    broken = item_xml().replace(f"<bpmn:flowNodeRef>{REVIEW}</bpmn:flowNodeRef>", "", 1)
    analyst.post_(f"/studio/processes/{ITEM}/draft", {"xml": broken})
    response = analyst.post_(f"/studio/processes/{ITEM}/deploy")
    assert response.status_code == 422
    assert any(p["element"] == REVIEW for p in response.get_json()["problems"])
    assert versions(hall, ITEM) == [1]
    # Without JavaScript the refusal comes back on the modeler page, problem by problem.
    response = analyst.post_(f"/studio/processes/{ITEM}/deploy", json=False)
    assert response.status_code == 422
    assert "部署被拒绝" in text_of(response) and REVIEW in text_of(response)


def test_a_draft_older_than_the_latest_version_needs_confirmation(analyst, hall, app):
    # This analyst's draft starts from v1 ...
    analyst.post_(f"/studio/processes/{ITEM}/draft",
                  {"xml": with_new_field(item_xml()), "base_version": "1"})
    # ... while a colleague deploys v2 from their own draft.
    hall.users.create("analyst2", "analyst-pass-2", display_name="林分析", roles=["analyst"])
    colleague = app.test_client()
    assert login(colleague, "analyst2", "analyst-pass-2").status_code == 302
    token = csrf_of(text_of(colleague.get("/studio")))
    changed = item_xml().replace('label="排水许可证编号"', 'label="排水许可证号"')
    colleague.post(f"/studio/processes/{ITEM}/draft", data={"csrf_token": token, "xml": changed})
    assert colleague.post(f"/studio/processes/{ITEM}/deploy", data={"csrf_token": token},
                          headers={"Accept": "application/json"}).status_code == 200
    # Deploying the older draft would undo v2: refused, with the reason, until confirmed.
    response = analyst.post_(f"/studio/processes/{ITEM}/deploy")
    assert response.status_code == 409 and "v2" in response.get_json()["message"]
    page = text_of(analyst.get(f"/studio/processes/{ITEM}/edit"))
    assert 'name="over_newer"' in page
    assert versions(hall, ITEM) == [1, 2]
    response = analyst.post_(f"/studio/processes/{ITEM}/deploy", {"over_newer": "1"})
    assert response.status_code == 200 and response.get_json()["version"] == 3


def test_deploying_unchanged_content_makes_no_version(analyst, hall):
    analyst.post_(f"/studio/processes/{ITEM}/draft", {"xml": item_xml()})
    body = analyst.post_(f"/studio/processes/{ITEM}/deploy").get_json()
    assert body["created"] is False and body["version"] == 1
    assert versions(hall, ITEM) == [1]


def test_an_item_change_that_breaks_its_one_thing_is_refused(analyst, hall):
    # `project_name` is asked once in the one-thing's merged form: a different type in one
    # item cannot be merged, so the one-thing that calls it would break.
    xml = item_xml()
    start = xml.index('<camunda:formField id="project_name"')
    end = xml.index("</camunda:formField>", start) + len("</camunda:formField>")
    changed = xml[:start] + ('<camunda:formField id="project_name" label="项目名称" type="long">'
                             '</camunda:formField>') + xml[end:]
    body = analyst.post_(f"/studio/processes/{ITEM}/validate", {"xml": changed}).get_json()
    assert body["ok"] is False
    analyst.post_(f"/studio/processes/{ITEM}/draft", {"xml": changed})
    assert analyst.post_(f"/studio/processes/{ITEM}/deploy").status_code == 422
    assert versions(hall, ITEM) == [1]


# -- upload and download ------------------------------------------------------------------

def upload(analyst, data: bytes, name: str = "drainage_permit.bpmn"):
    import io

    return analyst.post_("/studio/upload", {"file": (io.BytesIO(data), name)}, json=False,
                         content_type="multipart/form-data")


HOSTILE = {
    "xxe": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>',
    "billion_laughs": (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                       b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
                       b'<lolz>&lol2;</lolz>'),
    "huge_attribute": ITEM_FILE.read_bytes().replace(
        b'name="\xe6\x8e\x92\xe6\xb0\xb4\xe8\xae\xb8\xe5\x8f\xaf\xe5\xae\xa1\xe6\x89\xb9"',
        b'name="' + b"x" * 1_000_001 + b'"', 1),
    "sandbox_escape": ITEM_FILE.read_bytes().replace(
        b"drainage_permit_decision == 'correct'",
        b"[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen']", 1),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_uploads_are_refused_with_a_clear_message(analyst, hall, kind):
    response = upload(analyst, HOSTILE[kind])
    assert response.status_code == 422
    page = text_of(response)
    assert "上传被拒绝" in page
    assert 'class="flash error' in page
    assert "Traceback" not in page and "root:x:0" not in page
    assert len(page) < 200_000  # a megabyte attribute is not echoed back
    assert len(response.headers.get("Set-Cookie", "")) < 4000  # nor stuffed into the session
    with hall.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(StudioDraft)) == 0


def test_only_bpmn_files_are_taken(analyst, hall):
    response = upload(analyst, item_xml().encode("utf-8"), name="notes.txt")
    assert response.status_code == 422 and ".bpmn" in text_of(response)


def test_an_uploaded_file_deploys_and_downloads_byte_for_byte(analyst, hall):
    # CRLF line ends and an unusual but valid layout must survive untouched.
    data = with_new_field(item_xml()).replace("\n", "\r\n").encode("utf-8")
    response = upload(analyst, data)
    assert response.status_code == 302 and f"/studio/processes/{ITEM}/edit" in \
        response.headers["Location"]
    assert [e.kind for e in studio_events(hall)] == ["draft_uploaded"]
    assert analyst.get(f"/studio/processes/{ITEM}/draft.bpmn").data == data
    assert analyst.post_(f"/studio/processes/{ITEM}/deploy").get_json()["version"] == 2
    download = analyst.get(f"/studio/processes/{ITEM}/versions/2.bpmn")
    assert download.data == data
    assert "attachment" in download.headers["Content-Disposition"]
    assert "drainage_permit-v2.bpmn" in download.headers["Content-Disposition"]


def test_a_deployed_version_downloads_exactly_as_deployed(analyst, hall):
    download = analyst.get(f"/studio/processes/{ITEM}/versions/1.bpmn")
    assert download.status_code == 200 and download.data == ITEM_FILE.read_bytes()
    assert analyst.get(f"/studio/processes/{ITEM}/versions/9.bpmn").status_code == 404
    huge = 10 ** 30
    assert analyst.get(f"/studio/processes/{ITEM}/versions/{huge}.bpmn").status_code == 404
    assert analyst.get(f"/studio/processes/{ITEM}/edit?version={huge}").status_code == 404


def test_a_new_process_can_be_uploaded_and_deployed(analyst, hall):
    data = item_xml().replace(ITEM, "item_drainage_permit_copy").encode("utf-8")
    response = upload(analyst, data, name="drainage copy.bpmn")
    assert response.status_code == 302
    assert "item_drainage_permit_copy" in text_of(analyst.get("/studio"))
    assert analyst.post_("/studio/processes/item_drainage_permit_copy/deploy").status_code == 200
    assert versions(hall, "item_drainage_permit_copy") == [1]


def test_the_modeler_page_loads_its_bundled_scripts(analyst, hall):
    page = text_of(analyst.get(f"/studio/processes/{ITEM}/edit"))
    assert "vendor/studio/studio-modeler.js" in page and "js/studio.js" in page
    assert f"/studio/processes/{ITEM}/versions/1.bpmn" in page
    assert "//cdn" not in page and "https://" not in page
