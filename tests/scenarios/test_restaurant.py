"""开餐馆一件事 end to end on the frozen clock: one acceptance, five items in parallel (烟草
零售 only when the application says so), one issuance; a refusal that leaves the other
results standing; a 补正 round that pauses the item's clock; the fire-safety 告知承诺 decided
at once and checked on site afterwards (a failed check revokes, records, flags the
applicant's credit, and the counter then refuses them 容缺受理); and 零材料 at the counter."""
from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from engine.cases import eventlog as audit
from engine.cases.eventlog import verify_case
from engine.worktime.clock import SHANGHAI
from engine.acceptance.connectors import data_sharing
from engine.errors import ValidationFailed
from engine.store.models import CaseEvent, CaseRecord
from engine.store.models_loops import SupervisionPush
from engine.cases.dto import Actor
from web import formsource
from demo import RESTAURANT_APPLICATION

PROCESS = "onething_restaurant"
WINDOW, ISSUANCE, FIRE = "综合受理窗口", "统一出件窗口", "消防救援支队"
ADMIN = Actor("admin", frozenset({"admin"}))
FRONT = Actor("frontdesk", frozenset({"frontdesk"}), frozenset({WINDOW}))
ISSUE = Actor("chujian", frozenset({"issuance"}), frozenset({ISSUANCE}))
INSPECTOR = Actor("xfzd", frozenset({"approver"}), frozenset({FIRE}))
ITEMS = ["business_licence_verification", "food_business_permit", "outdoor_signboard",
         "fire_safety_inspection", "tobacco_retail"]
DEPARTMENTS = {"business_licence_verification": "市场监督管理局",
               "food_business_permit": "市场监督管理局", "outdoor_signboard": "城市管理局",
               "fire_safety_inspection": FIRE, "tobacco_retail": "烟草专卖局"}
ACCEPT = {"acceptance_decision": "accept", "materials_complete": True,
          "acceptance_note": "材料齐全，予以受理"}
CREDIT_CODE = "92371502MA3R8K6W14"  # 张记小吃店: clean record in the fake registry

TOBACCO_FIELDS = {"tobacco_nearest_retailer_distance": "120", "tobacco_near_school": "false"}
APPLICATION = RESTAURANT_APPLICATION  # the demo hall's 张记小吃店, kept in one place


def clerk(lane: str) -> Actor:
    return Actor(f"clerk-{lane}", frozenset({"approver"}), frozenset({lane}))


def definition(rt):
    with rt.db.reading() as session:
        return rt.definitions.latest(session, PROCESS)


def start(rt, **changes):
    values = {k: v for k, v in {**APPLICATION, **changes}.items() if v is not None}
    data = formsource.clean_application(rt, definition(rt), values)
    return rt.cases.start_case(PROCESS, data, FRONT)


def accepted(rt, **changes):
    case = start(rt, **changes)
    return rt.cases.complete(case.tasks[0].id, ACCEPT, FRONT)


def specs(case) -> list[str]:
    return sorted(t.task_spec for t in case.tasks)


def task(case, spec: str):
    return next(t for t in case.tasks if t.task_spec == spec)


def review(decision: str, key: str) -> dict:
    data = {f"{key}_decision": decision,
            f"{key}_opinion": {"approve": "符合法定条件，准予许可。",
                               "refuse": "经营场所与住宅楼同一单元，不符合条件，不予许可。",
                               "correct": "请补正：招牌设计效果图须标明尺寸和材质。"}[decision]}
    if key == "fire_safety_inspection":
        data[f"{key}_commitment_confirmed"] = True
    if decision == "approve":
        data[f"{key}_licence_no"] = {"food_business_permit": "JY23715020012345"}.get(
            key, f"LC-{key[:10].upper()}-001")
    return data


def review_all(rt, case, decide=lambda key: "approve"):
    """Each open review decided by a clerk of its own department."""
    for open_task in [t for t in case.tasks if t.task_spec.endswith("_review")]:
        key = open_task.task_spec.removesuffix("_review")
        assert open_task.lane == DEPARTMENTS[key]
        case = rt.cases.complete(open_task.id, review(decide(key), key), clerk(open_task.lane))
    return case


def issue(rt, case):
    return rt.cases.complete(task(case, "issuance").id, {"delivery_method": "window"}, ISSUE)


