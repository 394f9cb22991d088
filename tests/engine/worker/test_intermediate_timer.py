"""An intermediate timer event (a 公示期 publicity period) holds the case between two
tasks on the engine's clock and working calendar; the worker releases it exactly once."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine.cases.eventlog import verify_case
from engine.worktime.clock import SHANGHAI
from engine.store.models import CaseRecord, Timer
from engine.cases.dto import Actor
from tests.conftest import FIXTURES, deploy_files

ADMIN = Actor("admin", frozenset({"admin"}))


@pytest.fixture
def cooling(runtime, clock):
    clock.set(datetime(2026, 9, 28, 10, 0, tzinfo=SHANGHAI))  # Monday before National Day
    deploy_files(runtime, FIXTURES / "cooling_off.bpmn")
    return runtime


def test_the_case_waits_out_the_period_then_continues(cooling, clock):
    case = cooling.cases.start_case("cooling_off", {}, ADMIN)
    with cooling.db.reading() as session:
        assert session.scalar(select(Timer)) is None  # no timer before the period starts
    waiting = cooling.cases.complete(case.tasks[0].id, {}, ADMIN)
    assert not waiting.tasks and waiting.status == "running"
    with cooling.db.reading() as session:
        [timer] = session.scalars(select(Timer))
    # 29, 30 Sep are working days 1 and 2; 1–7 Oct National Day; 8 Oct is day 3.
    assert timer.due_at.astimezone(SHANGHAI) == datetime(2026, 10, 8, 23, 59, 59,
                                                         tzinfo=SHANGHAI)
    clock.set(datetime(2026, 10, 8, 17, 0, tzinfo=SHANGHAI))
    assert cooling.timers.run_once().fired == 0
    assert not cooling.cases.get_case(case.id, ADMIN).tasks

    clock.set(datetime(2026, 10, 9, 9, 0, tzinfo=SHANGHAI))
    assert cooling.timers.run_once().fired == 1
    assert cooling.timers.run_once().fired == 0
    after = cooling.cases.get_case(case.id, ADMIN)
    assert [t.name for t in after.tasks] == ["公示期满后决定"]
    done = cooling.cases.complete(after.tasks[0].id, {}, ADMIN)
    assert done.status == "completed"
    with cooling.db.reading() as session:
        assert verify_case(session, session.get(CaseRecord, case.id)).ok
