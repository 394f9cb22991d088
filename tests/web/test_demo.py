"""`onething demo` walks a new user into a living hall: cases in every state a hall sees,
acted on by the departments' own demo clerks, with the clock bands to match."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.store.models import CaseRecord, HumanTask, Notification
from web.demo import DEMO_USERS, seed
from web.demo_cases import working_days_before


def _cases(rt):
    with rt.db.reading() as session:
        out = {}
        for case in session.scalars(select(CaseRecord)):
            summary = rt.clocks.summary(session, case)
            tasks = session.scalars(select(HumanTask).where(
                HumanTask.case_id == case.id, HumanTask.state == "open")).all()
            out[case.title.split("：", 1)[1]] = (case, summary, [t.task_spec for t in tasks],
                                                 {t.completed_by for t in session.scalars(
                                                     select(HumanTask).where(
                                                         HumanTask.case_id == case.id))})
        return out


def test_demo_seeds_every_state_a_hall_sees(deployed, clock):
    users = seed(deployed)
    assert {u["username"] for u in users} == {u[0] for u in DEMO_USERS}
    cases = _cases(deployed)

    received = cases["聊城市东昌府区实验小学教学楼"]
    assert received[2] == ["front_desk_acceptance"]
    accepted = cases["茌平区信发街道社区服务中心"]
    assert len([t for t in accepted[2] if t.endswith("_review")]) == 12
    notified = cases["聊城市第二人民医院门诊楼改扩建"]
    assert notified[2] == ["supplement_materials"]
    correction = cases["东阿县阿胶产业园研发中心"]
    assert "drainage_permit_correction" in correction[2]
    assert cases["冠县新华路小学综合楼"][1]["state"] == "warning"
    assert cases["临清市运河文化街区改造一期"][1]["state"] == "overdue"
    assert cases["聊城高新区智能制造产业园一期"][2] == ["issuance"]
    finished = cases["阳谷县景阳冈文旅小镇游客中心"][0]
    assert finished.status == "completed"
    # Each step was taken by the clerk of its own department, not by an administrator.
    assert {"zjj", "rfb", "cgj", "hbj", "slj", "chujian"} <= cases["阳谷县景阳冈文旅小镇游客中心"][3]
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

    from engine.clock import SHANGHAI

    monday = datetime(2026, 11, 23, 15, 0, tzinfo=SHANGHAI)
    assert working_days_before(monday, 1).date().isoformat() == "2026-11-20"
    assert working_days_before(monday, 0).date().isoformat() == "2026-11-23"
    # 2026 National Day: 10-01..10-07 off; 10-09 (Fri) is a working day, 10-10 (Sat) 调休 works.
    assert working_days_before(datetime(2026, 10, 12, tzinfo=SHANGHAI), 1).date().isoformat() \
        == "2026-10-10"
