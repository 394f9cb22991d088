"""The audit log: one `case_event` per fact, each hashed over canonical JSON and chained
to the previous event of the same case.

The chain head and the event count are also kept on the case row (written under the
case's optimistic version), so appending never scans the log and truncating the log's
tail is detected as well as editing, deleting, inserting or reordering rows.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import canonical
from engine.i18n import N_
from engine.store.models import CaseEvent, CaseRecord

# Kinds of fact; one list so reports and filters agree.
CASE_STARTED = "case_started"
TASK_CREATED = "task_created"
TASK_CLAIMED = "task_claimed"
TASK_UNCLAIMED = "task_unclaimed"
TASK_ASSIGNED = "task_assigned"
TASK_COMPLETED = "task_completed"
TASK_CANCELLED = "task_cancelled"
CASE_COMPLETED = "case_completed"
CASE_CANCELLED = "case_cancelled"
INCIDENT_RAISED = "incident_raised"
INCIDENT_RETRIED = "incident_retried"
TIMER_FIRED = "timer_fired"
CLOCK_STARTED = "clock_started"
CLOCK_PAUSED = "clock_paused"
CLOCK_RESUMED = "clock_resumed"
CLOCK_EXTENDED = "clock_extended"
EVENT_KINDS = (CASE_STARTED, TASK_CREATED, TASK_CLAIMED, TASK_UNCLAIMED, TASK_ASSIGNED,
               CLOCK_STARTED, CLOCK_PAUSED, CLOCK_RESUMED, CLOCK_EXTENDED, TASK_COMPLETED,
               TASK_CANCELLED, CASE_COMPLETED, CASE_CANCELLED, INCIDENT_RAISED,
               INCIDENT_RETRIED, TIMER_FIRED)
# Applicant portal and 好差评 (issue 7): a rating of the case, what the applicant sent in.
RATING_GIVEN = "rating_given"
APPLICANT_SUBMITTED = "applicant_submitted"
EVENT_KINDS += (RATING_GIVEN, APPLICANT_SUBMITTED)
# 审管联动 and 主动提醒 (issue 7): a push claimed by the system because nobody signed for it in
# time; a supervisor's violation notice (suspend / revoke) on the ORIGINAL case; a 12345
# 督办 reminder; a renewal reminder produced for a licence nearing expiry.
SUPERVISION_AUTO_CLAIMED = "supervision_auto_claimed"
VIOLATION_NOTICE = "violation_notice"
WORKORDER_URGED = "workorder_urged"
RENEWAL_REMINDED = "renewal_reminded"
EVENT_KINDS += (SUPERVISION_AUTO_CLAIMED, VIOLATION_NOTICE, WORKORDER_URGED, RENEWAL_REMINDED)
# 告知承诺 (issue 6): a result revoked after a failed site check (核查不通过，撤销许可).
RESULT_REVOKED = "result_revoked"
EVENT_KINDS += (RESULT_REVOKED,)
# 容缺受理 (issue 6): a 容缺后补 material supplied after acceptance (at the counter or online).
MATERIAL_SUPPLIED = "material_supplied"
EVENT_KINDS += (MATERIAL_SUPPLIED,)
# Analyst studio (issue 8): a running case moved to another version of a process, and back.
CASE_MIGRATED = "case_migrated"
MIGRATION_REVERTED = "migration_reverted"
EVENT_KINDS += (CASE_MIGRATED, MIGRATION_REVERTED)
# What each kind is called where people read the log (case page, audit history, XES).
EVENT_LABELS = {
    CASE_STARTED: N_("收件"), TASK_CREATED: N_("任务到达"), TASK_CLAIMED: N_("认领"),
    TASK_UNCLAIMED: N_("退回认领"), TASK_ASSIGNED: N_("改派"),
    TASK_COMPLETED: N_("办理完成"), TASK_CANCELLED: N_("任务取消"),
    CASE_COMPLETED: N_("办结"), CASE_CANCELLED: N_("撤销"), INCIDENT_RAISED: N_("故障"),
    INCIDENT_RETRIED: N_("故障重试"), TIMER_FIRED: N_("计时器触发"),
    CLOCK_STARTED: N_("开始计时"), CLOCK_PAUSED: N_("暂停计时"),
    CLOCK_RESUMED: N_("恢复计时"), CLOCK_EXTENDED: N_("延期"),
    RATING_GIVEN: N_("好差评"), APPLICANT_SUBMITTED: N_("申请人网上提交补正"),
    CASE_MIGRATED: N_("迁移到新版本"), MIGRATION_REVERTED: N_("撤销迁移"),
    SUPERVISION_AUTO_CLAIMED: N_("超时自动认领"), VIOLATION_NOTICE: N_("违法违规通知"),
    WORKORDER_URGED: N_("督办"), RENEWAL_REMINDED: N_("续期提醒"),
    MATERIAL_SUPPLIED: N_("容缺材料补齐"), RESULT_REVOKED: N_("撤销许可（核查不通过）"),
}


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def event_hash(*, case_id: int, seq: int, kind: str, actor: str | None, at: datetime,
               task_id: str | None, task_spec: str | None, definition_hash: str,
               payload: str, prev_hash: str | None) -> str:
    """SHA-256 over the canonical JSON of every column that states the fact."""
    body = canonical.dumps({
        "case": case_id, "seq": seq, "kind": kind, "actor": actor, "at": _timestamp(at),
        "task": task_id, "task_spec": task_spec, "definition": definition_hash,
        "payload": canonical.loads(payload), "prev": prev_hash,
    })
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append_event(session: Session, case: CaseRecord, *, kind: str, actor: str | None,
                 at: datetime, definition_hash: str, payload: dict[str, Any] | None = None,
                 task_id: str | None = None, task_spec: str | None = None) -> CaseEvent:
    """Add the next event of `case` to the session; the caller commits it with the step."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    seq = case.event_count + 1
    text = canonical.dumps(payload or {})
    digest = event_hash(case_id=case.id, seq=seq, kind=kind, actor=actor, at=at,
                        task_id=task_id, task_spec=task_spec, definition_hash=definition_hash,
                        payload=text, prev_hash=case.head_hash)
    event = CaseEvent(case_id=case.id, seq=seq, kind=kind, actor=actor, at=at, task_id=task_id,
                      task_spec=task_spec, definition_hash=definition_hash, payload=text,
                      prev_hash=case.head_hash, hash=digest)
    session.add(event)
    case.event_count = seq
    case.head_hash = digest
    return event


