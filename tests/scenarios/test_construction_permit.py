"""施工许可一件事 end to end through the engine service, on the frozen clock: one-window
acceptance (受理 or 一次性告知 → 补齐材料), twelve parallel item reviews (准予许可 / 不予许可 /
补正 → 补正材料接收 at the one window → back to the department), the results summary and
统一出件; plus the results table and conditional checks on the clerk's task page."""
from __future__ import annotations

import re

import pytest

from engine.cases.eventlog import verify_case
from engine.errors import NotAllowed, ValidationFailed
from engine.store.models import CaseRecord
from engine.cases.dto import Actor
from web import formsource
from demo import CONSTRUCTION_APPLICATION

PROCESS = "onething_construction_permit"
WINDOW, ISSUANCE = "综合受理窗口", "统一出件窗口"
ADMIN = Actor("admin", frozenset({"admin"}))
FRONT = Actor("frontdesk", frozenset({"frontdesk"}), frozenset({WINDOW}))
ISSUE = Actor("chujian", frozenset({"issuance"}), frozenset({ISSUANCE}))
HOUSING = Actor("zjj", frozenset({"approver"}), frozenset({"住房和城乡建设局"}))
ITEMS = ["construction_permit", "quality_supervision", "safety_supervision",
         "air_defense_quality_supervision", "air_defense_basement_approval", "fire_design_review",
         "road_occupation_excavation", "green_space_occupation", "drainage_permit",
         "night_construction", "construction_waste_disposal", "soil_water_conservation"]
ACCEPT = {"acceptance_decision": "accept", "materials_complete": True,
          "acceptance_note": "材料齐全，予以受理"}


def clerk(lane: str) -> Actor:
    return Actor(f"clerk-{lane}", frozenset({"approver"}), frozenset({lane}))


def start(rt):
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, PROCESS)
    data = formsource.clean_application(rt, definition, {**CONSTRUCTION_APPLICATION})
    return rt.cases.start_case(PROCESS, data, FRONT)


def specs(case) -> list[str]:
    return sorted(t.task_spec for t in case.tasks)


def task(case, spec: str):
    return next(t for t in case.tasks if t.task_spec == spec)


def review(decision: str, key: str) -> dict[str, str]:
    data = {f"{key}_decision": decision,
            f"{key}_opinion": {"approve": "符合法定条件，准予许可。",
                               "refuse": "不符合法定条件，依法不予许可。",
                               "correct": "请补正：施工图审查合格书原件。"}[decision]}
    if decision == "approve":
        data[f"{key}_licence_no"] = f"LC-{key[:12].upper()}-001"
    return data


def review_all(rt, case, decide=lambda key: "approve"):
    """Each open review decided by a clerk of its own department."""
    for open_task in [t for t in case.tasks if t.task_spec.endswith("_review")]:
        key = open_task.task_spec.removesuffix("_review")
        case = rt.cases.complete(open_task.id, review(decide(key), key), clerk(open_task.lane))
    return case


def issue(rt, case, **data):
    data = data or {"delivery_method": "post", "tracking_number": "SF1234567890",
                    "recipient_address": "聊城市茌平区振兴路 1 号 李四 13800000000"}
    case = rt.cases.complete(task(case, "issuance").id, data, ISSUE)
    assert case.status == "completed" and not case.tasks
    return rt.cases.get_case(case.id, ADMIN, with_data=True).data


def audit_ok(rt, case) -> None:
    with rt.db.reading() as session:
        assert verify_case(session, session.get(CaseRecord, case.id)).ok


# -- (a) happy path -----------------------------------------------------------------------

