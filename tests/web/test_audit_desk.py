"""The auditor's desk through the login form: who may see it, case search, the history
with readable diffs, step-through replay of a parallel one-thing, the re-execution
button, chain and checkpoint verification with tampered histories, the XES download and
the analytics page's numbers on cases driven with a frozen clock."""
from __future__ import annotations

import io
import re
from datetime import datetime
from xml.etree import ElementTree

import pytest
from sqlalchemy import select, update

from engine.cases import eventlog as audit
from engine.audit import checkpoints
from engine.worktime.clock import SHANGHAI
from engine.store.models import CaseEvent, CaseRecord
from engine.cases.dto import Actor
from web import formsource
from demo import CONSTRUCTION_APPLICATION

ONE_THING = "onething_construction_permit"
FRONT = Actor("frontdesk", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
ISSUE = Actor("chujian", frozenset({"issuance"}), frozenset({"统一出件窗口"}))
ACCEPT = {"acceptance_decision": "accept", "materials_complete": True}
PASSWORD = "secret-2026"
XES = "{http://www.xes-standard.org/}"


def at(day: int, hour: int = 9, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI)


def login(client, username: str):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token.group(1)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def csrf(client, url: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                     client.get(url).get_data(as_text=True)).group(1)


def clerk(lane: str) -> Actor:
    return Actor(f"clerk-{lane}", frozenset({"approver"}), frozenset({lane}))


@pytest.fixture
def hall(deployed):
    users = deployed.users
    users.create("auditor", PASSWORD, display_name="钱审计", roles=["auditor"])
    users.create("boss", PASSWORD, display_name="管理员", roles=["admin"])
    users.create("zjj", PASSWORD, display_name="李审批", roles=["approver"],
                 groups=["住房和城乡建设局"])
    users.create("analyst", PASSWORD, display_name="郑分析", roles=["analyst"])
    return deployed


def start(rt, **changes):
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, ONE_THING)
    data = formsource.clean_application(rt, definition,
                                        {**CONSTRUCTION_APPLICATION, **changes})
    return rt.cases.start_case(ONE_THING, data, FRONT)


def review(rt, case, key: str, decision: str = "approve"):
    task = next(t for t in case.tasks if t.task_spec == f"{key}_review")
    return rt.cases.complete(task.id, {f"{key}_decision": decision,
                                       f"{key}_opinion": "符合条件"}, clerk(task.lane))


def finish(rt, case):
    for task in [t for t in case.tasks if t.task_spec.endswith("_review")]:
        case = review(rt, case, task.task_spec.removesuffix("_review"))
    issuance = next(t for t in case.tasks if t.task_spec == "issuance")
    return rt.cases.complete(issuance.id, {"delivery_method": "window"}, ISSUE)


def html(response) -> str:
    return response.get_data(as_text=True)


def seq_of(rt, case_id: int, kind: str, spec: str | None = None) -> int:
    with rt.db.reading() as session:
        stmt = select(CaseEvent.seq).where(CaseEvent.case_id == case_id, CaseEvent.kind == kind)
        if spec:
            stmt = stmt.where(CaseEvent.task_spec == spec)
        return session.scalar(stmt.order_by(CaseEvent.seq).limit(1))


def marks(page: str, process: str, which: str) -> set[str]:
    box = re.search(rf'<div class="process-marks" data-process="{process}"[^>]*>(.*?)</dl>',
                    page, re.S).group(1)
    dd = re.search(rf'<dd class="marks-{which}">(.*?)</dd>', box, re.S).group(1)
    return set(re.findall(r'data-element="([^"]+)"', dd))


# -- who may look --------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/audit", "/audit/verify", "/audit/analytics"])
def test_auditors_and_admins_see_the_desk_clerks_and_analysts_do_not(client, hall, url):
    assert client.get(url).status_code == 302  # anonymous: to the sign-in page
    for username, status in (("zjj", 403), ("analyst", 403), ("boss", 200), ("auditor", 200)):
        client.get("/logout")
        client.post("/logout", data={"csrf_token": csrf(client, "/login")})
        login(client, username)
        assert client.get(url).status_code == status, username


def test_the_menu_shows_the_desk_to_auditors(client, hall):
    login(client, "auditor")
    assert 'href="/audit"' in html(client.get("/tasks"))


# -- search ------------------------------------------------------------------------------------