def application_of(events: Iterable[CaseEvent]) -> dict[str, Any]:
    """The application as received: the data the case started with (its first event,
    `case_started`); empty when there are no events."""
    first = next(iter(events), None)
    if first is None or first.kind != CASE_STARTED:
        return {}
    return canonical.loads(first.payload).get("data") or {}


@dataclass
class ChainReport:
    """The outcome of walking one case's chain."""

    case_id: int
    case_number: str
    events: int = 0
    problems: list[str] = field(default_factory=list)
    first_broken_seq: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def _fail(self, seq: int | None, message: str) -> None:
        if self.first_broken_seq is None and seq is not None:
            self.first_broken_seq = seq
        self.problems.append(message)


def verify_case(session: Session, case: CaseRecord) -> ChainReport:
    """Walk the events of `case` in storage order and report the first break."""
    report = ChainReport(case.id, case.number)
    rows: Iterable[CaseEvent] = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    prev_hash: str | None = None
    expected_seq = 1
    for event in rows:
        report.events += 1
        if event.seq != expected_seq:
            report._fail(event.seq, f"事件 #{event.seq}（id {event.id}）序号不连续："
                                    f"应为 #{expected_seq}（事件被删除、插入或重排）")
            break
        if event.prev_hash != prev_hash:
            report._fail(event.seq, f"事件 #{event.seq}（id {event.id}）的前序哈希与上一事件不符"
                                    "（事件被删除、插入或重排）")
            break
        recomputed = event_hash(case_id=event.case_id, seq=event.seq, kind=event.kind,
                                actor=event.actor, at=event.at, task_id=event.task_id,
                                task_spec=event.task_spec,
                                definition_hash=event.definition_hash, payload=event.payload,
                                prev_hash=event.prev_hash)
        if recomputed != event.hash:
            report._fail(event.seq, f"事件 #{event.seq}（id {event.id}，{event.kind}）内容被修改："
                                    "哈希不符")
            break
        prev_hash = event.hash
        expected_seq += 1
    else:
        if report.events != case.event_count or prev_hash != case.head_hash:
            report._fail(report.events + 1,
                         f"事件链末端与办件记录不符：记录有 {case.event_count} 个事件，"
                         f"实际 {report.events} 个（末尾事件被删除或链被替换）")
    return report
