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
from engine.cases.dto import Actor, CaseView
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


def test_a_step_that_read_the_case_before_another_committed_is_refused(loops, database_url):
    """The race the version lock is for, made certain: clerk 甲 has read the case, its
    task and its workflow when clerk 乙 completes the parallel task and commits. 甲's
    step, built on what it read, must be refused (409): were it written, it would put
    back a workflow without 乙's decision. Two guards refuse it, the case's version and
    the audit chain's sequence number (whichever the flush reaches first); after 甲
    retries both decisions are in the case."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers from their first read: no step can be "
                    "interleaved with another there")
    rt = loops
    case = rt.cases.start_case("parallel_loop", {"limit": 1}, ADMIN)
    a, b = case.tasks
    read, committed = threading.Event(), threading.Event()
    load = rt.cases.step.load

    def load_then_wait_in_first_clerk(session, record, **kwargs):
        workflow = load(session, record, **kwargs)
        if threading.current_thread().name == "甲":
            read.set()
            assert committed.wait(30)
        return workflow

    rt.cases.step.load = load_then_wait_in_first_clerk
    outcomes = {}

    def first():
        try:
            outcomes["甲"] = rt.cases.complete(a.id, {"a_says": "甲同意"}, ADMIN)
        except Conflict as exc:
            outcomes["甲"] = exc

    def second():
        assert read.wait(30)
        try:
            outcomes["乙"] = rt.cases.complete(b.id, {"b_says": "乙同意"}, ADMIN)
        finally:
            committed.set()

    threads = [threading.Thread(target=first, name="甲"), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    rt.cases.step.load = load
    assert isinstance(outcomes["乙"], CaseView), outcomes
    assert isinstance(outcomes["甲"], Conflict), outcomes
    rt.cases.complete(a.id, {"a_says": "甲同意"}, ADMIN)
    final = rt.cases.get_case(case.id, ADMIN, with_data=True)
    assert final.status == "completed"
    assert (final.data["a_says"], final.data["b_says"]) == ("甲同意", "乙同意")
    assert chain_ok(rt, case.id)


def test_a_write_on_a_case_version_that_is_no_longer_current_conflicts(loops):
    """The version lock on its own: a case row read before another step committed cannot
    be written back over that step."""
    rt = loops
    case = rt.cases.start_case("parallel_loop", {"limit": 1}, ADMIN)
    with rt.db.reading() as session:
        stale = session.get(CaseRecord, case.id)
    rt.cases.complete(case.tasks[0].id, {"a_says": "甲同意"}, ADMIN)
    with pytest.raises(Conflict):
        with rt.cases.writing() as session:
            record = session.merge(stale, load=False)
            record.title = "用旧版本改写"
    after = rt.cases.get_case(case.id, ADMIN)
    assert after.title != "用旧版本改写" and after.version == stale.version + 1


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