def test_search_by_number_applicant_item_date_and_outcome(client, hall, clock):
    rt = hall
    clock.set(at(20))
    school = finish(rt, rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT))
    clock.set(at(24))
    hospital = start(rt, builder_name="聊城市人民医院", builder_credit_code="12371500MB1234567W",
                     project_name="聊城市教育和体育局合作医院门诊楼")
    login(client, "auditor")

    def found(**args) -> set[int]:
        response = client.get("/audit", query_string=args)
        assert response.status_code == 200
        return {int(i) for i in re.findall(r'<tr data-case="(\d+)"', html(response))}

    assert found() == {school.id, hospital.id}
    assert found(number=hospital.number) == {hospital.id}
    assert found(applicant="人民医院") == {hospital.id}
    assert found(applicant="12371500mb1234567w") == {hospital.id}  # credit code, any case
    assert found(applicant="教育和体育局") == {school.id}  # the hospital's *project* says 教育局
    assert found(item="item_fire_design_review") == {school.id, hospital.id}
    assert found(item="item_nonexistent") == set()
    assert found(**{"from": "2026-11-21"}) == {hospital.id}
    assert found(to="2026-11-20") == {school.id}
    assert found(outcome="completed") == {school.id}
    assert found(outcome="running") == {hospital.id}
    assert found(outcome="0") == {school.id}  # 出证办结
    assert found(outcome="1") == set()
    page = html(client.get("/audit", query_string={"applicant": "人民医院"}))
    assert f'href="/audit/cases/{hospital.id}"' in page and "聊城市人民医院" in page

    response = client.get("/audit", query_string={"from": "2026-13-01"})
    assert response.status_code == 422 and "YYYY-MM-DD" in html(response)


# -- history -----------------------------------------------------------------------------------

def test_history_shows_each_event_with_a_readable_diff_and_filters(client, hall, clock):
    rt = hall
    case = start(rt)
    clock.advance(hours=1)
    case = rt.cases.complete(case.tasks[0].id, {**ACCEPT, "acceptance_note": "齐全"}, FRONT)
    case = review(rt, case, "construction_permit")
    login(client, "auditor")
    page = html(client.get(f"/audit/cases/{case.id}"))
    accepted = seq_of(rt, case.id, "task_completed", "front_desk_acceptance")
    row = re.search(rf'<tr id="event-{accepted}".*?</tr>\s*</table>', page, re.S).group(0)
    assert "办理完成" in row and "综合受理" in row and "2026-11-20 10:00:00" in row
    diff = re.search(r'<tr data-field="acceptance_decision">(.*?)</tr>', row, re.S).group(1)
    assert "受理决定" in diff  # the form's label, not only the field id
    assert re.search(r'class="old">—</td>.*class="new">受理（accept）</td>', diff, re.S)
    assert "材料齐全" in row

    only = html(client.get(f"/audit/cases/{case.id}", query_string={"kind": "task_completed"}))
    kinds = set(re.findall(r'data-kind="(\w+)"', only))
    assert kinds == {"task_completed"}
    mine = html(client.get(f"/audit/cases/{case.id}", query_string={"actor": "frontdesk"}))
    assert 'data-kind="case_started"' in mine
    assert "clerk-住房和城乡建设局" not in re.sub(r"<select.*?</select>", "", mine, flags=re.S)
    assert client.get("/audit/cases/999999").status_code == 404


# -- replay ------------------------------------------------------------------------------------

def test_replay_of_a_parallel_case_shows_the_state_as_of_each_event(client, hall):
    rt = hall
    case = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    case = review(rt, case, "construction_permit")
    login(client, "auditor")
    url = f"/audit/cases/{case.id}/replay"

    first = html(client.get(url, query_string={"seq": 1}))
    assert marks(first, ONE_THING, "active") == {"front_desk_acceptance"}
    assert marks(first, "item_construction_permit", "active") == set()

    accepted = seq_of(rt, case.id, "task_completed", "front_desk_acceptance")
    approved = seq_of(rt, case.id, "task_completed", "construction_permit_review")
    early = html(client.get(url, query_string={"seq": accepted + 12}))  # reviews created
    assert "front_desk_acceptance" in marks(early, ONE_THING, "completed")
    calls = marks(early, ONE_THING, "active")
    assert "call_construction_permit" in calls and "call_fire_design_review" in calls
    assert len(calls) == 12  # twelve items in parallel
    assert marks(early, "item_construction_permit", "active") == {"construction_permit_review"}

    late = html(client.get(url, query_string={"seq": approved,
                                              "process": "item_construction_permit"}))
    assert marks(late, "item_construction_permit", "active") == set()
    assert "construction_permit_review" in marks(late, "item_construction_permit", "completed")
    assert "call_construction_permit" not in marks(late, ONE_THING, "active")
    assert "call_fire_design_review" in marks(late, ONE_THING, "active")
    assert re.search(r'<tr data-field="construction_permit_decision"><th>[^<]*</th>'
                     r'<td>[^<]*approve', late)
    assert 'data-field="construction_permit_decision"' not in early  # data as of then

    state = client.get(f"/audit/cases/{case.id}/state.json", query_string={"seq": 1}).get_json()
    top = next(p for p in state["processes"] if p["key"] == ONE_THING)
    assert top["active"] == ["front_desk_acceptance"] and state["seq"] == 1
    assert client.get(f"/audit/cases/{case.id}/state.json",
                      query_string={"seq": 9999}).get_json()["seq"] == approved


