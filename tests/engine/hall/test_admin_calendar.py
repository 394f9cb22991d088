"""The administrator's service calls: incidents listed and retried, the working-day
calendar read and imported — for administrators only, as plain data."""
from __future__ import annotations

from datetime import date

import pytest

from engine.cases.dto import Actor
from engine.errors import NotAllowed, ValidationFailed
from engine.hall import admin, calendar
from tests.conftest import FIXTURES, deploy_files

ADMIN = Actor("admin", frozenset({"admin"}))
CLERK = Actor("fd", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))


def test_an_incident_is_listed_with_its_case_number_and_retried(deployed):
    deploy_files(deployed, FIXTURES)
    case = deployed.cases.start_case("divide", {}, ADMIN)
    case = deployed.cases.complete(case.tasks[0].id, {"n": 0}, ADMIN)
    [listed] = admin.open_incidents(deployed, ADMIN)
    assert (listed.case_id, listed.case_number, listed.failed_timer) == (
        case.id, case.number, False)
    assert "divide_it" in listed.message
    admin.retry_incident(deployed, ADMIN, listed.id)  # fails again: a new incident
    [again] = admin.open_incidents(deployed, ADMIN)
    assert again.id != listed.id


def test_only_administrators_see_or_retry_incidents(runtime):
    with pytest.raises(NotAllowed):
        admin.open_incidents(runtime, CLERK)
    with pytest.raises(NotAllowed):
        admin.retry_incident(runtime, CLERK, 1)


def test_a_year_imported_shows_up_with_its_adjusted_days(runtime):
    year, count = calendar.import_schedule(runtime, ADMIN, "2027-01-01 休 元旦\n"
                                                           "2027-02-06 班 春节")
    assert (year, count) == (2027, 2)
    state = calendar.calendar_state(runtime, ADMIN)
    [known] = [y for y in state.years if y.year == 2027]
    assert known.imported_by == "admin"
    assert [(d.day, d.kind) for d in state.days if d.day.year == 2027] == [
        (date(2027, 1, 1), "holiday"), (date(2027, 2, 6), "workday")]


def test_the_calendar_is_kept_by_administrators_only(runtime):
    with pytest.raises(NotAllowed):
        calendar.calendar_state(runtime, CLERK)
    with pytest.raises(NotAllowed):
        calendar.import_schedule(runtime, CLERK, "2027-01-01 休 元旦")
    with pytest.raises(ValidationFailed):
        calendar.import_schedule(runtime, ADMIN, "not a schedule")
