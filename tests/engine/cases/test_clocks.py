"""Case clocks on the construction permit: started at acceptance, paused by 补正 and
special procedures, extended by a lead, the five-day rule, escalation to 预警/逾期."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine.worktime.clock import SHANGHAI
from engine.cases.clocks import parse_schedule
from engine.errors import NotAllowed, ValidationFailed
from engine.store.models import CaseRecord, HumanTask
from engine.cases.dto import Actor
from web import formsource
from demo import CONSTRUCTION_APPLICATION

ADMIN = Actor("admin", frozenset({"admin"}))
FRONT = Actor("frontdesk", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
FIRE = Actor("zjj", frozenset({"approver"}), frozenset({"住房和城乡建设局"}))
LEAD = Actor("zjj_lead", frozenset({"approver", "lead"}), frozenset({"住房和城乡建设局"}))
ACCEPT = {"acceptance_decision": "accept", "materials_complete": True}


def start(rt):
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, "onething_construction_permit")
    data = formsource.clean_application(rt, definition, dict(CONSTRUCTION_APPLICATION))
    return rt.cases.start_case(definition.key, data, FRONT)


def clock_of(rt, case_id, scope=None):
    with rt.db.reading() as session:
        summary = rt.clocks.summary(session, session.get(CaseRecord, case_id))
    if scope is None:
        return summary
    return next(c for c in summary["items"] if c["scope"] == scope)


def at(y, m, d, hh=9):
    return datetime(y, m, d, hh, 0, tzinfo=SHANGHAI)


@pytest.fixture
def hall(deployed, clock):
    clock.set(at(2026, 9, 25))  # Friday before National Day
    return deployed


def test_clocks_start_at_acceptance_and_tasks_carry_their_items_deadline(hall):
    case = start(hall)
    assert clock_of(hall, case.id)["stage"] == "receipt"
    case = hall.cases.complete(case.tasks[0].id, ACCEPT, FRONT)
    summary = clock_of(hall, case.id)
    assert summary["stage"] == "accepted" and len(summary["items"]) == 12
    permit = clock_of(hall, case.id, "item_construction_permit")
    assert permit["limit"] == "3 个工作日" and permit["due_at"].startswith("2026-09-30")
    with hall.db.reading() as session:
        task = session.scalar(select(HumanTask).where(
            HumanTask.task_spec == "construction_permit_review"))
        assert task.due_at.astimezone(SHANGHAI).date().isoformat() == "2026-09-30"


def test_correction_pauses_the_items_clock_until_the_applicant_supplements(hall, clock):
    case = hall.cases.complete(start(hall).tasks[0].id, ACCEPT, FRONT)
    before = clock_of(hall, case.id, "item_fire_design_review")["due_at"]
    review = next(t for t in case.tasks if t.task_spec == "fire_design_review_review")
    case = hall.cases.complete(review.id, {"fire_design_review_decision": "correct",
                                           "fire_design_review_opinion": "补充消防设计图纸"}, FIRE)
    assert clock_of(hall, case.id, "item_fire_design_review")["paused"]
    clock.set(at(2026, 10, 13))  # 30 Sep, 8, 9, 10 (调休), 12, 13 Oct: five working days paused
    correction = next(t for t in case.tasks if t.task_spec == "fire_design_review_correction")
    case = hall.cases.complete(correction.id, {"fire_design_review_corrected": True}, FRONT)
    after = clock_of(hall, case.id, "item_fire_design_review")
    assert not after["paused"] and after["due_at"] > before
    other = clock_of(hall, case.id, "item_drainage_permit")
    assert not other["paused"]
    kinds = [e.kind for e in hall.cases.events(case.id, ADMIN)]
    assert kinds.count("clock_paused") == 1 and kinds.count("clock_resumed") == 1


def test_special_procedure_pauses_and_a_lead_extends(hall, clock):
    case = hall.cases.complete(start(hall).tasks[0].id, ACCEPT, FRONT)
    review = next(t for t in case.tasks if t.task_spec == "construction_permit_review")
    due = clock_of(hall, case.id, "item_construction_permit")["due_at"]
    with pytest.raises(NotAllowed):
        hall.cases.extend_clock(review.id, 10, "需专家论证", FIRE)
    with pytest.raises(ValidationFailed):
        hall.cases.extend_clock(review.id, 10, "  ", LEAD)
    hall.cases.extend_clock(review.id, 10, "需专家论证", LEAD)
    extended = clock_of(hall, case.id, "item_construction_permit")
    assert extended["limit"] == "13 个工作日" and extended["due_at"] > due
    hall.cases.special_procedure(review.id, "专家评审", FIRE)
    assert clock_of(hall, case.id, "item_construction_permit")["paused"]
    clock.set(at(2026, 10, 9))
    hall.cases.special_procedure(review.id, None, FIRE)
    resumed = clock_of(hall, case.id, "item_construction_permit")
    assert not resumed["paused"] and resumed["due_at"] > extended["due_at"]
    with pytest.raises(ValidationFailed):
        hall.cases.special_procedure(review.id, "喝茶", FIRE)


def test_without_a_notice_in_five_working_days_the_case_counts_from_receipt(hall, clock):
    case = start(hall)  # received Fri 25 Sep
    clock.set(at(2026, 10, 16))  # accepted eight working days later, no notice given
    case = hall.cases.complete(case.tasks[0].id, ACCEPT, FRONT)
    permit = clock_of(hall, case.id, "item_construction_permit")
    assert permit["started_at"].startswith("2026-09-25")
    assert permit["state"] == "overdue"


def test_after_a_timely_notice_the_clock_starts_at_acceptance(hall, clock):
    case = start(hall)
    case = hall.cases.complete(case.tasks[0].id, {"acceptance_decision": "notify",
                                                  "missing_materials": "施工合同"}, FRONT)
    case = hall.cases.complete(case.tasks[0].id, {"supplemented": True}, FRONT)
    clock.set(at(2026, 10, 16))
    case = hall.cases.complete(case.tasks[0].id, ACCEPT, FRONT)
    permit = clock_of(hall, case.id, "item_construction_permit")
    assert permit["started_at"].startswith("2026-10-16") and permit["state"] == "normal"


def test_warning_and_overdue_notify_the_assignee_and_the_lead_once(hall, clock):
    hall.users.create("zjj_lead", "x-password-1", roles=["approver", "lead"],
                      groups=["住房和城乡建设局"])
    case = hall.cases.complete(start(hall).tasks[0].id, ACCEPT, FRONT)
    review = next(t for t in case.tasks if t.task_spec == "construction_permit_review")
    hall.cases.claim(review.id, FIRE)
    clock.set(at(2026, 9, 29))  # one working day left on the 3-day permit
    hall.timers.run_once()
    hall.timers.run_once()
    mine = hall.escalations.unread("zjj")
    assert [n.kind for n in mine if n.task_id == review.id] == ["warning"]
    assert any(n.task_id == review.id for n in hall.escalations.unread("zjj_lead"))
    clock.set(at(2026, 10, 8))
    hall.timers.run_once()
    kinds = sorted(n.kind for n in hall.escalations.unread("zjj") if n.task_id == review.id)
    assert kinds == ["overdue", "warning"]
    hall.escalations.mark_read("zjj")
    assert hall.escalations.unread("zjj") == []


def test_next_years_schedule_is_imported_from_the_notice(hall, clock):
    year, days = parse_schedule("""
        # 国务院办公厅关于2027年部分节假日安排的通知（节选）
        2027-01-01 休 元旦
        2027-02-06 班 春节
        2027-02-08 休 春节
    """)
    assert year == 2027 and len(days) == 3
    clock.set(at(2026, 12, 30))
    with hall.db.reading() as session:
        assert 2027 not in hall.clocks.calendars.get(session).known_years
    hall.clocks.calendars.import_year(year, days, actor="admin", at=clock.now())
    calendar = hall.clocks.calendars.get()
    assert 2027 in calendar.known_years
    assert not calendar.is_workday(datetime(2027, 1, 1).date())
    assert calendar.is_workday(datetime(2027, 2, 6).date())
    with pytest.raises(ValidationFailed):
        parse_schedule("2027-13-01 休 元旦")
    with pytest.raises(ValidationFailed):
        hall.clocks.calendars.import_year(2027, [*days[:1], *days[:1]], actor="a", at=clock.now())
