"""The timer worker: finds due timers in the `timer` table (never by deserialising
workflows) and fires each exactly once through the case service.

Any number of workers may run, on any number of hosts: firing locks the timer row
(SKIP LOCKED on PostgreSQL, so workers pass each other by instead of queueing), checks it
is still waiting, and takes the case step under the case's version. A step that loses a
race with a clerk is simply tried again next round. A step that fails for any other
reason is retried with exponential backoff; after `max_attempts` it becomes an incident
that administrators see and can retry.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select

from engine.cases.service import CaseService
from engine.worktime.clock import Clock
from engine.errors import Conflict, NotFound
from engine.worker.escalations import Escalations
from engine.store.db import Database
from engine.store.models import TIMER_FAILED, TIMER_WAITING, Incident, Timer

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


@dataclass
class Round:
    """What one pass over the due timers did."""

    fired: int = 0
    skipped: int = 0  # taken by another worker, or lost a race: tried again next round
    failed: list[str] = field(default_factory=list)
    notified: int = 0  # 预警/逾期 notifications sent
    jobs: int = 0  # things the background jobs did (invitations, reminders …)


class TimerWorker:
    def __init__(self, db: Database, cases: CaseService, clock: Clock, *,
                 escalations: Escalations, batch: int = 100, max_attempts: int = 5):
        self.db, self.cases, self.clock = db, cases, clock
        self.escalations = escalations
        self.batch, self.max_attempts = batch, max_attempts
        # Background jobs run once per round after the timers (rating invitations, reminders
        # …): each is a callable returning how many things it did; it must be idempotent, as
        # several workers may run it at once.
        self.jobs: list = []

    def due(self) -> list[str]:
        """Ids of waiting timers whose time has come (and whose backoff has passed)."""
        now = self.clock.now()
        with self.db.reading() as session:
            return list(session.scalars(
                select(Timer.id).where(Timer.state == TIMER_WAITING, Timer.due_at <= now,
                                       or_(Timer.not_before.is_(None), Timer.not_before <= now))
                .order_by(Timer.due_at, Timer.id).limit(self.batch)))

    def run_once(self) -> Round:
        result = Round()
        for timer_id in self.due():
            try:
                if self.cases.fire_timer(timer_id):
                    result.fired += 1
                else:
                    result.skipped += 1
            except Conflict:
                result.skipped += 1
            except Exception as exc:  # noqa: BLE001 - any failure is retried, then an incident
                log.exception("timer %s failed", timer_id)
                self._record_failure(timer_id, exc)
                result.failed.append(timer_id)
        try:
            result.notified = self.escalations.scan()
        except Conflict:
            pass  # another worker is scanning the same tasks right now
        for job in self.jobs:
            try:
                result.jobs += job() or 0
            except Conflict:
                pass  # another worker did the same job at the same moment
            except Exception:  # noqa: BLE001 - one failing job must not stop the timers
                log.exception("background job %r failed", job)
        return result

    def run_forever(self, *, interval: float = 5.0, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            result = self.run_once()
            if result.fired or result.failed:
                log.info("timers: %d fired, %d skipped, %d failed", result.fired,
                         result.skipped, len(result.failed))
            stop.wait(interval if not result.fired else 0)

    def retry(self, timer_id: str) -> None:
        """An administrator puts a failed timer back in the queue."""
        with self.db.transaction() as session:
            timer = session.get(Timer, timer_id)
            if timer is None or timer.state != TIMER_FAILED:
                raise NotFound("该计时器不存在或未失败")
            timer.state, timer.attempts, timer.not_before = TIMER_WAITING, 0, None
            for incident in session.scalars(select(Incident).where(
                    Incident.task_id == timer_id, Incident.resolved_at.is_(None))):
                incident.resolved_at = self.clock.now()

    def _record_failure(self, timer_id: str, exc: Exception) -> None:
        now = self.clock.now()
        with self.db.transaction() as session:
            timer = session.get(Timer, timer_id)
            if timer is None:
                return
            timer.attempts += 1
            timer.last_error = f"{exc.__class__.__name__}: {exc}"[:2000]
            delay = min(BACKOFF_BASE * 2 ** (timer.attempts - 1), BACKOFF_CAP)
            timer.not_before = now + delay
            if timer.attempts >= self.max_attempts:
                timer.state = TIMER_FAILED
                session.add(Incident(case_id=timer.case_id, task_id=timer.id,
                                     task_spec=timer.task_spec, created_at=now,
                                     message=f"计时器「{timer.task_spec}」连续 {timer.attempts} "
                                             f"次触发失败：{timer.last_error}"))