def test_accepted_and_all_approved_is_issued_by_post_with_outcome_0(deployed):
    rt = deployed
    case = start(rt)
    assert [(t.task_spec, t.lane) for t in case.tasks] == [("front_desk_acceptance", WINDOW)]
    case = rt.cases.complete(case.tasks[0].id, ACCEPT, FRONT)
    assert specs(case) == sorted(f"{key}_review" for key in ITEMS)
    case = review_all(rt, case)
    assert [(t.task_spec, t.lane) for t in case.tasks] == [("issuance", ISSUANCE)]
    at_issuance = rt.cases.task_data(case.tasks[0].id)
    assert (at_issuance["outcome_code"], at_issuance["approved_count"],
            at_issuance["refused_count"]) == ("0", 12, 0)
    assert "decisions" not in at_issuance  # the script's helper list is not left behind
    final = issue(rt, case)
    assert final["outcome_code"] == "0"
    assert {key: final[f"{key}_decision"] for key in ITEMS} == {key: "approve" for key in ITEMS}
    assert final["construction_permit_licence_no"] == "LC-CONSTRUCTION-001"
    assert (final["delivery_method"], final["tracking_number"]) == ("post", "SF1234567890")
    audit_ok(rt, case)


# -- (b) one-time notice at the front desk -------------------------------------------------

def test_one_time_notice_sends_the_case_to_supplement_then_back_to_acceptance(deployed):
    rt = deployed
    case = start(rt)
    missing = "1. 施工图审查合格书原件；2. 施工合同副本（加盖公章）"
    case = rt.cases.complete(case.tasks[0].id, {"acceptance_decision": "notify",
                                                "missing_materials": missing,
                                                "materials_complete": False}, FRONT)
    assert [(t.task_spec, t.name, t.lane) for t in case.tasks] == [
        ("supplement_materials", "补齐材料", WINDOW)]
    assert rt.cases.task_data(case.tasks[0].id)["missing_materials"] == missing
    case = rt.cases.complete(case.tasks[0].id, {"supplemented": True,
                                                "supplement_note": "申请人已现场补齐"}, FRONT)
    assert [(t.task_spec, t.lane) for t in case.tasks] == [("front_desk_acceptance", WINDOW)]
    # A second notice is possible too; then the window accepts.
    case = rt.cases.complete(case.tasks[0].id, {"acceptance_decision": "notify",
                                                "missing_materials": "3. 授权委托书"}, FRONT)
    case = rt.cases.complete(task(case, "supplement_materials").id, {"supplemented": True}, FRONT)
    case = rt.cases.complete(task(case, "front_desk_acceptance").id, ACCEPT, FRONT)
    assert specs(case) == sorted(f"{key}_review" for key in ITEMS)
    final = issue(rt, review_all(rt, case), delivery_method="window")
    assert final["outcome_code"] == "0" and final["acceptance_decision"] == "accept"
    audit_ok(rt, case)


# -- (c) 补正 requested by one department -------------------------------------------------

def test_correction_goes_to_the_window_and_back_to_that_department_only(deployed):
    rt = deployed
    case = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    others = {t.id: t.task_spec for t in case.tasks if t.task_spec != "fire_design_review_review"}
    fire = task(case, "fire_design_review_review")
    case = rt.cases.complete(fire.id, review("correct", "fire_design_review"), HOUSING)

    correction = task(case, "fire_design_review_correction")
    assert (correction.lane, correction.name) == (WINDOW, "补正材料接收（消防设计审查）")
    assert "fire_design_review_review" not in specs(case)
    # The other eleven reviews are untouched: the same open tasks, nothing else added.
    assert {t.id: t.task_spec for t in case.tasks if t.id != correction.id} == others
    with pytest.raises(NotAllowed):  # the applicant corrects at the one window, not the department
        rt.cases.complete(correction.id, {"fire_design_review_corrected": True}, HOUSING)

    case = rt.cases.complete(correction.id, {"fire_design_review_corrected": True,
                                             "fire_design_review_correction_note": "已收到原件"},
                             FRONT)
    again = task(case, "fire_design_review_review")
    assert again.lane == "住房和城乡建设局" and again.id != fire.id
    assert {t.id for t in case.tasks} == set(others) | {again.id}
    case = rt.cases.complete(again.id, review("approve", "fire_design_review"), HOUSING)
    final = issue(rt, review_all(rt, case))
    assert final["fire_design_review_decision"] == "approve"
    assert final["fire_design_review_corrected"] is True
    assert final["outcome_code"] == "0" and final["approved_count"] == 12
    audit_ok(rt, case)