def test_reexecute_button_reports_conformant(client, hall):
    rt = hall
    case = review(rt, rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT),
                  "construction_permit")
    login(client, "auditor")
    url = f"/audit/cases/{case.id}/replay"
    response = client.post(f"/audit/cases/{case.id}/reexecute",
                           data={"csrf_token": csrf(client, url), "seq": 3})
    page = html(response)
    assert response.status_code == 200
    assert 'class="card conformance ok"' in page and "一致" in page


def test_reexecute_reports_the_first_deviation_of_an_edited_input(client, hall):
    rt = hall
    case = review(rt, rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT),
                  "construction_permit", "refuse")
    with rt.db.transaction() as session:  # an insider rewrites a recorded decision
        event = session.scalar(select(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.task_spec == "front_desk_acceptance",
            CaseEvent.kind == "task_completed"))
        event.payload = event.payload.replace('"accept"', '"notify"')
    login(client, "auditor")
    page = html(client.post(f"/audit/cases/{case.id}/reexecute",
                            data={"csrf_token": csrf(client, f"/audit/cases/{case.id}/replay")}))
    assert 'class="card conformance bad"' in page and "第一个偏差" in page


# -- verification ------------------------------------------------------------------------------

def test_verify_page_flags_the_tampered_case_only(client, hall):
    rt = hall
    good = start(rt)
    bad = start(rt)
    with rt.db.transaction() as session:
        session.execute(update(CaseEvent).where(CaseEvent.case_id == bad.id, CaseEvent.seq == 1)
                        .values(actor="someone-else"))
    login(client, "auditor")
    page = html(client.get("/audit/verify", query_string={"run": 1}))
    assert "1 / 2 个办件的哈希链断开" in page
    row = lambda case_id: re.search(rf'<tr data-case="{case_id}" class="(\w+)"', page).group(1)
    assert (row(good.id), row(bad.id)) == ("ok", "bad")
    assert "内容被修改" in page
    only = html(client.get("/audit/verify", query_string={"run": 1, "number": good.number}))
    assert "1 个办件的哈希链全部完好" in only


def _recompute_chain(session, case_id: int) -> None:
    """What a careful forger does: fix every hash and the head on the case row."""
    prev = None
    events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                  .order_by(CaseEvent.seq)))
    for event in events:
        event.prev_hash = prev
        event.hash = audit.event_hash(
            case_id=event.case_id, seq=event.seq, kind=event.kind, actor=event.actor,
            at=event.at, task_id=event.task_id, task_spec=event.task_spec,
            definition_hash=event.definition_hash, payload=event.payload, prev_hash=prev)
        prev = event.hash
    session.execute(update(CaseRecord).where(CaseRecord.id == case_id)
                    .values(head_hash=prev, event_count=len(events),
                            version=CaseRecord.version + 1))


