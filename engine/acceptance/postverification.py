"""告知承诺 after the decision: the site check (事后核查) and what a failed one does.

Under 告知承诺 a department decides on the applicant's signed commitment at once, so the
licence joins the one-thing's other results and is issued without waiting; the department
checks on site afterwards (e.g. fire safety: within 20 working days). In the diagram the
check is a user task that runs beside issuance. Its properties (camunda:properties) say
what a failed check means:

- `revokes_result`: the item key whose result the check can revoke (fire_safety_inspection);
- `revoke_when`: a condition over the check's completed data (`..._result == 'fail'`);
- `revoke_reason`: the field holding why (the inspector's opinion);
- `credit_subject` / `credit_subject_name`: the fields naming whom to flag (credit code).

The diagram itself sets `<item>_decision = 'revoked'` on that path. This step hook adds what
a diagram cannot: a `result_revoked` audit event on the case and a credit flag on the
applicant (engine.acceptance.credit), so the counter refuses them 容缺受理 from then on.

Issuance ends the statutory clock too: a user task with the property `stops_clock` stops
the case's own clock when it completes, because the site check that may follow is
supervision, not part of the promised time limit.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from SpiffWorkflow.util.task import TaskState

from engine.cases import eventlog as audit
from engine.cases.helpers import definition_key, hash_for
from engine.cases.step import StepContext
from engine.cases.clocks import Clocks
from engine.acceptance.credit import FALSE_COMMITMENT, CreditFlags
from engine.errors import ExpressionError
from engine.sandbox import Sandbox
from engine.store.models import CaseClock, CaseEvent

REVOKES_RESULT = "revokes_result"
REVOKE_WHEN = "revoke_when"
REVOKE_REASON = "revoke_reason"
CREDIT_SUBJECT = "credit_subject"
CREDIT_SUBJECT_NAME = "credit_subject_name"
STOPS_CLOCK = "stops_clock"


class PostVerification:
    """The step hook (see engine.cases.step): idempotent, inside the step's transaction."""

    def __init__(self, credit: CreditFlags, sandbox: Sandbox, clocks: Clocks | None = None):
        self.credit, self.sandbox, self.clocks = credit, sandbox, clocks

    def __call__(self, context: StepContext) -> None:
        for task in context.workflow.get_tasks(state=TaskState.COMPLETED):
            extensions = getattr(task.task_spec, "extensions", None) or {}
            if extensions.get(REVOKES_RESULT):
                self._revoke_if_failed(context, task, extensions)
            if extensions.get(STOPS_CLOCK) and self.clocks is not None:
                self._stop_case_clock(context, task)

    # -- a failed site check ------------------------------------------------------------

    def _revoke_if_failed(self, context: StepContext, task, extensions: dict[str, Any]) -> None:
        data = task.data
        try:
            failed = bool(self.sandbox.evaluate(extensions.get(REVOKE_WHEN) or "False", data))
        except ExpressionError:
            failed = False
        if not failed:
            return
        session, case = context.session, context.case
        task_id = str(task.id)
        if session.scalar(select(CaseEvent.id).where(
                CaseEvent.case_id == case.id, CaseEvent.kind == audit.RESULT_REVOKED,
                CaseEvent.task_id == task_id)) is not None:
            return
        item = extensions[REVOKES_RESULT]
        reason = str(data.get(extensions.get(REVOKE_REASON) or "") or "").strip() \
            or "告知承诺事后核查不通过"
        subject = str(data.get(extensions.get(CREDIT_SUBJECT) or "") or "").strip()
        name = str(data.get(extensions.get(CREDIT_SUBJECT_NAME) or "") or "").strip() or None
        flag = None
        if subject:
            flag = self.credit.flag_in(
                session, subject=subject, subject_name=name, source=FALSE_COMMITMENT,
                reason=f"告知承诺不实，{item_label(data, item)}被撤销：{reason}",
                at=context.now, actor=context.actor.username, case_id=case.id,
                item=f"item_{item}")
        audit.append_event(
            session, case, kind=audit.RESULT_REVOKED, actor=context.actor.username,
            at=context.now, definition_hash=hash_for(case, definition_key(case, task)),
            task_id=task_id, task_spec=task.task_spec.bpmn_id,
            payload={"item": item, "reason": reason,
                     "licence_no": data.get(f"{item}_licence_no"),
                     "credit_subject": subject or None,
                     "credit_flag": flag.id if flag is not None else None})
        _mark_push_revoked(session, case.id, f"item_{item}", reason, context.now)

    # -- issuance ends the promised time limit ----------------------------------------

    def _stop_case_clock(self, context: StepContext, task) -> None:
        case = context.case
        if definition_key(case, task) != case.process_key:
            return
        running = context.session.scalar(select(CaseClock.id).where(
            CaseClock.case_id == case.id, CaseClock.scope == case.process_key,
            CaseClock.stopped_at.is_(None)))
        if running is not None:
            self.clocks.stop(context.session, case.id, [case.process_key], context.now)


def _mark_push_revoked(session, case_id: int, item_key: str, reason: str, now) -> None:
    """The supervisor's copy of the result (审管联动) says it was revoked, so the supervision
    page shows it and no renewal reminder is produced for a licence that no longer exists."""
    from engine.store.models_loops import SupervisionPush

    push = session.scalar(select(SupervisionPush).where(
        SupervisionPush.case_id == case_id, SupervisionPush.item_key == item_key))
    if push is not None and push.action != "revoke":
        push.action, push.notice, push.notice_at = "revoke", f"告知承诺事后核查不通过：{reason}", now


def item_label(data: dict[str, Any], item: str) -> str:
    """How a revoked result is named in the flag's reason: its licence number if any."""
    number = data.get(f"{item}_licence_no")
    return f"许可（{number}）" if number else "许可"