# -- (d) one refusal, (e) all refused --------------------------------------------------------

def test_one_refusal_still_issues_the_others_with_outcome_0(deployed):
    rt = deployed
    case = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    case = review_all(rt, case, lambda key: "refuse" if key == "night_construction" else "approve")
    final = issue(rt, case)
    assert final["night_construction_decision"] == "refuse"
    assert final["night_construction_opinion"] == "不符合法定条件，依法不予许可。"
    assert (final["outcome_code"], final["approved_count"], final["refused_count"]) == ("0", 11, 1)
    assert all(final[f"{key}_decision"] == "approve"
               for key in ITEMS if key != "night_construction")
    audit_ok(rt, case)


def test_all_refused_closes_with_outcome_1(deployed):
    rt = deployed
    case = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    final = issue(rt, review_all(rt, case, lambda key: "refuse"), delivery_method="window")
    assert (final["outcome_code"], final["approved_count"], final["refused_count"]) == ("1", 0, 12)
    audit_ok(rt, case)


# -- the task page ---------------------------------------------------------------------------

@pytest.fixture
def page(deployed):
    from web import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False},
                     runtime=deployed)
    people = {"fd": [WINDOW], "zjj": ["住房和城乡建设局"], "cj": [ISSUANCE]}
    for username, groups in people.items():
        deployed.users.create(username, "pw-12345678", roles=["approver"], groups=groups)

    def client(username):
        browser = app.test_client()
        response = browser.post("/login", data={"username": username, "password": "pw-12345678"})
        assert response.status_code == 302
        return browser
    return client


def results_rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-item="(\w+)" data-state="(\w+)"', html))


def test_task_pages_show_each_items_result(deployed, page):
    rt = deployed
    case = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    case = rt.cases.complete(task(case, "construction_permit_review").id,
                             review("approve", "construction_permit"), HOUSING)
    case = rt.cases.complete(task(case, "fire_design_review_review").id,
                             review("correct", "fire_design_review"), HOUSING)

    html = page("zjj").get(f"/tasks/{task(case, 'quality_supervision_review').id}").get_data(
        as_text=True)
    assert '<details id="results">' in html and "各事项办理结果" in html
    rows = results_rows(html)
    assert list(rows) == ITEMS  # diagram order
    assert (rows["construction_permit"], rows["fire_design_review"],
            rows["quality_supervision"]) == ("approve", "correct", "reviewing")
    assert "LC-CONSTRUCTION-001" in html and "住房和城乡建设局" in html and "补正中" in html

    case = rt.cases.complete(task(case, "fire_design_review_correction").id,
                             {"fire_design_review_corrected": True}, FRONT)
    case = review_all(rt, case, lambda key: "refuse" if key == "night_construction" else "approve")
    html = page("cj").get(f"/tasks/{task(case, 'issuance').id}").get_data(as_text=True)
    assert "<details" not in html
    assert html.index('id="results"') < html.index('name="delivery_method"')  # above the form
    assert set(results_rows(html).values()) == {"approve", "refuse"}
    assert results_rows(html)["night_construction"] == "refuse"
    assert "出证办结" in html and "不予许可" in html


