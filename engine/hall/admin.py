"""The administrator's repairs: failed steps and timers (incidents) listed and retried;
and whether the hall has any case yet (seeding sample cases). One call each,
administrator checked inside."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from engine.cases.dto import Actor
from engine.errors import NotAllowed
from engine.runtime import Runtime
from engine.store.models import CaseRecord, Incident, Timer

INCIDENTS_SHOWN = 200


@dataclass(frozen=True)
class IncidentView:
    """An unresolved failure: where (case, step), why, when, and whether it is a timer."""

    id: int
    case_id: int
    case_number: str
    task_id: str | None
    task_spec: str | None
    message: str
    created_at: datetime
    failed_timer: bool


def check_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotAllowed("只有系统管理员可以处理故障")


def open_incidents(rt: Runtime, actor: Actor) -> list[IncidentView]:
    """The newest unresolved incidents (at most INCIDENTS_SHOWN), newest first."""
    check_admin(actor)
    with rt.db.reading() as session:
        rows = session.execute(
            select(Incident, CaseRecord.number).join(CaseRecord, CaseRecord.id == Incident.case_id)
            .where(Incident.resolved_at.is_(None)).order_by(Incident.created_at.desc())
            .limit(INCIDENTS_SHOWN)).all()
        failed_timers = set(session.scalars(select(Timer.id).where(Timer.state == "failed")))
        return [IncidentView(i.id, i.case_id, number, i.task_id, i.task_spec, i.message,
                             i.created_at, i.task_id in failed_timers) for i, number in rows]


def retry_incident(rt: Runtime, actor: Actor, incident_id: int) -> None:
    """Run the failed step again: a failed timer fires anew, any other incident re-runs
    its step (NotFound when it does not exist or was already handled)."""
    check_admin(actor)
    with rt.db.reading() as session:
        incident = session.get(Incident, incident_id)
        timer = session.get(Timer, incident.task_id) if incident and incident.task_id else None
        failed_timer = timer.id if timer is not None and timer.state == "failed" else None
    if failed_timer is not None:
        rt.timers.retry(failed_timer)
    else:
        rt.cases.retry_incident(incident_id, actor)


def has_cases(rt: Runtime, actor: Actor) -> bool:
    """Whether any case was ever started here (sample cases are seeded only into an
    empty hall)."""
    check_admin(actor)
    with rt.db.reading() as session:
        return bool(session.scalar(select(func.count()).select_from(CaseRecord)))
