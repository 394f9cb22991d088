"""The audit chain detects every kind of tampering, and `onething audit verify` says where."""
from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select, update

from engine.cases import canonical
from engine.cases.eventlog import verify_case
from engine.store.models import CaseEvent, CaseRecord
from engine.cases.dto import Actor
from tests.conftest import FIXTURES, deploy_files
from cli import main

ADMIN = Actor("admin", frozenset({"admin"}))


@pytest.fixture
def finished_case(deployed):
    rt = deployed
    deploy_files(rt, FIXTURES)
    case = rt.cases.start_case("loop_review", {"applicant": "张兴亮"}, ADMIN)
    case = rt.cases.complete(case.tasks[0].id, {"again": True, "note": "材料需补充"}, ADMIN)
    case = rt.cases.complete(case.tasks[0].id, {"again": False, "note": "同意"}, ADMIN)
    return rt, case.id


def events_of(session, case_id):
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                .order_by(CaseEvent.id)))


def report(rt, case_id):
    with rt.db.reading() as session:
        return verify_case(session, session.get(CaseRecord, case_id))


def test_untouched_history_verifies(finished_case):
    rt, case_id = finished_case
    result = report(rt, case_id)
    assert result.ok and result.events >= 6


def test_events_record_the_validated_inputs_in_order(finished_case):
    rt, case_id = finished_case
    events = rt.cases.events(case_id, ADMIN)
    inputs = [canonical.loads(e.payload)["data"] for e in events if e.kind == "task_completed"]
    assert inputs == [{"again": True, "note": "材料需补充"}, {"again": False, "note": "同意"}]
    started = canonical.loads(events[0].payload)
    assert started["data"] == {"applicant": "张兴亮"} and started["pins"]["loop_review"]
    assert all(e.definition_hash == started["pins"]["loop_review"] for e in events)


def test_edited_payload_is_detected(finished_case):
    rt, case_id = finished_case
    with rt.db.transaction() as session:
        target = next(e for e in events_of(session, case_id) if "材料需补充" in e.payload)
        seq = target.seq
        target.payload = target.payload.replace("材料需补充", "材料齐全")
    result = report(rt, case_id)
    assert not result.ok and result.first_broken_seq == seq
    assert "内容被修改" in result.problems[0]


def test_edited_actor_is_detected(finished_case):
    rt, case_id = finished_case
    with rt.db.transaction() as session:
        session.execute(update(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.seq == 2)
                        .values(actor="someone_else"))
    assert report(rt, case_id).first_broken_seq == 2


def test_deleted_event_is_detected(finished_case):
    rt, case_id = finished_case
    with rt.db.transaction() as session:
        session.delete(events_of(session, case_id)[2])
    result = report(rt, case_id)
    assert not result.ok and result.first_broken_seq == 4


def test_deleted_last_event_is_detected(finished_case):
    rt, case_id = finished_case
    with rt.db.transaction() as session:
        session.delete(events_of(session, case_id)[-1])
    result = report(rt, case_id)
    assert not result.ok and "末端" in result.problems[0]


def test_inserted_event_is_detected(finished_case):
    rt, case_id = finished_case
    with rt.db.transaction() as session:
        events = events_of(session, case_id)
        for event in reversed(events[2:]):  # make room after #2, as a forger would
            event.seq += 1
            session.flush()
        forged = events[1]
        session.add(CaseEvent(case_id=case_id, seq=3, kind="task_completed", actor="forger",
                              at=forged.at, task_id=forged.task_id, task_spec=forged.task_spec,
                              definition_hash=forged.definition_hash,
                              payload=canonical.dumps({"data": {"again": False}}),
                              prev_hash=forged.hash, hash="0" * 64))
    result = report(rt, case_id)
    assert not result.ok


def test_reordered_events_are_detected(finished_case):
    rt, case_id = finished_case
    with rt.db.transaction() as session:
        a, b = events_of(session, case_id)[2:4]
        seq_a, seq_b = a.seq, b.seq
        a.seq = -1
        session.flush()
        b.seq = seq_a
        session.flush()
        a.seq = seq_b
    assert not report(rt, case_id).ok


def test_recomputed_chain_is_caught_by_the_case_head(finished_case):
    """A forger who rewrites a payload and recomputes every later hash still has to
    match the head kept on the case row; rewriting that too is what signed checkpoints
    (the auditor's desk) catch."""
    rt, case_id = finished_case
    from engine.cases.eventlog import event_hash

    with rt.db.transaction() as session:
        events = events_of(session, case_id)
        at = next(i for i, e in enumerate(events) if "材料需补充" in e.payload)
        events[at].payload = events[at].payload.replace("材料需补充", "材料齐全")
        prev = events[at - 1].hash
        for event in events[at:]:
            event.prev_hash = prev
            event.hash = event_hash(case_id=event.case_id, seq=event.seq, kind=event.kind,
                                    actor=event.actor, at=event.at, task_id=event.task_id,
                                    task_spec=event.task_spec,
                                    definition_hash=event.definition_hash,
                                    payload=event.payload, prev_hash=event.prev_hash)
            prev = event.hash
    result = report(rt, case_id)
    assert not result.ok and "末端" in result.problems[0]


def test_event_hash_is_sha256_over_canonical_json(finished_case):
    rt, case_id = finished_case
    with rt.db.reading() as session:
        first = events_of(session, case_id)[0]
    body = canonical.dumps({
        "case": first.case_id, "seq": 1, "kind": first.kind, "actor": first.actor,
        "at": first.at.isoformat(timespec="microseconds"), "task": None, "task_spec": None,
        "definition": first.definition_hash, "payload": json.loads(first.payload),
        "prev": None})
    assert first.hash == hashlib.sha256(body.encode()).hexdigest()


def test_cli_verify_exits_1_naming_the_broken_event(finished_case, database_url, monkeypatch,
                                                    capsys, tmp_path):
    rt, case_id = finished_case
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ONETHING_INSTANCE", str(tmp_path))
    assert main(["audit", "verify"]) == 0
    with rt.db.reading() as session:
        number = session.get(CaseRecord, case_id).number
    assert main(["audit", "verify", number]) == 0
    assert "OK" in capsys.readouterr().out
    with rt.db.transaction() as session:
        events_of(session, case_id)[4].actor = "tampered"
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN {number}" in out and "event #5" in out
