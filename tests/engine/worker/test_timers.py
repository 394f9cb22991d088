"""BPMN timers on the engine's clock, fired exactly once by any number of workers."""
from __future__ import annotations

import multiprocessing
from datetime import datetime

import pytest
from sqlalchemy import func, select

from engine.cases.eventlog import verify_case
from engine.worktime.clock import SHANGHAI, FrozenClock
from engine.runtime import build_runtime
from engine.store.models import CaseEvent, CaseRecord, Incident, Timer
from engine.cases.dto import Actor
from tests.conftest import FIXTURES, deploy_files

ADMIN = Actor("admin", frozenset({"admin"}))
TIMED = FIXTURES / "timed_review.bpmn"


@pytest.fixture
def timed(runtime, clock):
    clock.set(datetime(2026, 9, 29, 10, 0, tzinfo=SHANGHAI))  # Tuesday before National Day
    deploy_files(runtime, TIMED)
    return runtime


def test_workday_timer_is_due_after_the_holiday_and_fires_once(timed, clock):
    case = timed.cases.start_case("timed_review", {}, ADMIN)
    with timed.db.reading() as session:
        [timer] = session.scalars(select(Timer))
    # 30 Sep is the 1st working day, 1–7 Oct are National Day, 8 Oct is the 2nd.
    assert timer.due_at.astimezone(SHANGHAI) == datetime(2026, 10, 8, 23, 59, 59,
                                                         tzinfo=SHANGHAI)
    clock.set(datetime(2026, 10, 8, 18, 0, tzinfo=SHANGHAI))
    assert timed.timers.run_once().fired == 0
    clock.set(datetime(2026, 10, 9, 8, 0, tzinfo=SHANGHAI))
    assert timed.timers.run_once().fired == 1
    assert timed.timers.run_once().fired == 0
    after = timed.cases.get_case(case.id, ADMIN)
    assert [t.name for t in after.tasks] == ["督办"]  # the review was interrupted
    kinds = [e.kind for e in timed.cases.events(case.id, ADMIN)]
    assert kinds.count("timer_fired") == 1 and "task_cancelled" in kinds


def test_completing_in_time_cancels_the_timer(timed, clock):
    case = timed.cases.start_case("timed_review", {}, ADMIN)
    done = timed.cases.complete(case.tasks[0].id, {}, ADMIN)
    assert done.status == "completed"
    clock.set(datetime(2026, 10, 20, 9, 0, tzinfo=SHANGHAI))
    assert timed.timers.run_once().fired == 0
    with timed.db.reading() as session:
        assert session.scalar(select(Timer.state)) == "cancelled"


def test_a_failing_timer_backs_off_then_becomes_an_incident(timed, clock, monkeypatch):
    case = timed.cases.start_case("timed_review", {}, ADMIN)
    clock.set(datetime(2026, 10, 9, 8, 0, tzinfo=SHANGHAI))

    def broken(timer_id):
        raise RuntimeError("数据库连接中断")

    monkeypatch.setattr(timed.cases, "fire_timer", broken)
    worker = timed.timers
    worker.max_attempts = 3
    assert worker.run_once().failed  # attempt 1
    assert worker.run_once().failed == []  # backing off: not tried again yet
    for _ in range(2):
        clock.advance(hours=2)
        assert worker.run_once().failed
    with timed.db.reading() as session:
        timer = session.scalar(select(Timer))
        assert timer.state == "failed" and timer.attempts == 3
        incident = session.scalar(select(Incident).where(Incident.case_id == case.id))
        assert "数据库连接中断" in incident.message
    monkeypatch.undo()
    worker.retry(timer.id)
    assert worker.run_once().fired == 1


def _worker_process(url, instance, now, rounds, results):
    rt = build_runtime(url, clock=FrozenClock(now), instance=instance)
    fired = 0
    for _ in range(rounds):
        fired += rt.timers.run_once().fired
    results.put(fired)
    rt.db.dispose()


@pytest.mark.slow
def test_two_worker_processes_fire_every_timer_exactly_once(timed, clock, database_url,
                                                            tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("several worker processes need PostgreSQL (SKIP LOCKED)")
    cases = [timed.cases.start_case("timed_review", {}, ADMIN) for _ in range(40)]
    due = datetime(2026, 10, 9, 8, 0, tzinfo=SHANGHAI)
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    workers = [ctx.Process(target=_worker_process,
                           args=(database_url, tmp_path, due, 4, results)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    fired = [results.get(timeout=5) for _ in workers]
    assert sum(fired) == 40, fired
    with timed.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.kind == "timer_fired")) == 40
        for case in cases:
            record = session.get(CaseRecord, case.id)
            assert verify_case(session, record).ok
