"""审管联动 end to end on the frozen clock: an approved item is written to the outbox in the
approving step, the worker pushes it to the supervising department's queue as a
supervision case, the department signs for it — or, unsigned after two working days, the
system claims it, records that and reports the department — and a violation notice
suspends or revokes the licence on the ORIGINAL case."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine.cases import eventlog as audit
from engine.cases.eventlog import verify_case
from engine.worktime.clock import SHANGHAI
from engine.errors import NotAllowed, ValidationFailed
from engine.audit.replay import reexecute
from engine.store.models import CaseRecord, Notification
from engine.store.models_loops import SupervisionPush
from engine.loops.supervision import SUPERVISION_PROCESS
from engine.cases.dto import Actor
from tests.conftest import PROCESSES, deploy_files
from tests.scenarios.test_construction_permit import ACCEPT, FRONT, review_all, start
from web import formsource

HOUSING = "住房和城乡建设局"
SUPERVISOR = Actor("jgk", frozenset({"supervisor"}), frozenset({HOUSING}))
ADMIN = Actor("admin", frozenset({"admin"}))
REFUSED = "night_construction"


def approved_case(rt):
    """施工许可一件事 accepted and reviewed: every item approved but night construction."""
    case = start(rt)
    case = rt.cases.complete(case.tasks[0].id, ACCEPT, FRONT)
    return review_all(rt, case, lambda key: "refuse" if key == REFUSED else "approve")


def pushes(rt, **where):
    with rt.db.reading() as session:
        query = select(SupervisionPush).order_by(SupervisionPush.id)
        for name, value in where.items():
            query = query.where(getattr(SupervisionPush, name) == value)
        return list(session.scalars(query))


def push_of(rt, item: str) -> SupervisionPush:
    [push] = pushes(rt, item_key=f"item_{item}")
    return push


def open_task(rt, case_id: int, spec: str):
    case = rt.cases.get_case(case_id, ADMIN)
    return next(t for t in case.tasks if t.task_spec == spec)


def complete(rt, task, values, actor):
    """Through the same validation as the task page and the API."""
    form = formsource.task_form(rt, task)
    data = formsource.clean(form, values, current=rt.cases.task_data(task.id))
    return rt.cases.complete(task.id, data, actor)


@pytest.fixture
def hall(deployed):
    deployed.users.create("zjj-lead", "secret-pass", roles={"lead", "approver"},
                          groups={HOUSING})
    deployed.users.create("jgk", "secret-pass", roles={"supervisor"}, groups={HOUSING})
    return deployed


def test_each_approved_item_is_written_once_in_the_approving_step(hall):
    case = approved_case(hall)
    rows = pushes(hall)
    assert len(rows) == 11 and REFUSED not in {r.item_key for r in rows}
    assert {r.state for r in rows} == {"pending"}
    permit = push_of(hall, "construction_permit")
    assert (permit.case_id, permit.supervisor, permit.licence_no) == (
        case.id, HOUSING, "LC-CONSTRUCTION-001")
    # Later steps of the case (issuance) see the finished items again: still one row each.
    issued = hall.cases.complete(open_task(hall, case.id, "issuance").id,
                                 {"delivery_method": "window"},
                                 Actor("chujian", frozenset({"issuance"}),
                                       frozenset({"统一出件窗口"})))
    assert issued.status == "completed" and len(pushes(hall)) == 11


def test_the_worker_pushes_to_the_supervising_department_not_the_approval(hall):
    case = approved_case(hall)
    assert hall.cases.get_case(case.id, ADMIN).tasks  # issuance still waits: nothing pushed yet
    result = hall.timers.run_once()
    assert result.jobs >= 11
    assert hall.timers.run_once().jobs == 0  # each push is started once
    permit = push_of(hall, "construction_permit")
    assert permit.state == "queued" and permit.supervision_case_id
    sign = open_task(hall, permit.supervision_case_id, "sign_for")
    assert (sign.lane, sign.name) == (HOUSING, "签收")
    # Due at the end of the second working day: Fri 20 Nov → Tue 24 Nov.
    assert sign.due_at.astimezone(SHANGHAI) == datetime(2026, 11, 24, 23, 59, 59,
                                                        tzinfo=SHANGHAI)
    mine = hall.tasks.visible(SUPERVISOR, departments=True, process=SUPERVISION_PROCESS)
    assert len(mine) == 4  # the four items 住建局 approved are in its supervision queue


def test_signing_in_time_records_who_signed(hall, clock):
    approved_case(hall)
    hall.timers.run_once()
    permit = push_of(hall, "construction_permit")
    sign = open_task(hall, permit.supervision_case_id, "sign_for")
    clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI))
    complete(hall, sign, {"sign_note": "已签收，纳入日常监管"}, SUPERVISOR)
    permit = push_of(hall, "construction_permit")
    assert (permit.state, permit.signed_by, permit.auto_claimed) == ("signed", "jgk", False)
    clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI))
    hall.timers.run_once()
    assert push_of(hall, "construction_permit").auto_claimed is False  # its timer was cancelled


def test_unsigned_push_is_claimed_by_the_system_and_the_department_reported(hall, clock):
    approved_case(hall)
    hall.timers.run_once()
    permit = push_of(hall, "construction_permit")
    clock.set(datetime(2026, 11, 24, 18, 0, tzinfo=SHANGHAI))  # still within the second day
    assert hall.timers.run_once().fired == 0
    clock.set(datetime(2026, 11, 25, 8, 30, tzinfo=SHANGHAI))
    assert hall.timers.run_once().fired == 11
    permit = push_of(hall, "construction_permit")
    assert (permit.state, permit.auto_claimed, permit.signed_by) == (
        "auto_claimed", True, "system")
    kinds = [e.kind for e in hall.cases.events(permit.supervision_case_id, ADMIN)]
    assert kinds.count(audit.SUPERVISION_AUTO_CLAIMED) == 1
    # The department must still check the licence: the task is in its queue.
    check = open_task(hall, permit.supervision_case_id, "supervise")
    assert check.lane == HOUSING
    with hall.db.reading() as session:
        told = list(session.scalars(select(Notification).where(
            Notification.username == "zjj-lead", Notification.kind == "supervision_auto_claimed")))
    assert len(told) == 4 and "自动认领" in told[0].message
    tally = {t.supervisor: t for t in hall.loops.supervision.tally(ADMIN)}
    assert (tally[HOUSING].total, tally[HOUSING].auto_claimed) == (4, 4)
    hall.timers.run_once()  # nothing is claimed or reported twice
    assert len(pushes(hall, auto_claimed=True)) == 11
    assert reexecute(hall, permit.supervision_case_id).conformant


def test_violation_notice_revokes_the_licence_on_the_original_case(hall):
    case = approved_case(hall)
    hall.timers.run_once()
    permit = push_of(hall, "construction_permit")
    complete(hall, open_task(hall, permit.supervision_case_id, "sign_for"), {}, SUPERVISOR)
    check = open_task(hall, permit.supervision_case_id, "supervise")
    with pytest.raises(ValidationFailed) as refused:  # a violation needs its notice
        complete(hall, check, {"supervision_result": "violation"}, SUPERVISOR)
    assert set(refused.value.fields) == {"violation_action", "violation_notice"}
    notice = "经现场检查，施工现场安全防护严重缺失，依法吊销施工许可。"
    done = complete(hall, check, {"supervision_result": "violation", "violation_action": "revoke",
                                  "violation_notice": notice}, SUPERVISOR)
    assert done.status == "completed"
    permit = push_of(hall, "construction_permit")
    assert (permit.state, permit.action, permit.notice) == ("violation", "revoke", notice)
    events = [e for e in hall.cases.events(case.id, ADMIN) if e.kind == audit.VIOLATION_NOTICE]
    assert len(events) == 1 and events[0].actor == "jgk"
    [shown] = [p for p in hall.loops.supervision.for_case(case.id) if p.action]
    assert (shown.action_label, shown.supervisor) == ("吊销（撤销）许可", HOUSING)
    with hall.db.reading() as session:
        assert verify_case(session, session.get(CaseRecord, case.id)).ok
        assert verify_case(session, session.get(CaseRecord, permit.supervision_case_id)).ok
    assert reexecute(hall, case.id).conformant  # the notice is a fact, not an engine input


def test_a_compliant_check_files_the_push(hall):
    approved_case(hall)
    hall.timers.run_once()
    permit = push_of(hall, "construction_permit")
    complete(hall, open_task(hall, permit.supervision_case_id, "sign_for"), {}, SUPERVISOR)
    complete(hall, open_task(hall, permit.supervision_case_id, "supervise"),
             {"supervision_result": "compliant", "supervision_note": "资料齐全"}, SUPERVISOR)
    assert push_of(hall, "construction_permit").state == "closed"


def test_other_departments_cannot_sign_for_a_push(hall):
    approved_case(hall)
    hall.timers.run_once()
    permit = push_of(hall, "construction_permit")
    stranger = Actor("cgj", frozenset({"supervisor"}), frozenset({"城市管理局"}))
    with pytest.raises(NotAllowed):
        hall.cases.complete(open_task(hall, permit.supervision_case_id, "sign_for").id, {},
                            stranger)


def test_pushes_wait_until_the_supervision_process_is_deployed(runtime):
    deploy_files(runtime, *[p for p in PROCESSES.iterdir() if p.is_dir() and p.name != "loops"])
    approved_case(runtime)
    assert runtime.timers.run_once().jobs == 0
    assert {p.state for p in pushes(runtime)} == {"pending"}
    deploy_files(runtime, PROCESSES / "loops")
    assert runtime.timers.run_once().jobs == 11
    assert {p.state for p in pushes(runtime)} == {"queued"}
