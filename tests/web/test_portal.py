"""The applicant portal through its pages: look-up by case number and the last four
characters of a phone or ID number, the same answer for a wrong combination and an unknown
case, rate limits, one case per look-up, 补正 sent online and seen by the front desk, rating."""
from __future__ import annotations

import io
import re

import pytest

from engine.loops.portal import PortalSettings
from engine.store.models_loops import ApplicantSubmission
from engine.cases.dto import Actor
from tests.scenarios.test_construction_permit import review, start, task

CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
FRONT = Actor("fd", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
ACCEPT = {"acceptance_decision": "accept", "materials_complete": True}
MOBILE_DIGITS, ID_DIGITS = "1234", "002x"  # 13806351234, 11010519491231002X


def csrf(client) -> str:
    return CSRF.search(client.get("/portal").get_data(as_text=True)).group(1)


def look_up(client, number: str, digits: str):
    return client.post("/portal/lookup", data={"number": number, "digits": digits,
                                               "csrf_token": csrf(client)})


def page(client) -> str:
    return client.get("/portal/case").get_data(as_text=True)


@pytest.fixture
def rt(deployed):
    return deployed


def test_lookup_by_mobile_or_id_digits_shows_progress(rt, client):
    case = start(rt)
    response = look_up(client, case.number, MOBILE_DIGITS)
    assert response.status_code == 302 and response.location.endswith("/portal/case")
    text = page(client)
    assert case.number in text
    assert re.search(r'<li class="step-done"\s*>收件</li>', text)
    assert re.search(r'<li class="step-current" aria-current="step">受理</li>', text)
    client.post("/portal/leave", data={"csrf_token": csrf(client)})
    assert client.get("/portal/case").status_code == 302
    assert look_up(client, case.number, ID_DIGITS).status_code == 302  # ID ends with X


def test_wrong_digits_and_unknown_case_get_the_same_answer(rt, client):
    case = start(rt)
    wrong = look_up(client, case.number, "9999")
    unknown = look_up(client, "371500-20261120-99999", MOBILE_DIGITS)
    assert wrong.status_code == unknown.status_code == 422
    message = "办件编号或验证信息不正确，请核对后重试"
    for response in (wrong, unknown):
        text = response.get_data(as_text=True)
        assert message in text and "step-current" not in text
    assert client.get("/portal/case").status_code == 302  # no access granted


def test_lookups_are_limited_per_case_number_and_per_client(rt, client, app):
    rt.portal.settings = PortalSettings(window_minutes=15, per_client=6, per_case=3)
    case = start(rt)
    for _ in range(3):
        assert look_up(client, case.number, "0000").status_code == 422
    limited = look_up(client, case.number, MOBILE_DIGITS)  # even the right digits now
    assert limited.status_code == 429
    assert "查询过于频繁，请 15 分钟后再试" in limited.get_data(as_text=True)
    other = app.test_client()
    for serial in range(3):  # same client address, other numbers: 6 attempts in all
        assert look_up(other, f"371500-20261120-0{serial}999", "0000").status_code == 422
    assert look_up(other, "371500-20261120-07999", "0000").status_code == 429
    rt.clock.advance(minutes=16)
    assert look_up(client, case.number, MOBILE_DIGITS).status_code == 302


def test_a_lookup_grants_one_case_only(rt, client):
    mine, theirs = start(rt), start(rt)
    theirs = rt.cases.complete(theirs.tasks[0].id, ACCEPT, FRONT)
    theirs = rt.cases.complete(task(theirs, "night_construction_review").id,
                               review("correct", "night_construction"),
                               Actor("hbj", frozenset({"approver"}), frozenset({"生态环境局"})))
    correction = task(theirs, "night_construction_correction")
    look_up(client, mine.number, MOBILE_DIGITS)
    text = page(client)
    assert mine.number in text and theirs.number not in text
    response = client.post("/portal/submit", data={
        "csrf_token": csrf(client), "task_id": correction.id, "note": "不是我的办件",
        "files": (io.BytesIO(PDF), "x.pdf")}, content_type="multipart/form-data",
        follow_redirects=True)
    assert "补正事项不存在" in response.get_data(as_text=True)
    with rt.db.reading() as session:
        assert session.query(ApplicantSubmission).count() == 0


def test_correction_sent_online_reaches_the_front_desk_task_page(rt, client, app):
    case = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    case = rt.cases.complete(task(case, "night_construction_review").id,
                             review("correct", "night_construction"),
                             Actor("hbj", frozenset({"approver"}), frozenset({"生态环境局"})))
    correction = task(case, "night_construction_correction")
    look_up(client, case.number, MOBILE_DIGITS)
    text = page(client)
    assert "请补正：施工图审查合格书原件。" in text and "补正中" in text
    response = client.post("/portal/submit", data={
        "csrf_token": csrf(client), "task_id": correction.id, "note": "已补施工图审查合格书",
        "files": (io.BytesIO(PDF), "合格书.pdf")}, content_type="multipart/form-data",
        follow_redirects=True)
    assert "补正材料已提交" in response.get_data(as_text=True)
    assert "合格书.pdf" in page(client)
    rt.users.create("fd", "fd-pass-2026", roles=["frontdesk"], groups=["综合受理窗口"])
    clerk = app.test_client()
    token = CSRF.search(clerk.get("/login").get_data(as_text=True)).group(1)
    clerk.post("/login", data={"username": "fd", "password": "fd-pass-2026",
                               "csrf_token": token})
    desk = clerk.get(f"/tasks/{correction.id}").get_data(as_text=True)
    assert "申请人网上提交的补正材料" in desk and "已补施工图审查合格书" in desk
    assert "合格书.pdf" in desk
    events = [e.kind for e in rt.cases.events(case.id, Actor("a", frozenset({"admin"})))]
    assert "applicant_submitted" in events


def test_a_bad_file_or_empty_submission_is_refused_with_a_message(rt, client):
    case = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    case = rt.cases.complete(task(case, "night_construction_review").id,
                             review("correct", "night_construction"),
                             Actor("hbj", frozenset({"approver"}), frozenset({"生态环境局"})))
    correction = task(case, "night_construction_correction")
    look_up(client, case.number, MOBILE_DIGITS)
    empty = client.post("/portal/submit", data={"csrf_token": csrf(client),
                                                "task_id": correction.id},
                        follow_redirects=True)
    assert "请上传补正材料或填写说明" in empty.get_data(as_text=True)
    exe = client.post("/portal/submit", data={
        "csrf_token": csrf(client), "task_id": correction.id,
        "files": (io.BytesIO(b"MZ\x90\x00"), "virus.pdf")},
        content_type="multipart/form-data", follow_redirects=True)
    assert exe.status_code == 200 and "文件类型不允许" in exe.get_data(as_text=True)


def test_rating_from_the_portal(rt, client):
    case = start(rt)
    look_up(client, case.number, MOBILE_DIGITS)
    text = page(client)
    assert text.count('class="portal-rate"') == 13  # the case and its twelve items
    response = client.post("/portal/rate", data={"csrf_token": csrf(client), "scope": "case",
                                                 "score": "5", "comment": "窗口服务热情"},
                           follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "感谢您的评价" in text and "非常满意" in text and "窗口服务热情" in text
    bad = client.post("/portal/rate", data={"csrf_token": csrf(client), "score": "1",
                                            "scope": "item_night_construction"},
                      follow_redirects=True)
    assert "差评请写明不满意的原因" in bad.get_data(as_text=True)
    bad = client.post("/portal/rate", data={"csrf_token": csrf(client), "score": "1",
                                            "scope": "item_night_construction",
                                            "comment": "审批太慢"}, follow_redirects=True)
    assert "正在回访核实和整改中" in bad.get_data(as_text=True)
    current = rt.ratings.current(case.id)
    assert current["case"].score == 5 and current["item_night_construction"].review_case_id
    nonsense = client.post("/portal/rate", data={"csrf_token": csrf(client), "score": "9",
                                                 "scope": "case"}, follow_redirects=True)
    assert "请选择评价等级" in nonsense.get_data(as_text=True)


def test_statistics_page_for_leads_shows_good_rate_chart_and_ledger(rt, app):
    from tests.scenarios.test_bad_rating import verify

    case = start(rt)
    rt.ratings.rate(case.id, "case", 5)
    rt.ratings.rate(case.id, "item_construction_permit", 4)
    bad = rt.ratings.rate(case.id, "item_night_construction", 1, "夜间施工审批拖延")
    review_case = rt.cases.get_case(bad.review_case_id, Actor("a", frozenset({"admin"})))
    verify(rt, review_case, "ledger", clerk=Actor("hbj", frozenset({"approver"}),
                                                  frozenset({"生态环境局"})))
    rt.users.create("boss", "boss-pass-2026", roles=["lead"], groups=["生态环境局"])
    rt.users.create("clerk", "clerk-pass-2026", roles=["approver"], groups=["生态环境局"])
    client = app.test_client()
    for username, password, status in (("clerk", "clerk-pass-2026", 403),
                                       ("boss", "boss-pass-2026", 200)):
        token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
        client.post("/login", data={"username": username, "password": password,
                                    "csrf_token": token})
        assert client.get("/ratings").status_code == status
        if status == 403:
            client.post("/logout", data={"csrf_token": token})
    text = client.get("/ratings?by=department").get_data(as_text=True)
    assert "<svg" in text and "生态环境局" in text and "0.0%" in text and "100.0%" in text
    assert "夜间施工审批拖延" in text and "2026-12-11" in text and "整改中" in text
    month = client.get("/ratings?by=month").get_data(as_text=True)
    assert "2026-11" in month and "66.7%" in month


def test_deficient_materials_supplied_online_through_the_deficiency_service(rt, client):
    from tests.scenarios.test_deficiency import MISSING, start_deficient

    case = start_deficient(rt)
    look_up(client, case.number, MOBILE_DIGITS)
    text = page(client)
    assert "监理合同" in text and "消纳场地协议" in text and "2026-11-27" in text
    response = client.post("/portal/supply", data={
        "csrf_token": csrf(client), "field": MISSING[0].field,
        "file": (io.BytesIO(PDF), "监理合同.pdf")}, content_type="multipart/form-data",
        follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "材料已提交" in text and "监理合同" not in text.split('id="materials"')[1]
    left = rt.deficiencies.outstanding(case.id, Actor("a", frozenset({"admin"})))
    assert [d.field for d in left] == [MISSING[1].field]
    supplied = rt.cases.get_case(case.id, Actor("a", frozenset({"admin"})), with_data=True)
    record = next(d for d in supplied.data["deficiency"] if d["field"] == MISSING[0].field)
    assert (record["source"], record["supplied_by"]) == ("网上提交", "portal")
    again = client.post("/portal/supply", data={
        "csrf_token": csrf(client), "field": MISSING[0].field,
        "file": (io.BytesIO(PDF), "again.pdf")}, content_type="multipart/form-data",
        follow_redirects=True)
    assert "不在容缺后补清单中" in again.get_data(as_text=True) or \
        "已于" in again.get_data(as_text=True)


def test_the_portal_speaks_english_too(runtime, tmp_path):
    from babel.messages.mofile import write_mo

    from tests.web.test_i18n import catalog
    from web import create_app

    target = tmp_path / "translations" / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as f:
        write_mo(f, catalog())
    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "BABEL_TRANSLATION_DIRECTORIES": str(tmp_path / "translations")},
                     runtime=runtime)
    client = app.test_client()
    client.get("/lang/en")
    text = client.get("/portal").get_data(as_text=True)
    assert "Case look-up" in text and "Last 4 characters of mobile or ID number" in text
    body = re.sub(r"<[^>]+>", " ", text.split("<main", 1)[1])
    assert not re.search(r"[\u4e00-\u9fff]", body.replace("中文", ""))
    wrong = client.post("/portal/lookup", data={"number": "x", "digits": "0000",
                                                "csrf_token": CSRF.search(text).group(1)})
    assert "The case number or the verification digits are not correct" in \
        wrong.get_data(as_text=True)


def test_the_rated_departments_clerk_handles_the_bad_rating_on_the_task_page(rt, app):
    case = start(rt)
    bad = rt.ratings.rate(case.id, "item_night_construction", 2, "现场踏勘约了三次都没来")
    rt.users.create("hbj", "hbj-pass-2026", roles=["approver"], groups=["生态环境局"])
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "hbj", "password": "hbj-pass-2026",
                                "csrf_token": token})
    listing = client.get("/tasks?tab=group").get_data(as_text=True)
    callback = rt.tasks.visible(Actor("hbj", frozenset({"approver"}), frozenset({"生态环境局"})),
                                departments=True)[0]
    assert callback.task_spec == "callback_verify" and callback.id in listing
    text = client.get(f"/tasks/{callback.id}").get_data(as_text=True)
    assert "现场踏勘约了三次都没来" in text and "2 不满意" in text
    token = CSRF.search(text).group(1)
    client.post(f"/tasks/{callback.id}/claim", data={"csrf_token": token})
    response = client.post(f"/tasks/{callback.id}", data={
        "csrf_token": token, "callback_note": "已电话回访，情况属实",
        "handling": "ledger", "handling_note": "调整踏勘排班，三日内完成"})
    assert response.status_code == 302
    rating = rt.ratings.get(bad.id)
    assert rating.handling == "ledger" and rating.rectification_due is not None
    assert rating.comment == "现场踏勘约了三次都没来"  # the readonly fields changed nothing
