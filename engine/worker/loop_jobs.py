"""The loops around approval, wired together: 审管联动 (supervision), 12345 work orders and
主动提醒 (renewal reminders) — their step hooks on the case service and their background
jobs on the timer worker (`onething worker` runs them every round, after the timers).
What the three share (people of a department, notices) is engine.loops.notices."""
from __future__ import annotations

from dataclasses import dataclass

from engine.cases.service import CaseService
from engine.definitions.catalogue import Catalogue
from engine.loops.reminders import Reminders
from engine.loops.supervision import Supervision
from engine.loops.workorders import WorkOrders, load_limits
from engine.settings import Settings
from engine.store.db import Database
from engine.worker.timers import TimerWorker
from engine.worktime.clock import Clock


@dataclass
class Loops:
    """The services of the loops; `Runtime.loops`."""

    supervision: Supervision
    workorders: WorkOrders
    reminders: Reminders


def build_loops(db: Database, cases: CaseService, clock: Clock, catalogue: Catalogue,
                timers: TimerWorker, settings: Settings) -> Loops:
    """Create the three services, hook them into every case step and give their jobs to
    the timer worker."""
    supervision = Supervision(db, cases, clock, catalogue,
                              sign_days=settings.supervision_sign_days)
    workorders = WorkOrders(db, cases, clock, limits=load_limits(settings.workorder_limits))
    reminders = Reminders(db, cases, clock, days_before=settings.renewal_remind_days)
    for hook in (supervision.on_step, workorders.on_step, reminders.on_step):
        cases.add_step_hook(hook)
    timers.jobs.extend([supervision.run_due, reminders.run_due])
    return Loops(supervision, workorders, reminders)
