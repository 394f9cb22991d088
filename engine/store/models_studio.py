"""Tables for the analyst studio (issue 8): drafts, catalogue versions, case migrations."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base


class StudioDraft(Base):
    """An analyst's unfinished change to one process: one per process and analyst. Kept
    apart from process_definition, so a draft can never reach a running case."""

    __tablename__ = "studio_draft"
    __table_args__ = (UniqueConstraint("process_key", "owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(100), index=True)
    file_name: Mapped[str] = mapped_column(String(300))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    base_version: Mapped[int | None] = mapped_column(Integer)  # the version it started from
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StudioEvent(Base):
    """Append-only log of what analysts did in the studio (draft saved, uploaded,
    discarded, version deployed …): who, when, what, and the hash of the content."""

    __tablename__ = "studio_event"
    __table_args__ = (Index("ix_studio_event_key_at", "process_key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    process_key: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[str | None] = mapped_column(Text)  # what was saved, when not stored elsewhere


class CaseMigration(Base):
    """A running case moved from one version of a process to another (issue 8, part B).

    Keeps what a revert needs to put the case back exactly: the pins, the top definition,
    the engine state and the open task rows as they were before, and the case's event
    count right after the migration (a revert is refused once anything happened since)."""

    __tablename__ = "case_migration"
    __table_args__ = (Index("ix_case_migration_key_at", "process_key", "migrated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"),
                                         index=True)
    process_key: Mapped[str] = mapped_column(String(200))
    from_version: Mapped[int] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(Integer)
    from_hash: Mapped[str] = mapped_column(String(64))
    to_hash: Mapped[str] = mapped_column(String(64))
    pins_before: Mapped[dict] = mapped_column(JSON)
    pins_after: Mapped[dict] = mapped_column(JSON)
    definition_before: Mapped[int] = mapped_column(Integer)
    state_before: Mapped[str] = mapped_column(Text)
    tasks_before: Mapped[list] = mapped_column(JSON)
    events_after: Mapped[int] = mapped_column(Integer)
    changes: Mapped[list] = mapped_column(JSON)  # the version diff in words, as shown then
    migrated_at: Mapped[datetime]
    migrated_by: Mapped[str] = mapped_column(String(100))
    reverted_at: Mapped[datetime | None]
    reverted_by: Mapped[str | None] = mapped_column(String(100))


class CatalogueVersion(Base):
    """One saved version of the item catalogue (事项目录), immutable once written: the
    runtime reads the newest one (else processes/catalogue/items.json)."""

    __tablename__ = "catalogue_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[str] = mapped_column(Text)  # canonical JSON
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