def test_a_recomputed_rewrite_passes_the_chain_but_not_the_signed_checkpoint(client, hall,
                                                                            clock):
    rt = hall
    honest = start(rt)
    forged = start(rt)
    key = checkpoints.load_or_create_key(checkpoints.default_key_path(rt.instance))
    with rt.db.transaction() as session:
        document = checkpoints.create(session, key, clock.now(), actor="auditor").to_json()
    with rt.db.transaction() as session:
        event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == forged.id,
                                                       CaseEvent.seq == 1))
        event.payload = event.payload.replace("聊城市东昌府区教育和体育局", "某某公司")
        session.flush()
        _recompute_chain(session, forged.id)

    login(client, "auditor")
    assert "2 个办件的哈希链全部完好" in html(client.get("/audit/verify",
                                                       query_string={"run": 1}))
    token = csrf(client, "/audit/verify")
    response = client.post("/audit/verify/checkpoint", data={
        "csrf_token": token, "checkpoint": (io.BytesIO(document.encode()), "cp.json")},
        content_type="multipart/form-data")
    page = html(response)
    assert response.status_code == 200
    assert "与检查点不一致" in page
    broken = re.findall(r'<tr data-case="(\d+)" data-status="(\w+)"', page)
    assert broken == [(str(forged.id), "head_mismatch")]
    assert str(honest.id) not in {c for c, _ in broken}

    stored = html(client.get("/audit/verify"))
    checkpoint_id = re.search(r'<option value="(\d+)">', stored).group(1)
    again = html(client.post("/audit/verify/checkpoint",
                             data={"csrf_token": token, "checkpoint_id": checkpoint_id}))
    assert "与检查点不一致" in again

    junk = client.post("/audit/verify/checkpoint", data={
        "csrf_token": token, "checkpoint": (io.BytesIO(b"not json"), "cp.json")},
        content_type="multipart/form-data")
    assert junk.status_code == 422 and 'class="flash error"' in html(junk)
    nothing = client.post("/audit/verify/checkpoint", data={"csrf_token": token})
    assert nothing.status_code == 422 and "请上传检查点文件" in html(nothing)


# -- XES ---------------------------------------------------------------------------------------

def test_xes_download_of_the_filtered_cases_is_well_formed(client, hall, clock):
    rt = hall
    clock.set(at(20))
    school = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    clock.set(at(24))
    start(rt, builder_name="聊城市人民医院", builder_credit_code="12371500MB1234567W")
    login(client, "auditor")
    response = client.get("/audit/export.xes", query_string={"to": "2026-11-20"})
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Content-Disposition"].endswith('.xes"')
    root = ElementTree.fromstring(response.get_data())
    traces = root.findall(f"{XES}trace") or root.findall("trace")
    assert len(traces) == 1
    names = {s.get("value") for s in traces[0] if s.get("key") == "concept:name"}
    assert names == {school.number}
    events = traces[0].findall(f"{XES}event") or traces[0].findall("event")
    with rt.db.reading() as session:
        count = session.get(CaseRecord, school.id).event_count
    assert len(events) == count
    everything = ElementTree.fromstring(client.get("/audit/export.xes").get_data())
    assert len(everything.findall(f"{XES}trace") or everything.findall("trace")) == 2


# -- analytics ---------------------------------------------------------------------------------

def test_analytics_page_shows_rates_charts_and_the_before_after_gain(client, hall, clock):
    rt = hall
    clock.set(at(23))  # Monday
    quick = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    clock.set(at(25))  # two working days
    finish(rt, quick)
    clock.set(at(7, month=12))
    slow = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    clock.set(at(8, month=12))  # one working day
    finish(rt, slow)
    clock.set(at(9, month=12))
    late = rt.cases.complete(start(rt).tasks[0].id, ACCEPT, FRONT)
    clock.set(at(17, month=12))  # past every promise; still running
    assert late.status == "running"

    login(client, "auditor")
    page = html(client.get("/audit/analytics", query_string={
        "process": ONE_THING, "from": "2026-12-01"}))
    row = re.search(r'<tr data-scope="item_construction_permit">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'class="overdue-rate">50\.0%', row)  # one of the two December cases
    assert "3 个工作日" in row
    assert page.count("<svg") >= 3 and "平均办理时长（工作日）与承诺时限" in page
    assert 'id="heat-data"' in page and '"front_desk_acceptance"' in page

    compared = html(client.get("/audit/analytics", query_string={
        "process": ONE_THING, "before_from": "2026-11-23", "before_to": "2026-11-29",
        "after_from": "2026-12-07", "after_to": "2026-12-08"}))
    headline = re.search(r'<p class="headline" id="improvement">(.*?)</p>', compared, re.S)
    assert "审批效率提升 50.0%" in headline.group(1)
    assert "2.00" in headline.group(1) and "1.00" in headline.group(1)
    assert 'class="chart paired"' in compared

    bad = client.get("/audit/analytics", query_string={"from": "2026-12-09", "to": "2026-12-01"})
    assert bad.status_code == 422 and "结束日期不能早于开始日期" in html(bad)
    xml = client.get("/audit/analytics/diagram.xml", query_string={"process": ONE_THING})
    assert xml.status_code == 200 and b"front_desk_acceptance" in xml.get_data()
    assert client.get("/audit/analytics/diagram.xml",
                      query_string={"process": "nope"}).status_code == 404