def test_a_notice_needs_the_missing_list_and_a_post_needs_an_address(deployed, page):
    rt = deployed
    case = start(rt)
    front = page("fd")
    url = f"/tasks/{case.tasks[0].id}"
    response = front.post(url, data={"acceptance_decision": "notify", "missing_materials": " "})
    assert response.status_code == 422
    assert 'class="field invalid" data-field="missing_materials"' in response.get_data(True)
    assert specs(rt.cases.get_case(case.id, ADMIN)) == ["front_desk_acceptance"]
    response = front.post(url, data={"acceptance_decision": "notify",
                                     "missing_materials": "施工合同副本"})
    assert response.status_code == 302
    assert specs(rt.cases.get_case(case.id, ADMIN)) == ["supplement_materials"]

    case = rt.cases.complete(task(rt.cases.get_case(case.id, ADMIN), "supplement_materials").id,
                             {"supplemented": True}, FRONT)
    case = review_all(rt, rt.cases.complete(case.tasks[0].id, ACCEPT, FRONT))
    url = f"/tasks/{task(case, 'issuance').id}"
    issuer = page("cj")
    response = issuer.post(url, data={"delivery_method": "post", "tracking_number": "SF1"})
    assert response.status_code == 422
    assert 'class="field invalid" data-field="recipient_address"' in response.get_data(True)
    assert specs(rt.cases.get_case(case.id, ADMIN)) == ["issuance"]
    response = issuer.post(url, data={"delivery_method": "post", "tracking_number": "SF1",
                                      "recipient_address": "聊城市东昌府区 张三 13800000000"})
    assert response.status_code == 302
    assert rt.cases.get_case(case.id, ADMIN).status == "completed"


# -- optional items: a project below the threshold needs no construction permit -----------------

PERMIT_ONLY = ("land_use_cert_no", "bid_notice_no")  # asked by the permit item alone


def test_a_small_project_skips_the_permit_item_and_its_questions(deployed, page):
    rt = deployed
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, PROCESS)
    small = {**CONSTRUCTION_APPLICATION, "investment": "28.5", "floor_area": "260"}
    for field_id in PERMIT_ONLY:
        small.pop(field_id, None)
    assert formsource.applicable_items(rt, definition, small) == \
        set(definition.called_keys) - {"item_construction_permit"}
    form = formsource.application_form(rt, definition, small)
    assert not any(f in form for f in PERMIT_ONLY)
    data = formsource.clean_application(rt, definition, small)  # not required: no error
    assert "land_use_cert_no" not in data
    with pytest.raises(ValidationFailed) as refused:  # the same blank is refused for a big project
        formsource.clean_application(rt, definition, {**small, "investment": "30"})
    assert "land_use_cert_no" in refused.value.fields

    case = rt.cases.start_case(PROCESS, data, FRONT)
    case = rt.cases.complete(case.tasks[0].id, ACCEPT, FRONT)
    assert specs(case) == sorted(f"{key}_review" for key in ITEMS if key != "construction_permit")
    case = review_all(rt, case)
    html = page("cj").get(f"/tasks/{task(case, 'issuance').id}").get_data(as_text=True)
    rows = results_rows(html)
    assert rows["construction_permit"] == "not_applicable" and "不涉及" in html
    assert "deficiency_gate" not in rows
    final = issue(rt, case)
    assert final["construction_permit_decision"] == "not_applicable"
    assert (final["outcome_code"], final["approved_count"], final["not_applicable_count"]) == \
        ("0", 11, 1)
    audit_ok(rt, case)


def test_the_threshold_is_either_investment_or_area(deployed):
    rt = deployed
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, PROCESS)
    permit = "item_construction_permit"
    for investment, area, applies in (("30", "10", True), ("29.99", "300", True),
                                      ("29.99", "299.9", False), ("", "", True)):
        values = {"investment": investment, "floor_area": area}
        assert (permit in formsource.applicable_items(rt, definition, values)) is applies


def test_one_refusal_is_shown_per_item_and_does_not_erase_the_others(deployed, page):
    rt = deployed
    case = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    case = review_all(rt, case, lambda k: "refuse" if k == "drainage_permit" else "approve")
    html = page("cj").get(f"/tasks/{task(case, 'issuance').id}").get_data(as_text=True)
    rows = results_rows(html)
    assert rows.pop("drainage_permit") == "refuse"
    assert set(rows.values()) == {"approve"} and len(rows) == 11
    assert "出证办结" in html  # the whole outcome, next to each item's own
    final = issue(rt, case)
    assert final["drainage_permit_decision"] == "refuse" and final["outcome_code"] == "0"
    assert all(final[f"{key}_licence_no"] for key in ITEMS if key != "drainage_permit")


