"""What the migration service hands out: cases on a version, dry-run checks, migration
records, batch results. Plain values, no session."""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.store.models import CaseRecord
from engine.store.models_studio import CaseMigration


@dataclass(frozen=True)
class CaseOnVersion:
    id: int
    number: str
    title: str | None
    status: str
    process_key: str


@dataclass(frozen=True)
class Check:
    """The dry run of one case's migration: allowed, or the reasons it is not."""

    case: CaseOnVersion
    process_key: str
    from_version: int
    to_version: int
    reasons: tuple[str, ...]
    at: tuple[str, ...]  # where the case stands in that process, in words

    @property
    def allowed(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class MigrationView:
    id: int
    case_id: int
    case_number: str
    process_key: str
    from_version: int
    to_version: int
    migrated_at: object
    migrated_by: str
    reverted_at: object
    reverted_by: str | None
    changes: tuple[str, ...]
    revertible: bool

    @classmethod
    def of(cls, row: CaseMigration, case: CaseRecord) -> "MigrationView":
        return cls(row.id, case.id, case.number, row.process_key, row.from_version,
                   row.to_version, row.migrated_at, row.migrated_by, row.reverted_at,
                   row.reverted_by, tuple(row.changes or ()),
                   row.reverted_at is None and case.event_count == row.events_after)


@dataclass
class ProcessVersions:
    key: str
    name: str  # of the newest version
    versions: list[int]


@dataclass
class BatchResult:
    migrated: list[MigrationView] = field(default_factory=list)
    refused: list[Check] = field(default_factory=list)
