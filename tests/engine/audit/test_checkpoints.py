"""Tamper evidence: the hash chain catches an edited payload, a deleted, inserted or
reordered event; only a signed checkpoint catches a history rewritten with every hash
recomputed. Also the key file (0600, outside the database) and forged checkpoints."""
from __future__ import annotations

import base64
import json
import stat

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import delete, select, update

from engine.cases import eventlog as audit, canonical
from engine.audit import checkpoints
from engine.cases.eventlog import verify_case
from engine.store.models import CaseEvent, CaseRecord
from engine.settings import Settings
from engine.cases.dto import Actor
from tests.conftest import FIXTURES, deploy_files

ADMIN = Actor("admin", frozenset({"admin"}))


# -- tampering helpers (also used by test_replay) --------------------------------------------

def events_of(session, case_id: int) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                .order_by(CaseEvent.seq)))


def edit_payload(rt, case_id: int, seq: int, change) -> None:
    """Change one event's payload in place (as a forger with database access would)."""
    with rt.db.transaction() as session:
        event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                       CaseEvent.seq == seq))
        payload = canonical.loads(event.payload)
        change(payload)
        event.payload = canonical.dumps(payload)


def rewrite_chain(rt, case_id: int) -> None:
    """Renumber the case's events 1..n in their current seq order and recompute every
    hash and the head on the case row: a history rewritten by someone careful."""
    with rt.db.transaction() as session:
        rows = events_of(session, case_id)
        for row in rows:  # out of the way of the unique (case_id, seq) first
            row.seq = -row.seq
        session.flush()
        prev = None
        for seq, row in enumerate(rows, start=1):
            row.seq, row.prev_hash = seq, prev
            row.hash = audit.event_hash(case_id=case_id, seq=seq, kind=row.kind, actor=row.actor,
                                        at=row.at, task_id=row.task_id, task_spec=row.task_spec,
                                        definition_hash=row.definition_hash,
                                        payload=row.payload, prev_hash=prev)
            prev = row.hash
        session.flush()
        session.execute(update(CaseRecord).where(CaseRecord.id == case_id)
                        .values(event_count=len(rows), head_hash=prev))


def chain_ok(rt, case_id: int) -> bool:
    with rt.db.reading() as session:
        return verify_case(session, session.get(CaseRecord, case_id)).ok


@pytest.fixture
def loops(runtime):
    deploy_files(runtime, FIXTURES / "parallel_loop.bpmn")
    return runtime


def run_case(rt, limit: int = 1):
    """A parallel_loop case run to the end. With limit 1 its log is: 1 case_started,
    2-3 task_created (a, b), 4 clock_started, 5-6 task_completed (a, b), 7 case_completed."""
    case = rt.cases.start_case("parallel_loop", {"limit": limit}, ADMIN)
    while case.tasks:
        case = rt.cases.complete(case.tasks[0].id, {"note": f"by {case.tasks[0].task_spec}"},
                                 ADMIN)
    return case


@pytest.fixture
def key(tmp_path):
    return checkpoints.load_or_create_key(tmp_path / "keys" / "audit.pem")


def sign(rt, key):
    with rt.db.transaction() as session:
        return checkpoints.create(session, key, rt.clock.now(), actor="auditor")


def check(rt, checkpoint, key):
    with rt.db.reading() as session:
        return checkpoints.verify(session, checkpoint, key.public_key())


def status_of(report, case_id: int) -> str:
    return next(c.status for c in report.cases if c.case_id == case_id)


# -- the key -----------------------------------------------------------------------------------

def test_the_key_is_created_once_private_to_its_owner_and_its_public_half_exports(tmp_path):
    path = tmp_path / "instance" / "audit-signing-key.pem"
    first = checkpoints.load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = checkpoints.load_or_create_key(path)
    assert checkpoints.key_id(first) == checkpoints.key_id(again)
    pem = checkpoints.public_key_pem(first)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert checkpoints.key_id(checkpoints.load_public_key(pem)) == checkpoints.key_id(first)
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(ValueError, match="无法读取"):
        checkpoints.load_or_create_key(tmp_path / "bad.pem")


def test_key_path_defaults_to_the_instance_folder_and_follows_the_environment(tmp_path):
    settings = Settings.from_env({})
    assert checkpoints.default_key_path(tmp_path, settings.audit_key) == \
        tmp_path / checkpoints.KEY_FILE_NAME
    settings = Settings.from_env({checkpoints.KEY_ENV: str(tmp_path / "elsewhere.pem")})
    assert checkpoints.default_key_path(tmp_path, settings.audit_key) == \
        tmp_path / "elsewhere.pem"


# -- an untouched log ----------------------------------------------------------------------------

