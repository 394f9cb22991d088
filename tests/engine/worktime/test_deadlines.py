"""Working-day deadlines across the 2026 holidays, with pauses, extensions and states."""
from __future__ import annotations

import logging
from datetime import date, datetime

import pytest

from engine.worktime.clock import SHANGHAI
from engine.worktime.deadlines import (NATURAL_DAY, NORMAL, OVERDUE, WARNING, WORKING_HOUR, Limit,
    Pause, due_at, state_of)
from engine.worktime.workcalendar import HOLIDAY, WORKDAY, SpecialDay, WorkingCalendar

CAL = WorkingCalendar.from_package()


def at(y, m, d, hh=9, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def test_make_up_saturday_before_spring_festival_is_a_working_day():
    assert CAL.is_workday(date(2026, 2, 14))  # Saturday, 调休上班
    assert not CAL.is_workday(date(2026, 2, 16))  # 春节
    assert not CAL.is_workday(date(2026, 2, 21))  # Saturday inside the holiday


def test_three_working_days_across_spring_festival():
    # Accepted Thursday 12 Feb: Fri 13, Sat 14 (调休), then the holiday until Mon 23; Tue 24.
    assert due_at(CAL, at(2026, 2, 12), Limit(3)) == datetime(2026, 2, 24, 23, 59, 59,
                                                             tzinfo=SHANGHAI)


def test_twenty_working_days_across_national_day():
    due = due_at(CAL, at(2026, 9, 25), Limit(20))
    # 28, 29, 30 Sep; Oct 8, 9, 10 (调休 Sat), 12–16, 19–23, 26–29 → the 20th is Thu 29 Oct.
    assert due.date() == date(2026, 10, 29)


def test_the_statutory_period_starts_the_day_after_acceptance():
    assert due_at(CAL, at(2026, 11, 20, 16), Limit(1)).date() == date(2026, 11, 23)  # Fri→Mon


def test_natural_days_count_holidays_too():
    assert due_at(CAL, at(2026, 9, 30), Limit(5, NATURAL_DAY)).date() == date(2026, 10, 5)


def test_working_hours_follow_office_hours_and_skip_holidays():
    # Two hours from 16:30 on the last working day before National Day: one hour before
    # closing, the second on the first working day after the holiday.
    due = due_at(CAL, at(2026, 9, 30, 16, 30), Limit(2, WORKING_HOUR))
    assert due == datetime(2026, 10, 8, 10, 0, tzinfo=SHANGHAI)


def test_a_pause_for_correction_does_not_count():
    started = at(2026, 11, 2)  # Monday
    plain = due_at(CAL, started, Limit(5))
    paused = due_at(CAL, started, Limit(5),
                    pauses=[Pause(at(2026, 11, 3), at(2026, 11, 6))], now=at(2026, 11, 10))
    assert plain.date() == date(2026, 11, 9)
    assert paused.date() == date(2026, 11, 12)  # three working days (4, 5, 6 Nov) later


def test_an_open_pause_runs_until_now():
    started = at(2026, 11, 2)
    due = due_at(CAL, started, Limit(5), pauses=[Pause(at(2026, 11, 3))], now=at(2026, 11, 5))
    assert due.date() == date(2026, 11, 11)


def test_an_extension_adds_working_days():
    assert due_at(CAL, at(2026, 11, 2), Limit(20), extension=10).date() == \
        due_at(CAL, at(2026, 11, 2), Limit(30)).date()


def test_states_normal_warning_overdue():
    due = due_at(CAL, at(2026, 11, 2), Limit(5))  # Mon 9 Nov, end of day
    assert state_of(CAL, due, at(2026, 11, 3)) == (NORMAL, 4)
    assert state_of(CAL, due, at(2026, 11, 5)) == (WARNING, 2)
    assert state_of(CAL, due, at(2026, 11, 9, 17)) == (WARNING, 0)
    assert state_of(CAL, due, at(2026, 11, 10)) [0] == OVERDUE
    assert state_of(CAL, due, at(2026, 11, 5), warn_days=1)[0] == NORMAL


def test_unknown_year_falls_back_to_weekdays_with_a_warning(caplog):
    calendar = WorkingCalendar.from_package()
    with caplog.at_level(logging.WARNING):
        due = due_at(calendar, at(2026, 12, 29), Limit(5))
    # 30, 31 Dec; 2027: Fri 1 Jan counted as a weekday (no official schedule yet), 4, 5 Jan.
    assert due.date() == date(2027, 1, 5)
    assert 2027 in calendar.warnings and "2027" in caplog.text


def test_an_imported_notice_for_a_new_year_is_honoured():
    days = [*CAL.special.values(),
            SpecialDay(date(2027, 1, 1), HOLIDAY, "元旦"),
            SpecialDay(date(2027, 1, 4), HOLIDAY, "元旦"),
            SpecialDay(date(2027, 1, 9), WORKDAY, "元旦")]
    calendar = WorkingCalendar.from_days(days, CAL.known_years | {2027})
    # 1 Jan holiday, weekend, 4 Jan (bridging) holiday: 5, 6, 7 Jan.
    assert calendar.add_workdays(date(2026, 12, 31), 3) == date(2027, 1, 7)
    assert calendar.is_workday(date(2027, 1, 9)) and not calendar.warnings


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        due_at(CAL, datetime(2026, 11, 2, 9), Limit(5))
