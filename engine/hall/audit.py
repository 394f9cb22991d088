"""The auditor's reads of one case's history: one call each, permission checked inside."""
from __future__ import annotations

from dataclasses import dataclass

from engine.audit import replay
from engine.cases.dto import Actor
from engine.errors import NotAllowed, NotFound
from engine.runtime import Runtime
from engine.store.models import CaseRecord

AUDIT_ROLES = frozenset({"auditor"})


@dataclass(frozen=True)
class CaseTimeline:
    """A case as its audit history shows it: who it is, the versions it runs on (`pins`,
    process key → content hash; `top` its own process) and every recorded step."""

    case_id: int
    number: str
    title: str | None
    status: str
    pins: dict[str, str]
    top: str
    steps: list[replay.Step]


def case_timeline(rt: Runtime, case_id: int, actor: Actor) -> CaseTimeline:
    """Every audit event of the case in order, as steps with their data changes (read from
    the log only, no re-execution). NotFound for an unknown case; NotAllowed for anyone
    but auditors and administrators."""
    if not (actor.is_admin or actor.roles & AUDIT_ROLES):
        raise NotAllowed("只有审计人员可以查看办件历史")
    with rt.db.reading() as session:
        case = session.get(CaseRecord, case_id)
        if case is None:
            raise NotFound(f"办件 {case_id} 不存在")
        steps = replay.timeline(session, case_id)
        return CaseTimeline(case.id, case.number, case.title, case.status, dict(case.pins),
                            case.process_key, steps)