def data_of(rt, case) -> dict:
    return rt.cases.get_case(case.id, ADMIN, with_data=True).data


def site_check(rt, case, result: str):
    opinion = {"pass": "现场与承诺一致，疏散通道畅通，灭火器配置到位。",
               "fail": "现场安全出口被封堵，未按承诺设置应急照明，承诺不实。"}[result]
    return rt.cases.complete(task(case, "fire_safety_site_check").id,
                             {"fire_safety_site_check_date": "2026-11-27",
                              "fire_safety_site_check_result": result,
                              "fire_safety_site_check_opinion": opinion}, INSPECTOR)


def events(rt, case, kind: str) -> list[CaseEvent]:
    return [e for e in rt.cases.events(case.id, ADMIN) if e.kind == kind]


def audit_ok(rt, case) -> None:
    with rt.db.reading() as session:
        assert verify_case(session, session.get(CaseRecord, case.id)).ok


def clock_of(rt, case, scope):
    with rt.db.reading() as session:
        views = rt.clocks.views(session, case.id)
    return next(v for v in views if v.scope == scope)


# -- happy path, with tobacco ----------------------------------------------------------------

def test_one_acceptance_five_parallel_items_one_issuance_then_the_site_check(deployed):
    rt = deployed
    case = start(rt)
    assert [(t.task_spec, t.lane) for t in case.tasks] == [("front_desk_acceptance", WINDOW)]
    case = rt.cases.complete(case.tasks[0].id, ACCEPT, FRONT)
    assert specs(case) == sorted(f"{key}_review" for key in ITEMS)

    case = review_all(rt, case)
    # The fire-safety decision on the commitment joined the others: issuance does not
    # wait for the site check, which runs beside it in the fire brigade's list.
    assert sorted((t.task_spec, t.lane) for t in case.tasks) == [
        ("fire_safety_site_check", FIRE), ("issuance", ISSUANCE)]
    at_issuance = rt.cases.task_data(task(case, "issuance").id)
    assert (at_issuance["outcome_code"], at_issuance["approved_count"],
            at_issuance["refused_count"], at_issuance["not_applicable_count"]) == ("0", 5, 0, 0)

    case = issue(rt, case)
    assert case.status == "running"
    assert [t.task_spec for t in case.tasks] == ["fire_safety_site_check"]
    # Issuance ended the promised limit; the site check is not counted in it.
    assert clock_of(rt, case, PROCESS).stopped

    case = site_check(rt, case, "pass")
    assert case.status == "completed" and not case.tasks
    final = data_of(rt, case)
    assert {key: final[f"{key}_decision"] for key in ITEMS} == {key: "approve" for key in ITEMS}
    assert final["food_business_permit_licence_no"] == "JY23715020012345"
    assert final["outcome_code"] == "0" and final["fire_safety_site_check_result"] == "pass"
    assert not events(rt, case, audit.RESULT_REVOKED)
    assert rt.credit.active(CREDIT_CODE) is None
    audit_ok(rt, case)


# -- without tobacco -------------------------------------------------------------------------

def test_without_tobacco_the_item_is_skipped_and_its_fields_are_not_asked(deployed):
    rt = deployed
    no_tobacco = {"sells_tobacco": "false", **{k: None for k in TOBACCO_FIELDS}}
    case = accepted(rt, **no_tobacco)
    assert specs(case) == sorted(f"{key}_review" for key in ITEMS if key != "tobacco_retail")
    case = issue(rt, review_all(rt, case))
    case = site_check(rt, case, "pass")
    final = data_of(rt, case)
    assert final["tobacco_retail_decision"] == "not_applicable"
    assert "tobacco_nearest_retailer_distance" not in final
    assert (final["outcome_code"], final["approved_count"], final["not_applicable_count"]) == \
        ("0", 4, 1)
    audit_ok(rt, case)


def test_with_tobacco_its_fields_are_required(deployed):
    missing = {k: None for k in TOBACCO_FIELDS}
    with pytest.raises(ValidationFailed) as refused:
        start(deployed, **missing)
    assert "tobacco_nearest_retailer_distance" in refused.value.fields


# -- refusals --------------------------------------------------------------------------------

