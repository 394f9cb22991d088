"""The studio's own audit log: who saved, uploaded, discarded or deployed what, and when.

Drafts and definitions are not cases, so they stay out of the case hash chain; this is a
plain append-only table (`studio_event`) that nothing updates or deletes. Each entry
carries the SHA-256 of the content it is about and, for drafts (whose content is
overwritten by the next save), the content itself, so any saved state can be shown again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.store.db import Database
from engine.store.models_studio import StudioEvent

DRAFT_SAVED = "draft_saved"
DRAFT_UPLOADED = "draft_uploaded"
DRAFT_DISCARDED = "draft_discarded"
DEFINITION_DEPLOYED = "definition_deployed"
STUDIO_EVENT_KINDS = (DRAFT_SAVED, DRAFT_UPLOADED, DRAFT_DISCARDED, DEFINITION_DEPLOYED)


@dataclass(frozen=True)
class StudioEntry:
    id: int
    at: datetime
    actor: str
    kind: str
    process_key: str | None
    version: int | None
    summary: str
    content_hash: str | None
    has_content: bool


def _entry(row: StudioEvent) -> StudioEntry:
    return StudioEntry(row.id, row.at, row.actor, row.kind, row.process_key, row.version,
                       row.summary, row.content_hash, row.content is not None)


def append(session: Session, *, at: datetime, actor: str, kind: str, summary: str,
           process_key: str | None = None, version: int | None = None,
           content_hash: str | None = None, content: str | None = None) -> None:
    """Record one studio fact inside the caller's transaction (so it commits with it)."""
    session.add(StudioEvent(at=at, actor=actor, kind=kind, process_key=process_key,
                            version=version, summary=summary, content_hash=content_hash,
                            content=content))


class StudioLog:
    """Reading the studio log (writing happens through `append`, inside a service's
    transaction)."""

    def __init__(self, db: Database):
        self.db = db

    def recent(self, *, process_key: str | None = None, limit: int = 50) -> list[StudioEntry]:
        query = select(StudioEvent).order_by(StudioEvent.id.desc()).limit(limit)
        if process_key is not None:
            query = query.where(StudioEvent.process_key == process_key)
        with self.db.reading() as session:
            return [_entry(row) for row in session.scalars(query)]

    def content(self, entry_id: int) -> tuple[StudioEntry, bytes]:
        """The exact bytes an entry recorded (a saved or uploaded draft)."""
        with self.db.reading() as session:
            row = session.get(StudioEvent, entry_id)
            if row is None or row.content is None:
                raise NotFound("该记录没有保存内容")
            return _entry(row), row.content.encode("utf-8")
