"""The auditor's reads of one case's history: one call each, permission checked inside."""
from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select

from engine.audit import checkpoints, replay, search as casesearch
from engine.cases.dto import Actor
from engine.cases.eventlog import verify_case
from engine.errors import NotAllowed, NotFound
from engine.runtime import Runtime
from engine.store.models import CASE_STATES, CaseRecord

__all__ = ["CASE_STATES", "AUDIT_ROLES", "CaseSearch", "CaseTimeline", "ChainResult",
           "ProcessChoice", "case_id_of", "case_timeline", "recorded_checkpoint",
           "recorded_checkpoints", "search_cases", "sign_checkpoint", "verify_chains",
           "verify_checkpoint"]

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


def check_audits(actor: Actor) -> None:
    """NotAllowed for anyone but auditors and administrators."""
    if not (actor.is_admin or actor.roles & AUDIT_ROLES):
        raise NotAllowed("只有审计人员可以查看办件历史")


def case_timeline(rt: Runtime, case_id: int, actor: Actor) -> CaseTimeline:
    """Every audit event of the case in order, as steps with their data changes (read from
    the log only, no re-execution). NotFound for an unknown case; NotAllowed for anyone
    but auditors and administrators."""
    check_audits(actor)
    with rt.db.reading() as session:
        case = session.get(CaseRecord, case_id)
        if case is None:
            raise NotFound(f"办件 {case_id} 不存在")
        steps = replay.timeline(session, case_id)
        return CaseTimeline(case.id, case.number, case.title, case.status, dict(case.pins),
                            case.process_key, steps)


@dataclass(frozen=True)
class ChainResult:
    """One case's hash chain as walked: how many events, the first broken one (if any)
    with what is wrong, and the chain's recorded head."""

    case_id: int
    case_number: str
    events: int
    problems: list[str]
    first_broken_seq: int | None
    head_hash: str | None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chains(rt: Runtime, actor: Actor, *, query: casesearch.CaseQuery | None = None,
                  case: str | None = None, limit: int = 100_000) -> list[ChainResult]:
    """Walk the hash chains of every case, or of the cases `query` selects (at most
    `limit`), or of the one `case` (its number or id; an empty list when unknown), in id
    order. NotAllowed for anyone but auditors and administrators."""
    check_audits(actor)
    with rt.db.reading() as session:
        if query is not None and not query.is_empty():
            ids = sorted(hit.id for hit in casesearch.search(session, replace(query,
                                                                                limit=limit)))
            cases = [session.get(CaseRecord, i) for i in ids]
        else:
            cases = list(session.scalars(_cases_named(case)))
        results = []
        for row in cases:
            if row is None:
                continue
            report = verify_case(session, row)
            results.append(ChainResult(row.id, row.number, report.events, list(report.problems),
                                       report.first_broken_seq, row.head_hash))
        return results


def _cases_named(case: str | None):
    """Every case in id order, or those whose number or id is `case`."""
    stmt = select(CaseRecord).order_by(CaseRecord.id)
    if case:
        case_id = int(case) if case.isdigit() and len(case) < 10 else None
        stmt = stmt.where((CaseRecord.number == case) | (CaseRecord.id == case_id))
    return stmt


def case_id_of(rt: Runtime, actor: Actor, case: str) -> int | None:
    """The id of the case whose number (or id) is `case`; None when there is none."""
    check_audits(actor)
    with rt.db.reading() as session:
        return session.scalar(_cases_named(case).with_only_columns(CaseRecord.id).limit(1))


@dataclass(frozen=True)
class ProcessChoice:
    """A deployed process the auditor may pick: its key and name (latest version)."""

    key: str
    name: str


@dataclass(frozen=True)
class CaseSearch:
    """The auditor's search: the matching cases (newest first) and the deployed processes
    (key, name) to filter by."""

    hits: list[casesearch.CaseHit]
    processes: list[ProcessChoice]


def search_cases(rt: Runtime, actor: Actor, query: casesearch.CaseQuery | None) -> CaseSearch:
    """The cases `query` selects (None: no search, only the choices). NotAllowed for
    anyone but auditors and administrators."""
    check_audits(actor)
    with rt.db.reading() as session:
        hits = [] if query is None else casesearch.search(session, query)
        processes = [ProcessChoice(p.key, p.name) for p in rt.definitions.all_latest(session)]
    return CaseSearch(hits, processes)


# -- signed checkpoints ------------------------------------------------------------------

def recorded_checkpoints(rt: Runtime, actor: Actor) -> list[checkpoints.Checkpoint]:
    """The checkpoints stored in the database, newest first."""
    check_audits(actor)
    with rt.db.reading() as session:
        return checkpoints.recorded(session)


def recorded_checkpoint(rt: Runtime, actor: Actor, checkpoint_id: int) -> checkpoints.Checkpoint:
    """One stored checkpoint; NotFound when there is none."""
    check_audits(actor)
    with rt.db.reading() as session:
        return checkpoints.get_recorded(session, checkpoint_id)


def verify_checkpoint(rt: Runtime, actor: Actor, checkpoint: checkpoints.Checkpoint,
                      public_key=None) -> checkpoints.CheckpointReport:
    """The log today against `checkpoint` (see engine.audit.checkpoints.verify; ValueError
    when `public_key` cannot be read)."""
    check_audits(actor)
    with rt.db.reading() as session:
        return checkpoints.verify(session, checkpoint, public_key)


def sign_checkpoint(rt: Runtime, actor: Actor, private_key) -> checkpoints.Checkpoint:
    """Sign the heads of all cases now and record the checkpoint, in one transaction."""
    check_audits(actor)
    with rt.db.transaction() as session:
        return checkpoints.create(session, private_key, rt.clock.now(), actor=actor.username)