def test_one_department_refusing_leaves_the_other_results_standing(deployed):
    rt = deployed
    case = accepted(rt)
    case = review_all(rt, case,
                      lambda key: "refuse" if key == "food_business_permit" else "approve")
    case = site_check(rt, issue(rt, case), "pass")
    final = data_of(rt, case)
    assert final["food_business_permit_decision"] == "refuse"
    assert final["food_business_permit_opinion"].endswith("不予许可。")
    assert "food_business_permit_licence_no" not in final
    assert all(final[f"{key}_decision"] == "approve"
               for key in ITEMS if key != "food_business_permit")
    assert (final["outcome_code"], final["approved_count"], final["refused_count"]) == \
        ("0", 4, 1)


def test_all_refused_ends_with_outcome_1_and_no_site_check(deployed):
    rt = deployed
    case = review_all(rt, accepted(rt), lambda key: "refuse")
    assert [t.task_spec for t in case.tasks] == ["issuance"]  # nothing granted, nothing to check
    case = issue(rt, case)
    assert case.status == "completed"
    final = data_of(rt, case)
    assert (final["outcome_code"], final["approved_count"], final["refused_count"]) == \
        ("1", 0, 5)


# -- 补正 ------------------------------------------------------------------------------------

def test_a_correction_round_pauses_the_items_clock_and_resumes_it(deployed, clock):
    rt = deployed
    case = accepted(rt)
    before = clock_of(rt, case, "item_outdoor_signboard")
    assert before.limit == "15 个工作日" and not before.paused
    case = rt.cases.complete(task(case, "outdoor_signboard_review").id,
                             review("correct", "outdoor_signboard"), clerk("城市管理局"))
    correction = task(case, "outdoor_signboard_correction")
    assert (correction.lane, correction.name) == (WINDOW, "补正材料接收（户外招牌设置）")
    assert clock_of(rt, case, "item_outdoor_signboard").paused
    assert not clock_of(rt, case, "item_food_business_permit").paused

    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI))  # three working days later
    case = rt.cases.complete(correction.id, {"outdoor_signboard_corrected": True,
                                             "outdoor_signboard_correction_note": "已补交效果图"},
                             FRONT)
    after = clock_of(rt, case, "item_outdoor_signboard")
    assert not after.paused and after.due_at > before.due_at
    kinds = [e.kind for e in rt.cases.events(case.id, ADMIN)]
    assert kinds.count(audit.CLOCK_PAUSED) == 1 and kinds.count(audit.CLOCK_RESUMED) == 1

    again = task(case, "outdoor_signboard_review")
    assert again.lane == "城市管理局"
    case = site_check(rt, issue(rt, review_all(rt, case)), "pass")
    final = data_of(rt, case)
    assert final["outdoor_signboard_decision"] == "approve"
    assert final["outdoor_signboard_corrected"] is True
    audit_ok(rt, case)


# -- 告知承诺: the site check ---------------------------------------------------------------

def test_a_failed_site_check_revokes_records_and_flags_the_applicant(deployed, clock):
    rt = deployed
    case = issue(rt, review_all(rt, accepted(rt)))
    clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI))
    case = site_check(rt, case, "fail")
    assert case.status == "completed"
    final = data_of(rt, case)
    assert final["fire_safety_inspection_decision"] == "revoked"
    assert final["fire_safety_inspection_revoked_reason"].endswith("承诺不实。")
    assert final["food_business_permit_decision"] == "approve"  # the others stand

    (revoked,) = events(rt, case, audit.RESULT_REVOKED)
    assert revoked.actor == INSPECTOR.username and revoked.task_spec == "fire_safety_site_check"
    assert '"item":"fire_safety_inspection"' in revoked.payload
    assert "LC-FIRE_SAFET-001" in revoked.payload

    flag = rt.credit.active(CREDIT_CODE)
    assert flag is not None and flag.case_id == case.id
    assert flag.item == "item_fire_safety_inspection" and flag.source == "告知承诺核查不通过"
    assert "承诺不实" in flag.reason and flag.subject_name == "聊城市东昌府区张记小吃店"
    assert [f.id for f in rt.credit.history(case_id=case.id)] == [flag.id]  # flagged once
    # The data-sharing connector the counter asks now answers with the hall's flag.
    sharing = data_sharing(local_flags=rt.credit)
    answer = sharing.credit_flag(CREDIT_CODE.lower())
    assert answer.bad and "承诺不实" in answer.reason
    assert not data_sharing().credit_flag(CREDIT_CODE).bad  # the registry alone does not know
    # The supervisor's copy (审管联动) says so too (and a revoked result is never renewed).
    with rt.db.reading() as session:
        push = session.scalar(select(SupervisionPush).where(
            SupervisionPush.case_id == case.id,
            SupervisionPush.item_key == "item_fire_safety_inspection"))
    assert push.action == "revoke" and "核查不通过" in push.notice
    audit_ok(rt, case)


