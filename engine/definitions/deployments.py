"""What is deployed: every process with all its versions, who deployed each and when, and
how many open cases sit on each version — the analyst's map before changing anything.

A case pins the version of its own process and of every item it calls (see
`CaseRecord.pins`), so a version is "in use" both by cases started on it and by
one-thing cases that called it as an item.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.store.models import CASE_INCIDENT, CASE_RUNNING, CaseRecord, ProcessDefinition

OPEN_STATES = (CASE_RUNNING, CASE_INCIDENT)


@dataclass(frozen=True)
class VersionSummary:
    key: str
    version: int
    name: str
    content_hash: str
    file_name: str
    deployed_at: datetime
    deployed_by: str | None
    open_cases: int  # cases of this process started on this version and not finished
    open_within: int  # open cases of other processes that run this version as an item

    @property
    def in_use(self) -> int:
        return self.open_cases + self.open_within


@dataclass(frozen=True)
class ProcessSummary:
    key: str
    name: str
    calls: tuple[str, ...]  # what the latest version calls (a one-thing's items)
    versions: tuple[VersionSummary, ...]  # newest first

    @property
    def latest(self) -> VersionSummary:
        return self.versions[0]

    @property
    def open_cases(self) -> int:
        return sum(v.in_use for v in self.versions)


def overview(session: Session) -> list[ProcessSummary]:
    """Every deployed process, one-things first, then items by name."""
    direct = dict(session.execute(
        select(CaseRecord.definition_id, func.count())
        .where(CaseRecord.status.in_(OPEN_STATES)).group_by(CaseRecord.definition_id)).all())
    within = _pinned_as_item(session)
    by_key: dict[str, list[ProcessDefinition]] = {}
    for row in session.scalars(select(ProcessDefinition)
                               .order_by(ProcessDefinition.key, ProcessDefinition.version.desc())):
        by_key.setdefault(row.key, []).append(row)
    out = []
    for key, rows in by_key.items():
        versions = tuple(VersionSummary(
            r.key, r.version, r.name, r.content_hash, r.file_name, r.deployed_at, r.deployed_by,
            direct.get(r.id, 0), within.get((r.key, r.content_hash), 0)) for r in rows)
        out.append(ProcessSummary(key, rows[0].name, tuple(rows[0].called_keys or ()), versions))
    return sorted(out, key=lambda p: (not p.calls, p.name, p.key))


def _pinned_as_item(session: Session) -> Counter:
    """(key, content hash) → open cases that run it as a called item. Reads only open
    cases' pins (small: a hall has hundreds, not millions, of cases in progress)."""
    counts: Counter = Counter()
    for process_key, pins in session.execute(
            select(CaseRecord.process_key, CaseRecord.pins)
            .where(CaseRecord.status.in_(OPEN_STATES))):
        for key, content_hash in (pins or {}).items():
            if key != process_key:
                counts[(key, content_hash)] += 1
    return counts


def version(session: Session, key: str, number: int) -> ProcessDefinition:
    """One deployed version of `key`, or NotFound."""
    if not isinstance(key, str) or len(key) > 200 or not 0 < number < 2**31:
        raise NotFound("流程不存在")
    row = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key,
                                                         ProcessDefinition.version == number))
    if row is None:
        raise NotFound(f"流程 {key} 没有版本 {number}")
    return row


def callers(session: Session, key: str) -> list[ProcessDefinition]:
    """The latest version of every process whose latest version calls `key`."""
    newest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v"))
              .group_by(ProcessDefinition.key).subquery())
    rows = session.scalars(select(ProcessDefinition).join(
        newest, (ProcessDefinition.key == newest.c.key)
        & (ProcessDefinition.version == newest.c.v)))
    return [r for r in rows if key in (r.called_keys or ())]
