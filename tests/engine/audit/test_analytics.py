"""engine.audit.analytics on cases of 施工许可一件事 driven end to end on a frozen clock: net
handling time against the promised limit, overdue / 补正 / 容缺 rates, the element
heatmap numbers, a weekly series and a before/after comparison."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.audit import analytics
from engine.worktime.clock import SHANGHAI
from engine.cases.dto import Actor
from web import formsource
from demo import CONSTRUCTION_APPLICATION

PROCESS = "onething_construction_permit"
PERMIT = "item_construction_permit"
FIRE = "item_fire_design_review"
FRONT = Actor("frontdesk", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
ISSUE = Actor("chujian", frozenset({"issuance"}), frozenset({"统一出件窗口"}))
ACCEPT = {"acceptance_decision": "accept", "materials_complete": True}


def at(day: int, hour: int = 9, month: int = 11, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def clerk(lane: str) -> Actor:
    return Actor(f"clerk-{lane}", frozenset({"approver"}), frozenset({lane}))


def start_accepted(rt, acceptance=ACCEPT):
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, PROCESS)
    data = formsource.clean_application(rt, definition, dict(CONSTRUCTION_APPLICATION))
    case = rt.cases.start_case(PROCESS, data, FRONT)
    return rt.cases.complete(case.tasks[0].id, acceptance, FRONT)


def decide(rt, case, spec_prefix: str, decision: str):
    task = next(t for t in case.tasks if t.task_spec == f"{spec_prefix}_review")
    data = {f"{spec_prefix}_decision": decision, f"{spec_prefix}_opinion": "意见"}
    return rt.cases.complete(task.id, data, clerk(task.lane))


def finish(rt, case):
    """Every open review approved, then issued at the window."""
    for task in [t for t in case.tasks if t.task_spec.endswith("_review")]:
        key = task.task_spec.removesuffix("_review")
        case = rt.cases.complete(task.id, {f"{key}_decision": "approve",
                                           f"{key}_opinion": "准予许可"}, clerk(task.lane))
    issuance = next(t for t in case.tasks if t.task_spec == "issuance")
    case = rt.cases.complete(issuance.id, {"delivery_method": "window"}, ISSUE)
    assert case.status == "completed"
    return case


def stats(rt, **kwargs):
    with rt.db.reading() as session:
        calendar = rt.clocks.calendars.get(session)
        found = analytics.item_stats(session, calendar, rt.catalogue, rt.clock.now(),
                                     process_key=PROCESS, **kwargs)
    return {s.scope: s for s in found}


def test_one_case_overdue_of_two_is_a_50_percent_overdue_rate(deployed, clock):
    rt = deployed
    clock.set(at(20, 9))  # Friday
    quick = start_accepted(rt)
    clock.set(at(20, 10))
    finish(rt, quick)  # one working hour
    slow = start_accepted(rt)  # accepted Friday 10:00
    clock.set(at(30, 10))  # Monday a week later: past the 3- and 5-working-day promises
    finish(rt, slow)

    found = stats(rt)
    assert list(found)[0] == PROCESS  # the one-thing first, then its items
    permit = found[PERMIT]
    assert (permit.cases, permit.finished, permit.overdue) == (2, 2, 1)
    assert permit.overdue_rate == pytest.approx(0.5)
    assert found[PROCESS].overdue_rate == pytest.approx(0.5)
    assert permit.promised == "3 个工作日" and permit.promised_days == 3
    # Net working time: 1 h, and Fri 10:00 → Mon+1 10:00 = 6 h + 5 × 7 h + 1 h = 42 h = 6 days.
    assert permit.avg_days == pytest.approx((1 / 7 + 6) / 2)
    assert permit.share_of_limit == pytest.approx((1 / 7 + 6) / 2 / 3)
    assert permit.correction_rate == 0 and permit.deficiency_rate == 0
    # 2-hour promise (质量监督): 1 h is on time, a week is not.
    assert found["item_quality_supervision"].overdue == 1


def test_correction_and_deficiency_rates_and_time_paused_for_correction(deployed, clock):
    rt = deployed
    clock.set(at(23, 9))  # Monday
    plain = start_accepted(rt)
    finish(rt, plain)
    deficient = start_accepted(rt, {"acceptance_decision": "accept",
                                    "materials_complete": False})
    corrected = decide(rt, deficient, "fire_design_review", "correct")  # 补正 at 09:00
    clock.set(at(25, 9))  # two working days waiting for the applicant: paused, not counted
    correction = next(t for t in corrected.tasks if t.task_spec == "fire_design_review_correction")
    case = rt.cases.complete(correction.id, {"fire_design_review_corrected": True}, FRONT)
    clock.set(at(25, 10))
    finish(rt, case)

    found = stats(rt)
    fire = found[FIRE]
    assert (fire.cases, fire.corrections) == (2, 1)
    assert fire.correction_rate == pytest.approx(0.5)
    assert found[PERMIT].correction_rate == 0
    assert found[PROCESS].deficiency_rate == pytest.approx(0.5)
    assert fire.deficiency_rate == pytest.approx(0.5)  # the item was in a 容缺 case
    # Fire review of the corrected case: 0 h before the pause, 1 h after it (Wed 9→10).
    assert sorted(fire.days) == [pytest.approx(0), pytest.approx(1 / 7)]


def test_before_and_after_periods_show_the_efficiency_gain(deployed, clock):
    rt = deployed
    clock.set(at(23, 9))
    before = start_accepted(rt)
    clock.set(at(25, 9))  # two working days
    finish(rt, before)
    clock.set(at(7, 9, month=12))
    after = start_accepted(rt)
    clock.set(at(8, 9, month=12))  # one working day
    finish(rt, after)

    with rt.db.reading() as session:
        calendar = rt.clocks.calendars.get(session)
        now = rt.clock.now()

        def period(start, end):
            return analytics.item_stats(session, calendar, rt.catalogue, now,
                                        process_key=PROCESS,
                                        period=analytics.Period(start, end))

        comparison = analytics.compare(period(date(2026, 11, 23), date(2026, 11, 29)),
                                       period(date(2026, 12, 7), date(2026, 12, 13)))
        series = analytics.weekly_series(analytics.handling_times(session, calendar,
                                                                  scope=PROCESS))
    overall = comparison.overall
    assert (overall.before, overall.after) == (pytest.approx(2), pytest.approx(1))
    assert overall.improvement == pytest.approx(0.5)  # "审批效率提升 50%"
    assert [(b.start, b.accepted) for b in series] == [
        (date(2026, 11, 23), 1), (date(2026, 11, 30), 0), (date(2026, 12, 7), 1)]
    assert [b.avg_days for b in series] == [pytest.approx(2), None, pytest.approx(1)]


def test_element_heatmap_counts_and_durations(deployed, clock):
    rt = deployed
    clock.set(at(23, 9))
    case = start_accepted(rt)  # acceptance done at once (0 h)
    clock.set(at(23, 11))
    case = decide(rt, case, "construction_permit", "approve")  # 2 h after arriving
    open_case = start_accepted(rt)  # its permit review stays open

    with rt.db.reading() as session:
        calendar = rt.clocks.calendars.get(session)
        top = analytics.element_stats(session, calendar, PROCESS,
                                      called={"call_construction_permit": PERMIT})
        item = analytics.element_stats(session, calendar, PERMIT)
        later = analytics.element_stats(session, calendar, PERMIT,
                                        period=analytics.Period(date(2026, 11, 24)))
    acceptance = top["front_desk_acceptance"]
    assert (acceptance.completed, acceptance.avg_hours) == (2, 0)
    review = item["construction_permit_review"]
    assert (review.completed, review.open, review.avg_hours) == (1, 1, pytest.approx(2))
    call = top["call_construction_permit"]
    assert (call.completed, call.open, call.avg_hours) == (1, 1, pytest.approx(2))
    assert later == {}
    assert open_case.status == "running"


def test_working_hours_skip_nights_lunch_and_weekends():
    from engine.worktime.workcalendar import WorkingCalendar

    calendar = WorkingCalendar.from_package()
    assert analytics.working_hours(calendar, at(20, 11), at(20, 14)) == pytest.approx(1.5)
    assert analytics.working_hours(calendar, at(20, 17), at(23, 10)) == pytest.approx(1.5)
    assert analytics.working_hours(calendar, at(20, 10), at(20, 9)) == 0


def test_deficiency_recorded_by_the_counter_counts_for_the_case_and_the_named_item(deployed,
                                                                                  clock):
    """The counter's 容缺受理 puts a `deficiency` list (material, item name, deadline) into
    the application data (items by their catalogue name); the item whose material was
    deferred counts, the others not."""
    rt = deployed
    start_accepted(rt)
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, PROCESS)
    data = formsource.clean_application(rt, definition, dict(CONSTRUCTION_APPLICATION))
    data.update({"deficiency": [{"field": "fire_design_drawings", "name": "消防设计文件",
                                 "item": "特殊建设工程消防设计审查", "deadline": "2026-11-25T17:30:00+08:00",
                                 "supplied_at": "2026-11-21T10:00:00+08:00"}],
                 "deficiency_outstanding": False})
    case = rt.cases.start_case(PROCESS, data, FRONT)
    rt.cases.complete(case.tasks[0].id, ACCEPT, FRONT)

    found = stats(rt)
    assert found[PROCESS].deficiency_rate == pytest.approx(0.5)
    assert found[FIRE].deficiency_rate == pytest.approx(0.5)
    assert found[PERMIT].deficiency_rate == 0


def test_two_versions_of_the_one_thing_compared(deployed, clock, tmp_path):
    """Cases pinned to v1 against cases of a redeployed v2: the comparison by version."""
    from tests.conftest import PROCESSES, deploy_files

    rt = deployed
    clock.set(at(23, 9))
    old = start_accepted(rt)
    clock.set(at(24, 9))  # one working day on v1
    finish(rt, old)
    changed = tmp_path / "construction_permit.bpmn"
    changed.write_bytes((PROCESSES / "onethings" / "construction_permit.bpmn").read_bytes()
                        + b"\n<!-- v2: same diagram, redeployed -->\n")
    deploy_files(rt, changed)
    with rt.db.reading() as session:
        assert analytics.versions_of(session, PROCESS) == [1, 2]
    new = start_accepted(rt)
    clock.set(at(24, 12))  # three working hours on v2
    finish(rt, new)

    v1 = stats(rt, period=analytics.Period(version=1))
    v2 = stats(rt, period=analytics.Period(version=2))
    assert (v1[PROCESS].cases, v2[PROCESS].cases) == (1, 1)
    comparison = analytics.compare(list(v1.values()), list(v2.values()))
    assert comparison.overall.before == pytest.approx(1)
    assert comparison.overall.after == pytest.approx(3 / 7)
    assert comparison.overall.improvement == pytest.approx(4 / 7)
    assert analytics.Period(version=2).label == "v2"