def test_a_check_failed_before_issuance_is_shown_and_kept_as_revoked(deployed):
    rt = deployed
    case = site_check(rt, review_all(rt, accepted(rt)), "fail")
    assert specs(case) == ["issuance"]  # the others are still issued
    assert rt.credit.active(CREDIT_CODE) is not None
    from engine.hall.results import item_results

    results = item_results(rt, PROCESS, rt.cases.events(case.id, ADMIN), case.tasks)
    fire = next(r for r in results.items if r.key == "fire_safety_inspection")
    assert (fire.state, fire.label) == ("revoked", "已撤销（核查不通过）")
    case = issue(rt, case)
    final = data_of(rt, case)
    assert case.status == "completed"
    # Whichever branch ended last, the case's final data keeps the revocation.
    assert final["fire_safety_inspection_decision"] == "revoked"
    assert final["food_business_permit_decision"] == "approve"
    audit_ok(rt, case)


def test_the_site_check_left_undone_for_20_working_days_is_marked_overdue(deployed, clock):
    rt = deployed
    case = issue(rt, review_all(rt, accepted(rt)))
    clock.set(datetime(2026, 12, 17, 9, 0, tzinfo=SHANGHAI))  # 18 working days on
    rt.timers.run_once()
    assert "fire_safety_site_check_overdue" not in data_of(rt, case)
    clock.set(datetime(2026, 12, 21, 9, 0, tzinfo=SHANGHAI))  # past the 20th working day
    rt.timers.run_once()
    case = rt.cases.get_case(case.id, ADMIN)
    assert [t.task_spec for t in case.tasks] == ["fire_safety_site_check"]  # still to be done
    assert data_of(rt, case)["fire_safety_site_check_overdue"] is True
    assert len(events(rt, case, audit.TIMER_FIRED)) == 1
    case = site_check(rt, case, "pass")
    assert case.status == "completed"


# -- 容缺受理 ---------------------------------------------------------------------------------

OWED = ("food_staff_health_file", "从业人员健康证明", "食品经营许可")


def start_deficient(rt):
    from engine.acceptance.deficiency import MissingMaterial

    data = formsource.clean_application(rt, definition(rt), dict(APPLICATION))
    data.update(rt.deficiencies.plan(PROCESS, [MissingMaterial(*OWED)], signed_by="张兴亮",
                                     witnessed_by=FRONT.username))
    case = rt.cases.start_case(PROCESS, data, FRONT)
    return rt.cases.complete(case.tasks[0].id, {**ACCEPT, "materials_complete": False}, FRONT)


def test_deficiency_supplied_then_issued(deployed):
    rt = deployed
    case = review_all(rt, start_deficient(rt))
    assert sorted(t.task_spec for t in case.tasks) == ["deficiency_supply",
                                                       "fire_safety_site_check"]
    upload = rt.uploads.save(io.BytesIO(PDF), "健康证明.pdf", "frontdesk").id
    case = rt.deficiencies.supply(case.id, OWED[0], upload, FRONT)
    assert specs(case) == ["fire_safety_site_check", "issuance"]
    case = site_check(rt, issue(rt, case), "pass")
    final = data_of(rt, case)
    assert (final["outcome_code"], final["food_staff_health_file"]) == ("0", upload)


def test_deficiency_not_supplied_withdraws_the_case_and_cancels_the_site_check(deployed, clock):
    rt = deployed
    case = review_all(rt, start_deficient(rt))
    clock.advance(days=30)  # long past the deadline (never later than the promised limit)
    assert rt.timers.run_once().fired >= 1
    ended = rt.cases.get_case(case.id, ADMIN, with_data=True)
    assert ended.status == "completed" and not ended.tasks  # nothing issued, nothing to check
    assert ended.data["outcome_code"] == "5" and ended.data["case_withdrawn"] is True
    assert "issuance" not in {e.task_spec for e in rt.cases.events(case.id, ADMIN)}
    audit_ok(rt, case)


