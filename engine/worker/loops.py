"""The loops around approval, wired together: 审管联动 (supervision), 12345 work orders and
主动提醒 (renewal reminders) — their step hooks on the case service and their background
jobs on the timer worker (`onething worker` runs them every round, after the timers).

Also the two small things the three share: who a department's leads and members are, and
an in-app notification written in the caller's transaction (the `notification` table of
engine.worker.escalations), so a notice commits or rolls back with the step that caused it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import Notification, User
from engine.hall import policy
from engine.people.users import actor_of

if TYPE_CHECKING:
    from engine.loops.reminders import Reminders
    from engine.loops.supervision import Supervision
    from engine.loops.workorders import WorkOrders


def env_int(name: str, default: int, *, low: int = 0, high: int = 3650) -> int:
    """An integer setting from the environment, refusing nonsense at start-up."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = int(raw)
    if not low <= value <= high:
        raise ValueError(f"{name} 须在 {low} 到 {high} 之间")
    return value


def people_of(session: Session, department: str, *, leads_only: bool = False) -> list[str]:
    """Usernames of the active people of `department` (its leads only, when asked)."""
    out = []
    for user in session.scalars(select(User).where(User.active.is_(True))
                                .order_by(User.username)):
        if department in (user.groups or []) and (
                not leads_only or policy.is_lead_of(actor_of(user), department)):
            out.append(user.username)
    return out


def notify(session: Session, usernames: Iterable[str], *, case_id: int | None, kind: str,
           message: str, now: datetime) -> int:
    """Write one in-app notification per person, in the caller's transaction. Callers
    guard against repeats with their own state (a flag, an audit event), which is
    serialised by the case version; returns how many were written."""
    count = 0
    for username in sorted(set(usernames)):
        session.add(Notification(username=username, case_id=case_id, task_id=None,
                                 kind=kind[:30], message=message, created_at=now))
        count += 1
    return count


@dataclass
class Loops:
    """The services of the loops; `Runtime.loops`."""

    supervision: "Supervision"
    workorders: "WorkOrders"
    reminders: "Reminders"


def build_loops(db, cases, clock, catalogue, timers) -> Loops:
    """Create the three services, hook them into every case step and give their jobs to
    the timer worker."""
    from engine.loops.reminders import Reminders
    from engine.loops.supervision import Supervision
    from engine.loops.workorders import WorkOrders

    supervision = Supervision(db, cases, clock, catalogue,
                              sign_days=env_int("ONETHING_SUPERVISION_SIGN_DAYS", 2, low=1,
                                                high=60))
    workorders = WorkOrders(db, cases, clock)
    reminders = Reminders(db, cases, clock,
                          days_before=env_int("ONETHING_RENEWAL_REMIND_DAYS", 60, low=1,
                                              high=365))
    for hook in (supervision.on_step, workorders.on_step, reminders.on_step):
        cases.add_step_hook(hook)
    if timers is not None:
        timers.jobs.extend([supervision.run_due, reminders.run_due])
    return Loops(supervision, workorders, reminders)
