"""差评整改 end to end on the frozen clock: a 差评 of a finished construction permit starts
its own case, routed to the rated department's clerks (回访核实) → rectify now / ledger with
a deadline (overdue: the worker escalates to the department's leads and the 好差评办公室) /
explain / appeal (upheld or rejected by a lead) → feedback shown to the applicant, who may
then rate again."""
from __future__ import annotations


import pytest

from engine.cases.eventlog import verify_case
from engine.errors import Conflict, NotAllowed, ValidationFailed
from engine.loops.ratings import REVIEW_PROCESS
from engine.store.models import CaseRecord, Notification
from engine.cases.dto import Actor
from tests.scenarios.test_construction_permit import issue, review_all, start

HOUSING = "住房和城乡建设局"
OFFICE = "好差评办公室"
FRONT = Actor("frontdesk", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
CLERK = Actor("zjj", frozenset({"approver"}), frozenset({HOUSING}))
OTHER = Actor("rfb", frozenset({"approver"}), frozenset({"人民防空办公室"}))
OFFICE_CLERK = Actor("hcp", frozenset({"approver"}), frozenset({OFFICE}))
OFFICE_LEAD = Actor("hcp-lead", frozenset({"lead"}), frozenset({OFFICE}))
AUDITOR = Actor("auditor", frozenset({"auditor"}))
ACCEPT = {"acceptance_decision": "accept", "materials_complete": True}


def finished_case(rt):
    case = start(rt)
    case = rt.cases.complete(case.tasks[0].id, ACCEPT, FRONT)
    case = review_all(rt, case)
    issue(rt, case)
    return case


def bad_rating(rt, case, scope="item_construction_permit", score=1):
    rating = rt.ratings.rate(case.id, scope, score, "窗口人员态度差，材料被要求重复提交")
    assert rating.review_case_id is not None
    # Read as an auditor: a case is read only by departments with a task in it, and the
    # responsible department is not always 住建局 (CLERK).
    return rating, rt.cases.get_case(rating.review_case_id, AUDITOR)


def open_task(review, spec):
    return next(t for t in review.tasks if t.task_spec == spec)


def verify(rt, review, handling, note="已电话回访申请人，情况属实", clerk=CLERK):
    return rt.cases.complete(open_task(review, "callback_verify").id,
                             {"callback_note": note, "handling": handling,
                              "handling_note": "整改措施：一次性告知材料清单"}, clerk)


def feed_back(rt, review, text="已整改，感谢监督"):
    review = rt.cases.complete(open_task(review, "feedback").id, {"feedback_text": text},
                               OFFICE_CLERK)
    assert review.status == "completed"
    return review


@pytest.fixture
def rt(deployed):
    return deployed


def test_bad_rating_goes_to_the_rated_departments_clerks(rt):
    case = finished_case(rt)
    rating, review = bad_rating(rt, case)
    assert review.process_key == REVIEW_PROCESS
    callback = open_task(review, "callback_verify")
    assert callback.lane == HOUSING
    assert [t.id for t in rt.tasks.visible(CLERK, departments=True)] == [callback.id]
    assert rt.tasks.visible(OTHER, departments=True) == []
    with pytest.raises(NotAllowed):  # another department cannot handle it
        rt.cases.complete(callback.id, {"callback_note": "x", "handling": "explain",
                                        "handling_note": "x"}, OTHER)
    assert rt.ratings.get(rating.id).handling is None


def test_rectify_now_then_feedback_closes_and_allows_re_rating(rt):
    case = finished_case(rt)
    rating, review = bad_rating(rt, case)
    with pytest.raises(Conflict):  # still being handled
        rt.ratings.rate(case.id, "item_construction_permit", 5)
    review = verify(rt, review, "rectify_now")
    assert rt.ratings.get(rating.id).rectified_at == rt.clock.now()
    feed_back(rt, review, "已对窗口人员批评教育，并公布一次性告知清单")
    closed = rt.ratings.get(rating.id)
    assert (closed.status, closed.handling) == ("closed", "rectify_now")
    assert closed.feedback == "已对窗口人员批评教育，并公布一次性告知清单"
    again = rt.ratings.rate(case.id, "item_construction_permit", 5, "整改后很满意")
    current = rt.ratings.current(case.id)
    assert current["item_construction_permit"].id == again.id
    assert [r.score for r in rt.ratings.history(case.id)] == [1, 5]
    with rt.db.reading() as session:
        assert verify_case(session, session.get(CaseRecord, case.id)).ok
        assert verify_case(session, session.get(CaseRecord, review.id)).ok


def test_explain_feeds_back_without_rectification(rt):
    case = finished_case(rt)
    rating, review = bad_rating(rt, case, scope="case", score=2)
    hall = Actor("spj", frozenset({"approver"}), frozenset({"行政审批服务局"}))
    assert open_task(review, "callback_verify").lane == rating.department == "行政审批服务局"
    review = verify(rt, review, "explain", note="经核实，申请材料确需补正，已向申请人解释",
                    clerk=hall)
    feed_back(rt, review, "经核实系法定要求，已作解释")
    closed = rt.ratings.get(rating.id)
    assert (closed.handling, closed.rectified_at, closed.status) == ("explain", None, "closed")


def test_ledger_rectification_in_time(rt):
    case = finished_case(rt)
    rating, review = bad_rating(rt, case)
    review = verify(rt, review, "ledger")
    ledger = rt.ratings.get(rating.id)
    assert ledger.handling == "ledger"
    # 15 working days from Friday 2026-11-20: Friday 2026-12-11, end of day.
    assert ledger.rectification_due.astimezone(rt.clock.now().tzinfo).date().isoformat() \
        == "2026-12-11"
    rt.clock.advance(days=10)
    assert rt.timers.run_once().fired == 0
    review = rt.cases.complete(open_task(review, "rectification").id,
                               {"rectification_result": "已修订办事指南并培训窗口人员"}, CLERK)
    assert rt.ratings.get(rating.id).rectified_at == rt.clock.now()
    feed_back(rt, review)
    rt.clock.advance(days=30)
    rt.timers.run_once()
    assert rt.ratings.get(rating.id).escalated_at is None


def test_overdue_rectification_escalates_to_leads_and_office(rt):
    for username, roles, group in (("zjj-lead", ["lead"], HOUSING), ("hcp", ["approver"], OFFICE),
                                   ("zjj-clerk", ["approver"], HOUSING)):
        rt.users.create(username, "pw-123456789", roles=roles, groups=[group])
    case = finished_case(rt)
    rating, review = bad_rating(rt, case)
    review = verify(rt, review, "ledger")
    rectification = open_task(review, "rectification")
    assert rectification.due_at == rt.ratings.get(rating.id).rectification_due  # in task lists
    rt.clock.advance(days=22)  # past Friday 2026-12-11
    assert rt.timers.run_once().fired == 1
    overdue = rt.ratings.get(rating.id)
    assert overdue.escalated_at == rt.clock.now()
    with rt.db.reading() as session:
        told = sorted(n.username for n in session.query(Notification).filter_by(
            kind="rectification_overdue"))
    assert told == ["hcp", "zjj-lead"]
    overdue_tasks = rt.tasks.visible(CLERK, departments=True, due=rt.clocks.band("overdue"))
    assert [t.task_spec for t in overdue_tasks] == ["rectification"]
    messages = [n.message for n in rt.escalations.unread("zjj-lead")]
    assert any("差评整改逾期" in m for m in messages)  # ours, beside the task's own 逾期 notice
    assert any("「限期整改」已逾期" in m for m in messages)
    # The rectification stays open (non-interrupting) and can still be done.
    review = rt.cases.get_case(review.id, CLERK)
    review = rt.cases.complete(open_task(review, "rectification").id,
                               {"rectification_result": "已整改"}, CLERK)
    feed_back(rt, review)
    assert rt.ratings.get(rating.id).status == "closed"
    rt.timers.run_once()
    with rt.db.reading() as session:
        assert session.query(Notification).filter_by(kind="rectification_overdue").count() == 2


def test_appeal_upheld_by_a_lead_excludes_the_rating(rt):
    case = finished_case(rt)
    rating, review = bad_rating(rt, case)
    review = verify(rt, review, "appeal", note="申请人为竞争对手，恶意差评，有录音为证")
    appeal = open_task(review, "appeal_review")
    assert appeal.lane == OFFICE
    decision = {"appeal_decision": "upheld", "appeal_opinion": "经核实系恶意差评"}
    with pytest.raises(NotAllowed):
        rt.cases.complete(appeal.id, decision, OFFICE_CLERK)
    review = rt.cases.complete(appeal.id, decision, OFFICE_LEAD)
    assert rt.ratings.get(rating.id).handling == "appeal_upheld"
    feed_back(rt, review, "经核实，该评价不予采纳")
    closed = rt.ratings.get(rating.id)
    assert closed.excluded and closed.status == "closed"


def test_appeal_rejected_goes_back_and_cannot_be_repeated(rt):
    case = finished_case(rt)
    rating, review = bad_rating(rt, case)
    review = verify(rt, review, "appeal")
    review = rt.cases.complete(open_task(review, "appeal_review").id,
                               {"appeal_decision": "rejected", "appeal_opinion": "证据不足"},
                               OFFICE_LEAD)
    assert rt.ratings.get(rating.id).handling == "appeal_rejected"
    assert [t.task_spec for t in review.tasks] == ["callback_verify"]
    with pytest.raises(ValidationFailed):
        verify(rt, review, "appeal")
    review = verify(rt, review, "rectify_now")
    feed_back(rt, review)
    closed = rt.ratings.get(rating.id)
    assert (closed.handling, closed.excluded, closed.status) == ("rectify_now", False, "closed")


def test_invitation_three_days_after_completion(rt):
    case = finished_case(rt)
    other = finished_case(rt)
    rt.ratings.rate(other.id, "case", 5)
    rt.clock.advance(days=2, hours=23)
    rt.timers.run_once()  # the worker's round runs the invitation job
    assert rt.ratings.invitation(case.id) is None
    rt.clock.advance(hours=2)
    rt.timers.run_once()
    assert rt.ratings.invitation(case.id) == rt.clock.now()
    assert rt.ratings.invitation(other.id) is None
    at = rt.clock.now()
    rt.clock.advance(hours=1)
    assert rt.ratings.invite_due() == 0  # once only
    assert rt.ratings.invitation(case.id) == at
    rt.ratings.rate(case.id, "case", 4)
    assert rt.ratings.invitation(case.id) is None