# -- the counter: 零材料 and 容缺 refused after a revocation --------------------------------

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def csrf(response) -> str:
    return CSRF.search(response.get_data(as_text=True)).group(1)


@pytest.fixture
def counter(app, deployed):
    deployed.users.create("fd", "fd-pass-2026", roles=["frontdesk"], groups=[WINDOW])
    client = app.test_client()
    token = csrf(client.get("/login"))
    response = client.post("/login", data={"username": "fd", "password": "fd-pass-2026",
                                           "csrf_token": token})
    assert response.status_code == 302
    return client


def own_materials(rt, necessities):
    form = formsource.start_form(rt, definition(rt))
    return [f for f in form.fields
            if f.type == "file" and f.source == "申请人自备" and f.necessity in necessities]


def post_application(client, rt, necessities=("必要", "容缺后补"), **changes):
    page = client.get(f"/counter/{PROCESS}")
    assert page.status_code == 200
    data = {**APPLICATION, **changes, "csrf_token": csrf(page), "action": "accept"}
    if "容缺后补" not in necessities:  # accepted with deficiency: the applicant signs for it
        data.update(deficiency_commitment="signed", deficiency_signer="张兴亮")
    for field in own_materials(rt, necessities):
        data[field.id] = (io.BytesIO(PDF), f"{field.label}.pdf")
    return client.post(f"/counter/{PROCESS}", data=data, content_type="multipart/form-data")


def test_zero_materials_the_business_licence_and_id_card_are_pulled_with_their_source(
        counter, deployed):
    response = post_application(counter, deployed)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    case_id = int(re.search(r"/counter/cases/(\d+)/receipt$", response.headers["Location"])[1])
    started = deployed.cases.events(case_id, ADMIN)[0]
    from engine.cases import canonical

    application = canonical.loads(started.payload)["data"]
    licence = application["shared_materials"]["business_licence_file"]
    assert (licence["name"], licence["source"], licence["department"]) == (
        "营业执照", "数据共享", "聊城市东昌府区市场监督管理局")
    assert (licence["subject"], licence["holder"]) == (CREDIT_CODE, "聊城市东昌府区张记小吃店")
    assert application["business_licence_file"] == licence["upload"]
    stored = deployed.uploads.get(licence["upload"])
    assert stored.content_type == "application/pdf" and "数据共享" in stored.name
    card = application["shared_materials"]["legal_person_id_card_file"]
    assert (card["subject"], card["holder"]) == ("371502198805161233", "张兴亮")
    case = deployed.cases.get_case(case_id, ADMIN)
    assert specs(case) == sorted(f"{key}_review" for key in ITEMS)


def test_after_a_revocation_the_counter_refuses_that_applicant_deficiency_acceptance(
        counter, deployed):
    rt = deployed
    # Before: accepted with the 容缺后补 materials still owed.
    response = post_application(counter, rt, ("必要",))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]

    case = site_check(rt, issue(rt, review_all(rt, accepted(rt))), "fail")
    assert rt.credit.active(CREDIT_CODE) is not None

    response = post_application(counter, rt, ("必要",))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "不适用容缺受理" in text and "承诺不实" in text
    # With everything brought, the same applicant is still accepted (no veto at the window).
    assert post_application(counter, rt).status_code == 302
    audit_ok(rt, case)


# -- the one form ----------------------------------------------------------------------------

def test_the_one_form_asks_each_shared_field_once(deployed):
    report = formsource.application_report(deployed, definition(deployed))
    assert report.total_asked > report.merged > 0 and report.reduction_percent > 40
    merged = formsource.start_form(deployed, definition(deployed))
    assert [f.id for f in merged.fields if f.dict == "credit_code"] == ["operator_credit_code"]
    assert [f.id for f in merged.fields if f.dict == "id_number"] == ["legal_person_id_number"]
    licence = merged.get("business_licence_file")
    assert set(licence.sources) >= {"item_business_licence_verification",
                                    "item_food_business_permit", "item_tobacco_retail"}