def test_an_untouched_log_verifies_and_later_events_are_fine(loops, key, clock):
    done = run_case(loops)
    running = loops.cases.start_case("parallel_loop", {"limit": 1}, ADMIN)
    checkpoint = sign(loops, key)
    assert [(c.case_number, c.events) for c in checkpoint.cases] == [
        (done.number, 7), (running.number, 4)]
    assert checkpoint.id is not None
    report = check(loops, checkpoint, key)
    assert report.ok and report.signature_ok and report.root_ok
    clock.advance(hours=2)
    loops.cases.complete(running.tasks[0].id, {}, ADMIN)  # the log grows after signing
    report = check(loops, checkpoint, key)
    assert report.ok
    grown = next(c for c in report.cases if c.case_id == running.id)
    assert (grown.events_signed, grown.events_now) == (4, 5)
    # The stored copy and a copy that went through a file both verify.
    with loops.db.reading() as session:
        stored = checkpoints.get_recorded(session, checkpoint.id)
        assert [c.id for c in checkpoints.recorded(session)] == [checkpoint.id]
    assert check(loops, stored, key).ok
    assert check(loops, checkpoints.Checkpoint.from_json(checkpoint.to_json()), key).ok


# -- each kind of tampering ----------------------------------------------------------------------

def test_an_edited_payload_breaks_the_chain_at_that_event(loops, key):
    case = run_case(loops)
    checkpoint = sign(loops, key)
    edit_payload(loops, case.id, 5, lambda p: p["data"].update(note="改过的"))
    with loops.db.reading() as session:
        report = verify_case(session, session.get(CaseRecord, case.id))
    assert not report.ok and report.first_broken_seq == 5
    assert "内容被修改" in report.problems[0]
    assert status_of(check(loops, checkpoint, key), case.id) == checkpoints.CHAIN_BROKEN


def test_a_deleted_event_is_detected(loops, key):
    case = run_case(loops)
    checkpoint = sign(loops, key)
    with loops.db.transaction() as session:
        session.execute(delete(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.seq == 4))
    with loops.db.reading() as session:
        report = verify_case(session, session.get(CaseRecord, case.id))
    assert not report.ok and report.first_broken_seq == 5  # #5 follows #3
    assert status_of(check(loops, checkpoint, key), case.id) == checkpoints.CHAIN_BROKEN


def test_a_deleted_last_event_is_missing_against_the_checkpoint(loops, key):
    case = run_case(loops)
    checkpoint = sign(loops, key)
    with loops.db.transaction() as session:
        session.execute(delete(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.seq == 7))
    assert not chain_ok(loops, case.id)  # the case row still counts seven
    report = check(loops, checkpoint, key)
    assert status_of(report, case.id) == checkpoints.EVENTS_MISSING and not report.ok


def test_an_inserted_event_is_detected(loops, key, clock):
    case = run_case(loops)
    checkpoint = sign(loops, key)
    with loops.db.transaction() as session:
        last = events_of(session, case.id)[-1]
        forged = dict(case_id=case.id, seq=8, kind=audit.TASK_ASSIGNED, actor="mallory",
                      at=clock.now(), task_id=None, task_spec=None,
                      definition_hash=last.definition_hash, payload="{}", prev_hash=last.hash)
        session.add(CaseEvent(**forged, hash=audit.event_hash(**forged)))
    with loops.db.reading() as session:
        report = verify_case(session, session.get(CaseRecord, case.id))
    assert not report.ok and "末端" in report.problems[0]
    assert status_of(check(loops, checkpoint, key), case.id) == checkpoints.CHAIN_BROKEN


def test_reordered_events_are_detected_and_recomputing_them_fails_the_checkpoint(loops, key):
    case = run_case(loops)
    checkpoint = sign(loops, key)
    with loops.db.transaction() as session:
        rows = {e.seq: e for e in events_of(session, case.id)}
        rows[5].seq = -5
        session.flush()
        rows[6].seq = 5
        session.flush()
        rows[5].seq = 6
    with loops.db.reading() as session:
        report = verify_case(session, session.get(CaseRecord, case.id))
    with loops.db.transaction() as session:  # put them back
        rows = {e.seq: e for e in events_of(session, case.id)}
        rows[5].seq = -5
        session.flush()
        rows[6].seq = 5
        session.flush()
        rows[5].seq = 6
    assert chain_ok(loops, case.id)
    assert not report.ok and report.first_broken_seq in (5, 6) and "重排" in report.problems[0]
    # A careful forger swaps the two rows' contents instead and recomputes every hash.
    with loops.db.transaction() as session:
        rows = {e.seq: e for e in events_of(session, case.id)}
        first, second = rows[5], rows[6]
        for column in ("kind", "actor", "task_id", "task_spec", "payload"):
            a, b = getattr(first, column), getattr(second, column)
            setattr(first, column, b)
            setattr(second, column, a)
    rewrite_chain(loops, case.id)
    assert chain_ok(loops, case.id)
    assert status_of(check(loops, checkpoint, key), case.id) == checkpoints.HEAD_MISMATCH


