"""The 差评整改 case writes back into its rating: a step hook (run inside every step's
transaction) reads what the step did to a `loop_bad_rating` case and updates the rating
row — handling chosen at 回访核实, the ledger deadline, the rectification, the appeal
decision, the feedback the applicant sees — and escalates an overdue rectification with
in-app notifications to the department's leads and the 好差评办公室.

Two rules the diagram cannot say are enforced here, by refusing the step: only a lead
(or an admin) decides an appeal, and a rejected appeal cannot be made again.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from SpiffWorkflow.util.task import TaskState

from engine.cases import state
from engine.cases.step import StepContext
from engine.errors import NotAllowed, ValidationFailed
from engine.cases import policy
from engine.people.users import actor_of
from engine.store.models import TASK_OPEN, HumanTask, Notification, User
from engine.store.models_loops import Rating
from engine.loops.ratings import CLOSED, OFFICE, REVIEW_PROCESS

OVERDUE_KIND = "rectification_overdue"


def on_step(context: StepContext) -> None:
    """Step hook: keep the rating of a 差评整改 case in line with the case. Idempotent: each
    rule fires only when the row does not yet show what the workflow shows."""
    case = context.case
    if case.process_key != REVIEW_PROCESS:
        return
    data, ready = _current(context)
    rating_id = data.get("rating_id")
    if not isinstance(rating_id, int):
        return
    rating = context.session.get(Rating, rating_id)
    if rating is None:
        return
    if rating.review_case_id is None:
        rating.review_case_id = case.id
    _appeal_decided(context, rating, data, ready)
    _handling_chosen(context, rating, data, ready)
    if rating.handling == "ledger" and rating.rectification_due is None:
        due = data.get("rectification_due")
        if isinstance(due, str):
            rating.rectification_due = datetime.fromisoformat(due)
    if (rating.handling == "ledger" and rating.rectified_at is None
            and data.get("rectification_result") and "rectification" not in ready):
        rating.rectified_at = context.now
    if rating.escalated_at is None and _overdue_fired(context):
        rating.escalated_at = context.now
        _notify_overdue(context, rating)
    if context.completed and rating.feedback is None:
        rating.feedback = str(data.get("feedback_text") or "")[:1000]
        rating.feedback_at = context.now
        rating.status = CLOSED


def _current(context: StepContext) -> tuple[dict, set[str]]:
    """The case's data as its next steps see it, and the specs of its ready tasks."""
    workflow = context.workflow
    if workflow.is_completed():
        return dict(workflow.data), set()
    return state.current_data(workflow), {t.task_spec.bpmn_id for t in workflow.get_tasks(
        state=TaskState.READY)}


def _handling_chosen(context, rating: Rating, data: dict, ready: set[str]) -> None:
    handling = data.get("handling")
    if not handling or "callback_verify" in ready:
        return
    if rating.handling not in (None, "appeal_rejected"):
        return
    if handling == "appeal" and rating.handling == "appeal_rejected":
        raise ValidationFailed("申诉已被驳回，不能再次申诉；请整改或解释说明",
                               {"handling": "申诉已被驳回"})
    rating.handling = handling
    if handling == "rectify_now":
        rating.rectified_at = context.now


def _appeal_decided(context, rating: Rating, data: dict, ready: set[str]) -> None:
    decision = data.get("appeal_decision")
    if rating.handling != "appeal" or decision not in ("upheld", "rejected") \
            or "appeal_review" in ready:
        return
    actor = context.actor
    if not policy.leads(actor, OFFICE):
        raise NotAllowed("申诉须由好差评办公室负责人决定")
    rating.handling = "appeal_upheld" if decision == "upheld" else "appeal_rejected"
    rating.excluded = decision == "upheld"


def _overdue_fired(context: StepContext) -> bool:
    return any(t.task_spec.bpmn_id == "rectification_overdue"
               for t in context.workflow.get_tasks(state=TaskState.COMPLETED))


def _notify_overdue(context: StepContext, rating: Rating) -> None:
    """逾期督办: the leads of the responsible department and everyone in the 好差评办公室
    hear of it, once each (same uniqueness as the clock's escalations)."""
    session, case, now = context.session, context.case, context.now
    task_id = session.scalar(select(HumanTask.id).where(
        HumanTask.case_id == case.id, HumanTask.task_spec == "rectification",
        HumanTask.state == TASK_OPEN))
    due = rating.rectification_due
    message = (f"差评整改逾期：办件 {case.number}（{rating.scope_name}，{rating.department}）"
               f"整改期限 {due.astimezone(now.tzinfo):%Y-%m-%d} 已过，请督办")
    people = set()
    for user in session.scalars(select(User).where(User.active.is_(True))):
        if OFFICE in (user.groups or []) or policy.is_lead_of(actor_of(user), rating.department):
            people.add(user.username)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for username in sorted(people):
        session.execute(insert(Notification).values(
            username=username, case_id=case.id, task_id=task_id, kind=OVERDUE_KIND,
            message=message, created_at=now).on_conflict_do_nothing(
            index_elements=["username", "task_id", "kind"]))
