"""12345 work orders end to end on the frozen clock (Friday 20 Nov 2026, 09:00): 受理 → 派单
→ 签收 → 办理答复 → 回访 → 办结, with 退单 (only with a legal basis), re-dispatch or an owner
decided by the hotline, 退件 of an order nobody signed for, extension requests that only a
hotline lead may decide, 督办 before and after the deadline, and 重办 after an unsatisfied
call-back."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.cases import eventlog as audit
from engine.cases.eventlog import verify_case
from engine.worktime.clock import SHANGHAI
from engine.people.departments import Departments
from engine.audit.replay import reexecute
from engine.errors import NotAllowed, ValidationFailed
from engine.store.models import CaseRecord, Notification
from engine.store.models_loops import WorkOrder
from engine.cases.dto import Actor
from engine.loops.workorders import HOTLINE, WORKORDER_PROCESS
from web import formsource

CGJ, ZJJ = "城市管理局", "住房和城乡建设局"
OPERATOR = Actor("hotline1", frozenset({"hotline"}), frozenset({HOTLINE}))
HOTLINE_LEAD = Actor("hotline-lead", frozenset({"hotline", "lead"}), frozenset({HOTLINE}))
CLERK = Actor("cgj1", frozenset({"approver"}), frozenset({CGJ}))
ZJJ_CLERK = Actor("zjj1", frozenset({"approver"}), frozenset({ZJJ}))
ADMIN = Actor("admin", frozenset({"admin"}))
CALL = {"citizen_name": "王女士", "citizen_phone": "13912345678", "category": "general",
        "content": "振兴路与光明街交叉口的井盖缺失，夜间有安全隐患，请尽快处理。",
        "address": "茌平区振兴路与光明街交叉口"}


def at(day: int, hour: int = 9, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def hotline(deployed):
    departments = Departments(deployed.db)
    for name in (CGJ, ZJJ):
        departments.add(name)
    departments.add(HOTLINE, kind="window")
    for username, roles, group in (("hotline1", {"hotline"}, HOTLINE),
                                   ("hotline-lead", {"hotline", "lead"}, HOTLINE),
                                   ("cgj1", {"approver"}, CGJ), ("cgj-lead", {"lead"}, CGJ),
                                   ("zjj-lead", {"lead"}, ZJJ)):
        deployed.users.create(username, "secret-pass", roles=roles, groups={group})
    return deployed


def task(rt, case_id: int, spec: str | None = None):
    tasks = rt.cases.get_case(case_id, ADMIN).tasks
    return next(t for t in tasks if spec is None or t.task_spec == spec)


def specs(rt, case_id: int) -> list[str]:
    return [t.task_spec for t in rt.cases.get_case(case_id, ADMIN).tasks]


def complete(rt, case_id: int, spec: str, values: dict, actor: Actor):
    open_task = task(rt, case_id, spec)
    form = formsource.task_form(rt, open_task)
    data = formsource.clean(form, values, current=rt.cases.task_data(open_task.id))
    return rt.cases.complete(open_task.id, data, actor)


def order(rt, case_id: int):
    return rt.loops.workorders.get(case_id, ADMIN)


def notified(rt, username: str, kind: str) -> list[str]:
    with rt.db.reading() as session:
        return list(session.scalars(select(Notification.message).where(
            Notification.username == username, Notification.kind == kind)))


def intake(rt, **changes):
    return rt.loops.workorders.intake(OPERATOR, {**CALL, **changes})


def dispatched(rt, department: str = CGJ, **changes):
    case = intake(rt, **changes)
    complete(rt, case.id, "dispatch", {"handler_department": department,
                                       "co_departments": ZJJ}, OPERATOR)
    return case


def signed(rt, **changes):
    case = dispatched(rt, **changes)
    complete(rt, case.id, "sign_for", {"sign_decision": "accept"}, CLERK)
    return case


# -- 受理 ------------------------------------------------------------------------------

def test_intake_refuses_bad_input_in_chinese_and_stores_nothing(hotline):
    with pytest.raises(ValidationFailed) as refused:
        intake(hotline, citizen_phone="12345", content="井盖", category="weather")
    assert set(refused.value.fields) == {"citizen_phone", "content", "category"}
    assert "手机号码" in refused.value.fields["citizen_phone"]
    with hotline.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(CaseRecord)) == 0


@pytest.mark.parametrize("phone, kept", [("139-1234-5678", "13912345678"),
                                         ("+86 139 1234 5678", "13912345678"),
                                         ("0635-8123456", "0635-8123456")])
def test_a_caller_may_give_a_mobile_or_a_landline_as_the_application_forms_accept_them(
        hotline, phone, kept):
    intake(hotline, citizen_phone=phone)
    with hotline.db.reading() as session:
        assert session.scalar(select(WorkOrder.citizen_phone)) == kept


def test_a_number_no_mobile_has_is_refused_as_on_the_application_forms(hotline):
    with pytest.raises(ValidationFailed) as refused:
        intake(hotline, citizen_phone="12012345678")  # no mobile number starts with 12
    assert set(refused.value.fields) == {"citizen_phone"}


def test_only_the_hotline_takes_calls(hotline):
    with pytest.raises(NotAllowed):
        hotline.loops.workorders.intake(CLERK, CALL)


def test_dispatch_limit_follows_the_category(hotline):
    general = intake(hotline)
    urgent = intake(hotline, category="urgent")
    utilities = intake(hotline, category="utilities")
    assert general.process_key == WORKORDER_PROCESS
    assert task(hotline, general.id).lane == HOTLINE
    assert task(hotline, general.id).due_at == at(21)  # 24 hours
    assert task(hotline, urgent.id).due_at == at(20, 10)  # 1 hour
    assert task(hotline, utilities.id).due_at == at(20, 11)  # 2 hours
    assert order(hotline, urgent.id).category_label == "紧急"


# -- the straight path -------------------------------------------------------------------

def test_order_goes_from_intake_to_closed_through_the_departments_queue(hotline, clock):
    case = intake(hotline)
    assert order(hotline, case.id).state == "dispatching"
    complete(hotline, case.id, "dispatch", {"handler_department": CGJ,
                                            "co_departments": ZJJ}, OPERATOR)
    sign = task(hotline, case.id, "sign_for")
    assert (sign.lane, sign.due_at) == (CGJ, at(21))
    assert [t.task_spec for t in hotline.tasks.visible(CLERK, departments=True)] == ["sign_for"]
    assert hotline.tasks.visible(ZJJ_CLERK, departments=True) == []
    assert notified(hotline, "cgj1", "workorder_dispatched")
    assert notified(hotline, "zjj-lead", "workorder_cohandle")  # the co-handler hears of it
    assert order(hotline, case.id).co_departments == (ZJJ,)
    clock.set(at(20, 14))
    complete(hotline, case.id, "sign_for", {"sign_decision": "accept"}, CLERK)
    handle = task(hotline, case.id, "handle")
    assert (handle.lane, handle.due_at) == (CGJ, at(1, 23, 59, month=12).replace(second=59))
    complete(hotline, case.id, "handle", {"handle_action": "answer",
                                          "answer_content": "已于当日补装井盖并设置警示标志。"},
             CLERK)
    assert (task(hotline, case.id).task_spec, task(hotline, case.id).lane) == (
        "callback", HOTLINE)
    done = complete(hotline, case.id, "callback", {"satisfaction": "satisfied"}, OPERATOR)
    assert done.status == "completed"
    closed = order(hotline, case.id)
    assert (closed.state, closed.satisfaction, closed.urges) == ("closed", "satisfied", 0)
    with hotline.db.reading() as session:
        assert verify_case(session, session.get(CaseRecord, case.id)).ok


def test_dispatch_to_an_unknown_department_is_refused(hotline):
    case = intake(hotline)
    with pytest.raises(ValidationFailed) as refused:
        complete(hotline, case.id, "dispatch", {"handler_department": "不存在局"}, OPERATOR)
    assert "不存在" in refused.value.fields["handler_department"]
    assert specs(hotline, case.id) == ["dispatch"]


# -- 退单 and 退件 --------------------------------------------------------------------------

def test_return_without_legal_basis_is_refused(hotline):
    case = dispatched(hotline)
    with pytest.raises(ValidationFailed) as refused:
        complete(hotline, case.id, "sign_for", {"sign_decision": "return"}, CLERK)
    assert set(refused.value.fields) == {"return_basis"}
    assert specs(hotline, case.id) == ["sign_for"]


def test_returned_order_is_redispatched_by_the_hotline(hotline):
    case = dispatched(hotline)
    complete(hotline, case.id, "sign_for", {
        "sign_decision": "return",
        "return_basis": "依据《城镇排水与污水处理条例》第二十条，检查井盖由产权单位负责维护。"}, CLERK)
    review = task(hotline, case.id, "review_return")
    assert review.lane == HOTLINE
    assert notified(hotline, "hotline-lead", "workorder_returned")
    assert order(hotline, case.id).returns == 1
    complete(hotline, case.id, "review_return", {"return_decision": "redispatch"}, OPERATOR)
    assert specs(hotline, case.id) == ["dispatch"]
    complete(hotline, case.id, "dispatch", {"handler_department": ZJJ}, OPERATOR)
    assert task(hotline, case.id).lane == ZJJ


def test_hotline_may_decide_the_owner_after_a_return(hotline):
    case = dispatched(hotline)
    complete(hotline, case.id, "sign_for", {"sign_decision": "return",
                                            "return_basis": "不属于本部门职责"}, CLERK)
    complete(hotline, case.id, "review_return", {"return_decision": "assign_owner",
                                                 "owner_department": CGJ,
                                                 "return_review_note": "井盖属市政设施"},
             OPERATOR)
    handle = task(hotline, case.id)
    assert (handle.task_spec, handle.lane) == ("handle", CGJ)  # no second 退单
    assert order(hotline, case.id).state == "handling"


def test_unsigned_order_is_returned_to_the_hotline_after_the_limit(hotline, clock):
    case = dispatched(hotline, category="urgent")  # sign within 1 hour
    clock.set(at(20, 9, 59))
    assert hotline.timers.run_once().fired == 0
    clock.set(at(20, 10, 1))
    assert hotline.timers.run_once().fired == 1
    assert specs(hotline, case.id) == ["dispatch"]
    returned = order(hotline, case.id)
    assert (returned.state, returned.unsigned_returns) == ("dispatching", 1)
    assert notified(hotline, "hotline-lead", "workorder_unsigned")
    assert notified(hotline, "cgj-lead", "workorder_unsigned")  # the department is reported
    assert task(hotline, case.id).due_at == at(20, 11, 1)  # a fresh dispatch limit


# -- 督办 -------------------------------------------------------------------------------

def test_urged_before_and_after_the_deadline_once_each(hotline, clock):
    case = signed(hotline)  # answer due Tue 1 Dec 23:59:59; urged at the end of Mon 30 Nov
    clock.set(at(30, 23, 0))
    assert hotline.timers.run_once().fired == 0
    clock.set(at(1, 0, 30, month=12))
    assert hotline.timers.run_once().fired == 1
    assert order(hotline, case.id).urges == 1
    [before] = notified(hotline, "cgj1", "workorder_urged")
    assert before.startswith("到期前督办")
    assert specs(hotline, case.id) == ["handle"]  # the clerk keeps working on it
    clock.set(at(2, 8, 0, month=12))
    assert hotline.timers.run_once().fired == 1
    assert hotline.timers.run_once().fired == 0
    assert order(hotline, case.id).urges == 2
    assert sorted(m[:4] for m in notified(hotline, "hotline-lead", "workorder_urged")) == [
        "到期前督", "逾期督办"]
    kinds = [e.kind for e in hotline.cases.events(case.id, ADMIN)]
    assert kinds.count(audit.WORKORDER_URGED) == 2
    complete(hotline, case.id, "handle", {"handle_action": "answer",
                                          "answer_content": "已处理"}, CLERK)
    assert specs(hotline, case.id) == ["callback"]
    assert reexecute(hotline, case.id).conformant  # the timers replay from the log


# -- 延期 -------------------------------------------------------------------------------

def request_extension(rt, case_id: int, days: int = 3) -> None:
    complete(rt, case_id, "handle", {"handle_action": "extend", "extension_days": days,
                                     "extension_reason": "需协调产权单位更换井盖"}, CLERK)


def test_extension_approved_by_the_hotline_lead_moves_the_deadline(hotline):
    case = signed(hotline)
    request_extension(hotline, case.id)
    assert task(hotline, case.id).lane == HOTLINE
    assert notified(hotline, "hotline-lead", "workorder_extension")
    with pytest.raises(NotAllowed):  # an operator may not decide it
        complete(hotline, case.id, "approve_extension", {"extension_decision": "approve",
                                                         "extension_opinion": "同意"}, OPERATOR)
    assert specs(hotline, case.id) == ["approve_extension"]
    complete(hotline, case.id, "approve_extension", {"extension_decision": "approve",
                                                     "extension_opinion": "同意延期 3 个工作日"},
             HOTLINE_LEAD)
    handle = task(hotline, case.id, "handle")
    assert handle.due_at == datetime(2026, 12, 4, 23, 59, 59, tzinfo=SHANGHAI)  # 1 Dec + 3
    assert reexecute(hotline, case.id).conformant


def test_extension_refused_keeps_the_deadline(hotline):
    case = signed(hotline)
    request_extension(hotline, case.id)
    complete(hotline, case.id, "approve_extension", {"extension_decision": "refuse",
                                                     "extension_opinion": "理由不充分"},
             HOTLINE_LEAD)
    handle = task(hotline, case.id, "handle")
    assert handle.due_at == datetime(2026, 12, 1, 23, 59, 59, tzinfo=SHANGHAI)


# -- 重办 -------------------------------------------------------------------------------

def test_unsatisfied_callback_sends_the_order_back_for_rehandling(hotline, clock):
    case = signed(hotline)
    complete(hotline, case.id, "handle", {"handle_action": "answer",
                                          "answer_content": "已安排巡查"}, CLERK)
    clock.set(at(24, 10))
    complete(hotline, case.id, "callback", {"satisfaction": "unsatisfied",
                                            "callback_note": "井盖仍未补装"}, OPERATOR)
    handle = task(hotline, case.id)
    assert (handle.task_spec, handle.lane) == ("handle", CGJ)
    assert handle.due_at == datetime(2026, 12, 3, 23, 59, 59, tzinfo=SHANGHAI)  # 7 more days
    assert order(hotline, case.id).rehandles == 1
    assert notified(hotline, "cgj1", "workorder_rehandle")
    complete(hotline, case.id, "handle", {"handle_action": "answer",
                                          "answer_content": "已补装井盖"}, CLERK)
    done = complete(hotline, case.id, "callback", {"satisfaction": "basic"}, OPERATOR)
    assert done.status == "completed"
    assert order(hotline, case.id).state == "closed"
    assert reexecute(hotline, case.id).conformant


def test_departments_see_only_their_orders(hotline):
    mine = dispatched(hotline)
    other = dispatched(hotline, department=ZJJ)
    listed = {o.case_id for o in hotline.loops.workorders.orders(CLERK)}
    assert mine.id in listed and other.id not in listed
    assert {mine.id, other.id} <= {o.case_id for o in hotline.loops.workorders.orders(OPERATOR)}
    with pytest.raises(NotAllowed):
        hotline.loops.workorders.get(other.id, CLERK)
    assert hotline.loops.workorders.counts(OPERATOR)["signing"] == 2
    assert timedelta(0) < order(hotline, mine.id).due_at - at(20) <= timedelta(hours=24)
