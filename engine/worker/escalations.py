"""Escalation: when a task becomes 预警 or 逾期, its assignee and the leads of its
department hear of it — in the app always, and through any other senders configured
(SMS, e-mail gateways: pluggable; the default only logs). Each person is told once per
task and state, however many workers scan.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, Sequence

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.worktime.clock import Clock
from engine.cases.clocks import Clocks
from engine.worktime.deadlines import OVERDUE, STATE_LABELS, WARNING
from engine.cases import policy
from engine.people.users import actor_of
from engine.store.db import Database
from engine.store.models import TASK_OPEN, CaseRecord, HumanTask, Notification, User

log = logging.getLogger(__name__)


class Sender(Protocol):
    """Delivers a notification outside the app (SMS, e-mail, the government IM …)."""

    def send(self, username: str, message: str) -> None: ...


class LoggingSender:
    def send(self, username: str, message: str) -> None:
        log.info("notify %s: %s", username, message)


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    message: str
    case_id: int | None
    task_id: str | None
    created_at: datetime
    read: bool


class Escalations:
    def __init__(self, db: Database, clock: Clock, clocks: Clocks,
                 senders: Sequence[Sender] = (LoggingSender(),)):
        self.db, self.clock, self.clocks, self.senders = db, clock, clocks, list(senders)

    def scan(self) -> int:
        """Notify everyone who should hear of a task newly in 预警 or 逾期; returns how many
        notifications were created."""
        now = self.clock.now()
        _, warn_until = self.clocks.band(WARNING)
        created = []
        with self.db.transaction() as session:
            rows = session.execute(
                select(HumanTask, CaseRecord.number)
                .join(CaseRecord, CaseRecord.id == HumanTask.case_id)
                .where(HumanTask.state == TASK_OPEN, HumanTask.due_at.is_not(None),
                       HumanTask.due_at <= warn_until)).all()
            leads = self._leads(session, {task.lane for task, _ in rows if task.lane})
            for task, number in rows:
                due = task.due_at
                assert due is not None  # the query asks for tasks with a due time
                kind = OVERDUE if due < now else WARNING
                message = (f"办件 {number}「{task.name}」已{STATE_LABELS[kind]}，"
                           f"截止 {due.astimezone(now.tzinfo):%Y-%m-%d %H:%M}")
                lane_leads = leads.get(task.lane, ()) if task.lane else ()
                for username in {task.assignee, *lane_leads} - {None}:
                    if self._insert(session, username, task, kind, message, now):
                        created.append((username, message))
        for username, message in created:  # only after the commit: never twice
            for sender in self.senders:
                try:
                    sender.send(username, message)
                except Exception:  # noqa: BLE001 - a broken gateway must not stop the scan
                    log.exception("sender %r failed", sender)
        return len(created)

    def unread(self, username: str, limit: int = 50) -> list[NotificationView]:
        with self.db.reading() as session:
            rows = session.scalars(select(Notification).where(
                Notification.username == username, Notification.read_at.is_(None))
                .order_by(Notification.created_at.desc()).limit(limit))
            return [NotificationView(n.id, n.kind, n.message, n.case_id, n.task_id,
                                     n.created_at, False) for n in rows]

    def mark_read(self, username: str) -> None:
        with self.db.transaction() as session:
            session.execute(update(Notification).where(
                Notification.username == username, Notification.read_at.is_(None))
                .values(read_at=self.clock.now()))

    @staticmethod
    def _leads(session, lanes: set[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for user in session.scalars(select(User).where(User.active.is_(True))):
            for lane in sorted(lanes & set(user.groups or [])):
                if policy.is_lead_of(actor_of(user), lane):
                    out.setdefault(lane, []).append(user.username)
        return out

    def _insert(self, session, username, task, kind, message, now) -> bool:
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        result = session.execute(insert(Notification).values(
            username=username, case_id=task.case_id, task_id=task.id, kind=kind,
            message=message, created_at=now).on_conflict_do_nothing(
            index_elements=["username", "task_id", "kind"]))
        return bool(result.rowcount)
