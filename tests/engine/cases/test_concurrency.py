"""Races and crashes: two clerks at the same moment, several worker processes, a process
killed in the middle of a step. Nothing may be lost, duplicated or half-written."""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from engine.cases.eventlog import verify_case
from engine.worktime.clock import FrozenClock
from engine.errors import Conflict
from engine.runtime import build_runtime
from engine.store.models import CaseEvent, CaseRecord, HumanTask
from engine.cases.dto import Actor
from tests.conftest import FIXTURES, deploy_files

ADMIN = Actor("admin", frozenset({"admin"}))


@pytest.fixture
def loops(deployed):
    deploy_files(deployed, FIXTURES)
    return deployed


def race(calls):
    """Run the calls in threads released at the same instant; return their outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            outcomes[i] = ("ok", call())
        except Conflict as exc:
            outcomes[i] = ("conflict", exc)
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            outcomes[i] = ("error", exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def chain_ok(rt, case_id):
    with rt.db.reading() as session:
        return verify_case(session, session.get(CaseRecord, case_id)).ok


def test_two_clerks_completing_the_same_task_exactly_one_wins(loops):
    rt = loops
    for round_ in range(8):
        case = rt.cases.start_case("loop_review", {}, ADMIN)
        task = case.tasks[0]
        outcomes = race([lambda: rt.cases.complete(task.id, {"again": False}, ADMIN)] * 2)
        kinds = Counter(kind for kind, _ in outcomes)
        assert kinds == {"ok": 1, "conflict": 1}, outcomes
        with rt.db.reading() as session:
            completions = session.scalar(select(func.count()).select_from(CaseEvent).where(
                CaseEvent.case_id == case.id, CaseEvent.kind == "task_completed"))
            assert completions == 1
        assert rt.cases.get_case(case.id, ADMIN).status == "completed"
        assert chain_ok(rt, case.id)


def test_parallel_departments_racing_on_one_case_lose_nothing(loops):
    """Two departments finish their parallel tasks at the same instant: one commits, the
    other is told to retry (409) — and after the retry both decisions are in the case."""
    rt = loops
    case = rt.cases.start_case("parallel_loop", {"limit": 1}, ADMIN)
    a, b = case.tasks
    outcomes = race([lambda: rt.cases.complete(a.id, {"a_says": "甲同意"}, ADMIN),
                     lambda: rt.cases.complete(b.id, {"b_says": "乙同意"}, ADMIN)])
    for (kind, _), task, key, value in zip(outcomes, (a, b), ("a_says", "b_says"),
                                           ("甲同意", "乙同意")):
        if kind == "conflict":
            rt.cases.complete(task.id, {key: value}, ADMIN)
        else:
            assert kind == "ok", outcomes
    final = rt.cases.get_case(case.id, ADMIN, with_data=True)
    assert final.status == "completed"
    assert final.data["a_says"] == "甲同意" and final.data["b_says"] == "乙同意"
    assert chain_ok(rt, case.id)


def test_concurrent_claims_have_one_winner(loops):
    rt = loops
    clerks = [Actor(f"clerk{i}", frozenset(), frozenset({"审查科"})) for i in range(4)]
    for _ in range(8):
        case = rt.cases.start_case("loop_review", {}, ADMIN)
        outcomes = race([lambda c=c: rt.cases.claim(case.tasks[0].id, c) for c in clerks])
        winners = [result for kind, result in outcomes if kind == "ok"]
        assert len(winners) == 1, outcomes
        assert all(kind in ("ok", "conflict") for kind, _ in outcomes)
        with rt.db.reading() as session:
            assert session.get(HumanTask, case.tasks[0].id).assignee == winners[0].assignee


def _complete_in_child(url, instance, now, task_id, start, results):
    rt = build_runtime(url, clock=FrozenClock(now), instance=instance)
    start.wait()
    try:
        rt.cases.complete(task_id, {"again": False}, ADMIN)
        results.put("ok")
    except Conflict:
        results.put("conflict")
    except Exception as exc:  # pragma: no cover
        results.put(f"error {exc!r}")
    finally:
        rt.db.dispose()


@pytest.mark.slow
def test_worker_processes_racing_on_postgresql_complete_each_task_once(loops, database_url,
                                                                       clock, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("the multi-process race needs PostgreSQL (SQLite serialises writers)")
    rt = loops
    ctx = multiprocessing.get_context("fork")
    for _ in range(5):
        case = rt.cases.start_case("loop_review", {}, ADMIN)
        start, results = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_complete_in_child,
                             args=(database_url, tmp_path, clock.now(), case.tasks[0].id,
                                   start, results)) for _ in range(3)]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(60)
        outcomes = Counter(results.get(timeout=5) for _ in procs)
        assert outcomes == {"ok": 1, "conflict": 2}, outcomes
        assert chain_ok(rt, case.id)


def _die_before_commit(url, instance, now, task_id):
    from sqlalchemy.orm import Session

    def commit_then_die(self):
        self.flush()  # the step's rows are written inside the open transaction...
        os.kill(os.getpid(), signal.SIGKILL)  # ...and the process dies before COMMIT

    Session.commit = commit_then_die
    rt = build_runtime(url, clock=FrozenClock(now), instance=instance)
    rt.cases.complete(task_id, {"again": True, "note": "写了一半"}, ADMIN)


def test_killing_the_process_mid_step_leaves_the_case_as_before(loops, database_url, clock,
                                                                 tmp_path):
    rt = loops
    case = rt.cases.start_case("loop_review", {}, ADMIN)
    task_id = case.tasks[0].id
    before = rt.cases.get_case(case.id, ADMIN)
    with rt.db.reading() as session:
        events_before = session.scalar(select(func.count()).select_from(CaseEvent)
                                       .where(CaseEvent.case_id == case.id))
    child = multiprocessing.get_context("fork").Process(
        target=_die_before_commit, args=(database_url, tmp_path, clock.now(), task_id))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    after = rt.cases.get_case(case.id, ADMIN)
    assert after.version == before.version
    assert [t.id for t in after.tasks] == [task_id]
    with rt.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(CaseEvent)
                              .where(CaseEvent.case_id == case.id)) == events_before
    assert chain_ok(rt, case.id)
    # The step can simply be done again.
    done = rt.cases.complete(task_id, {"again": False}, ADMIN)
    assert done.status == "completed"
