"""What the loops share: who a department's leads and members are, and an in-app
notification written in the caller's transaction (the `notification` table of
engine.worker.escalations), so a notice commits or rolls back with the step that caused it."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import policy
from engine.people.users import actor_of
from engine.store.models import Notification, User


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