# -- 补正: one notice of everything, the clock pauses and resumes --------------------------------

def test_a_correction_round_pauses_only_that_items_clock(deployed, clock):
    from engine.cases import eventlog as kinds
    from engine.cases import canonical

    rt = deployed
    case = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    before = {c["scope"]: c["due_at"] for c in rt.clocks.summary_of(case.id)["items"]}
    notice = ("一次性告知：1. 消防设计文件缺少设计单位出图章；2. 建筑防火构造详图未提供；"
              "3. 消防设施系统图与平面图不一致")
    case = rt.cases.complete(task(case, "fire_design_review_review").id,
                             {"fire_design_review_decision": "correct",
                              "fire_design_review_opinion": notice}, HOUSING)
    correction = task(case, "fire_design_review_correction")
    assert rt.cases.task_data(correction.id)["fire_design_review_opinion"] == notice
    paused = {c["scope"]: c for c in rt.clocks.summary_of(case.id)["items"]}
    assert paused["item_fire_design_review"]["paused"] is True
    assert paused["item_quality_supervision"]["paused"] is False

    clock.advance(days=3)  # Friday → Monday: one working day spent correcting
    case = rt.cases.complete(correction.id, {"fire_design_review_corrected": True,
                                             "fire_design_review_correction_note": "三项均已补正"},
                             FRONT)
    after = {c["scope"]: c for c in rt.clocks.summary_of(case.id)["items"]}
    assert after["item_fire_design_review"]["paused"] is False
    assert after["item_fire_design_review"]["due_at"] > before["item_fire_design_review"]
    assert after["item_drainage_permit"]["due_at"] == before["item_drainage_permit"]
    events = rt.cases.events(case.id, ADMIN)
    pauses = [(e.kind, canonical.loads(e.payload).get("scope")) for e in events
              if e.kind in (kinds.CLOCK_PAUSED, kinds.CLOCK_RESUMED)]
    assert pauses == [(kinds.CLOCK_PAUSED, "item_fire_design_review"),
                      (kinds.CLOCK_RESUMED, "item_fire_design_review")]
    again = task(case, "fire_design_review_review")
    case = rt.cases.complete(again.id, review("approve", "fire_design_review"), HOUSING)
    final = issue(rt, review_all(rt, case))
    assert final["fire_design_review_decision"] == "approve" and final["outcome_code"] == "0"
    audit_ok(rt, case)


# -- 零材料: department-issued materials come from data sharing, with their source ----------------

def test_department_issued_materials_are_attached_with_their_source(deployed):
    from engine.acceptance.connectors import data_sharing, pull_material

    rt = deployed
    registry = data_sharing(None)
    code = CONSTRUCTION_APPLICATION["builder_credit_code"]
    pulled = pull_material(registry, rt.uploads, "construction_permit-03", code, actor="fd")
    assert pulled is not None, "the fake registry holds the planning permit"
    record = pulled.record()
    assert record["source"] == "数据共享" and record["department"] == "聊城市自然资源和规划局"
    stored = rt.uploads.get(pulled.upload.id)
    assert stored.sha256 == record["sha256"] and stored.name.endswith("数据共享）.pdf")
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, PROCESS)
    data = formsource.clean_application(rt, definition, {**CONSTRUCTION_APPLICATION})
    data.update(planning_permit_file=pulled.upload.id,
                shared_materials={"planning_permit_file": record})
    case = rt.cases.start_case(PROCESS, data, FRONT)
    materials = {m["field"]: m for m in formsource.case_materials(rt, case, ADMIN)}
    assert materials["planning_permit_file"]["shared"] is True
    assert materials["planning_permit_file"]["provided"] is True