def test_a_fully_recomputed_chain_passes_the_chain_but_not_the_checkpoint(loops, key):
    case = run_case(loops)
    other = run_case(loops)
    checkpoint = sign(loops, key)
    edit_payload(loops, case.id, 5, lambda p: p["data"].update(note="改过的"))
    rewrite_chain(loops, case.id)
    assert chain_ok(loops, case.id)  # the chain alone cannot tell
    report = check(loops, checkpoint, key)
    assert not report.ok and report.signature_ok and report.root_ok
    assert status_of(report, case.id) == checkpoints.HEAD_MISMATCH
    assert status_of(report, other.id) == checkpoints.OK
    assert [c.case_id for c in report.broken] == [case.id]


def test_a_recomputed_chain_with_an_event_removed_is_missing_events(loops, key):
    case = run_case(loops)
    checkpoint = sign(loops, key)
    with loops.db.transaction() as session:
        session.execute(delete(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.seq == 4))
    rewrite_chain(loops, case.id)
    assert chain_ok(loops, case.id)
    assert status_of(check(loops, checkpoint, key), case.id) == checkpoints.EVENTS_MISSING


def test_a_deleted_case_is_missing(loops, key):
    case = run_case(loops)
    checkpoint = sign(loops, key)
    with loops.db.transaction() as session:
        session.execute(delete(CaseRecord).where(CaseRecord.id == case.id))
    assert status_of(check(loops, checkpoint, key), case.id) == checkpoints.CASE_MISSING


# -- forged checkpoints --------------------------------------------------------------------------

def test_a_checkpoint_edited_to_match_a_rewritten_history_fails_its_signature(loops, key):
    case = run_case(loops)
    checkpoint = sign(loops, key)
    edit_payload(loops, case.id, 5, lambda p: p["data"].update(note="改过的"))
    rewrite_chain(loops, case.id)
    doc = json.loads(checkpoint.to_json())
    with loops.db.reading() as session:
        doc["cases"][0]["head"] = session.get(CaseRecord, case.id).head_hash
    forged = checkpoints.Checkpoint.from_json(json.dumps(doc))
    report = check(loops, forged, key)
    assert not report.root_ok and not report.ok
    # … and recomputing the root as well still leaves the signature wrong.
    forged.merkle_root = checkpoints.merkle_root(forged.cases)
    report = check(loops, forged, key)
    assert report.root_ok and not report.signature_ok and not report.ok


def test_a_checkpoint_signed_with_another_key_is_refused(loops, key, tmp_path):
    run_case(loops)
    mallory = checkpoints.load_or_create_key(tmp_path / "mallory.pem")
    checkpoint = sign(loops, mallory)
    report = check(loops, checkpoint, key)
    assert not report.signature_ok and not report.ok
    assert any("另一把密钥" in p for p in report.problems)
    with loops.db.reading() as session:  # without a trusted key: integrity only, said so
        untrusted = checkpoints.verify(session, checkpoint)
    assert untrusted.signature_ok and not untrusted.ok and "受信任" in untrusted.problems[0]


def test_a_damaged_checkpoint_file_is_a_clear_error():
    with pytest.raises(ValueError, match="检查点"):
        checkpoints.Checkpoint.from_json("{\"format\": \"something else\"}")
    with pytest.raises(ValueError, match="检查点"):
        checkpoints.Checkpoint.from_json(b"\xff not json")


def test_public_keys_are_read_from_pem_text_raw_base64_or_a_file_but_text_never_names_a_file(
        key, tmp_path):
    pem = checkpoints.public_key_pem(key)
    (tmp_path / "pub.pem").write_text(pem)
    wanted = checkpoints.key_id(key)
    assert checkpoints.key_id(checkpoints.load_public_key(pem)) == wanted
    assert checkpoints.key_id(checkpoints.load_public_key(tmp_path / "pub.pem")) == wanted
    raw = base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    assert checkpoints.key_id(checkpoints.load_public_key(raw.decode())) == wanted
    with pytest.raises(ValueError, match="无法读取公钥"):
        checkpoints.load_public_key(str(tmp_path / "pub.pem"))  # pasted text, not a path
    with pytest.raises(ValueError, match="无法读取公钥"):
        checkpoints.load_public_key("-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----")
