"""`onething demo` walks a new user into a living hall: cases in every state a hall sees,
acted on by the departments' own demo clerks, with the clock bands to match."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.store.models import CaseRecord, HumanTask, Notification
from demo import DEMO_USERS, seed
from demo.stories import working_days_before


def _cases(rt):
    """Each demo case by the title of the story that made it."""
    from demo.stories import STORIES

    seeded = {}
    with rt.db.reading() as session:
        cases = session.scalars(select(CaseRecord).order_by(CaseRecord.id)).all()
        for story, case in zip(sorted(STORIES, key=lambda s: -s.working_days_ago), cases):
            summary = rt.clocks.summary(session, case)
            rows = session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all()
            seeded[story.title] = (case, summary,
                                   sorted(t.task_spec for t in rows if t.state == "open"),
                                   {t.completed_by for t in rows})
    return seeded


def test_demo_seeds_every_state_a_hall_sees(deployed, clock):
    users = seed(deployed)
    assert {u["username"] for u in users} == {u[0] for u in DEMO_USERS}
    cases = _cases(deployed)

    assert cases["刚收件，待综合受理"][2] == ["front_desk_acceptance"]
    accepted = cases["今日受理，十二个部门并联审批"]
    assert len([t for t in accepted[2] if t.endswith("_review")]) >= 11
    assert cases["材料不齐，已一次性告知"][2] == ["supplement_materials"]
    assert "drainage_permit_correction" in cases["排水许可要求补正，计时暂停"][2]
    assert cases["部分部门未办结，临近承诺时限（预警）"][1]["state"] == "warning"
    assert cases["超过承诺时限（逾期）"][1]["state"] == "overdue"
    assert cases["各部门均已办结，待统一出件"][2] == ["issuance"]
    finished = cases["已出证办结，邮寄送达"]
    assert finished[0].status == "completed"
    # Each step was taken by the clerk of its own department, not by an administrator.
    assert {"zjj", "rfb", "cgj", "hbj", "slj", "chujian"} <= finished[3]

    restaurant = cases["开餐馆：已出证，消防告知承诺现场核查待办"]
    assert restaurant[0].title == "开餐馆一件事：聊城市东昌府区张记小吃店"
    assert restaurant[2] == ["fire_safety_site_check"]
    assert cases["开餐馆：不兼营烟草，现场核查通过，已办结"][0].status == "completed"
    assert len(cases["开餐馆：刚受理，五个部门并联审批"][2]) == 5
    assert clock.now().isoformat() == "2026-11-20T09:00:00+08:00"  # the clock came home

    with deployed.db.reading() as session:
        notices = session.scalar(select(func.count()).select_from(Notification))
    assert notices > 0  # 预警 / 逾期 reached the departments' leads


def test_demo_is_seeded_once(deployed):
    seed(deployed)
    with deployed.db.reading() as session:
        before = session.scalar(select(func.count()).select_from(CaseRecord))
    again = seed(deployed)
    with deployed.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(CaseRecord)) == before
    assert all(u["token"] for u in again)  # tokens renewed for the second run


def test_working_days_before_skips_weekends_and_holidays():
    from datetime import datetime

    from engine.worktime.clock import SHANGHAI

    monday = datetime(2026, 11, 23, 15, 0, tzinfo=SHANGHAI)
    assert working_days_before(monday, 1).date().isoformat() == "2026-11-20"
    assert working_days_before(monday, 0).date().isoformat() == "2026-11-23"
    # 2026 National Day: 10-01..10-07 off; 10-09 (Fri) is a working day, 10-10 (Sat) 调休 works.
    assert working_days_before(datetime(2026, 10, 12, tzinfo=SHANGHAI), 1).date().isoformat() \
        == "2026-10-10"


def test_demo_cases_are_filed_at_the_front_desk_with_its_decision(deployed):
    """Accepted and notified stories went through the front-desk service: the clerk's
    decision is the case's first completed step, taken by the front-desk clerk, and the
    one-time notice says what the clerk wrote."""
    from engine.cases.dto import SYSTEM

    seed(deployed)
    cases = _cases(deployed)
    notified = cases["材料不齐，已一次性告知"][0]
    accepted = cases["今日受理，十二个部门并联审批"][0]
    waiting = cases["刚收件，待综合受理"][0]
    for case, decision in ((accepted, "accept"), (notified, "notify")):
        events = deployed.cases.events(case.id, SYSTEM)
        [done] = [e for e in events if e.task_spec == "front_desk_acceptance"
                  and e.kind == "task_completed"]
        assert done.actor == "frontdesk"
        view = deployed.cases.get_case(case.id, SYSTEM, with_data=True)
        assert view.data["acceptance_decision"] == decision
    assert "施工合同（缺盖章页）" in view.data["missing_materials"]
    assert not [e for e in deployed.cases.events(waiting.id, SYSTEM)
                if e.task_spec == "front_desk_acceptance" and e.kind == "task_completed"]
