"""Tables for the auditor's desk (issue 9): signed checkpoints of the chain heads.

The signing key never enters the database; a stored checkpoint is only a convenient
copy (the signed document itself) so the desk can list and verify against it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base


class AuditCheckpoint(Base):
    """One signed checkpoint: `document` is the JSON the signature covers (format
    onething-checkpoint-1, see engine.audit.checkpoints); the other columns are for listing."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    created_by: Mapped[str | None] = mapped_column(String(100))
    case_count: Mapped[int] = mapped_column(Integer)
    event_count: Mapped[int] = mapped_column(Integer)
    merkle_root: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    document: Mapped[str] = mapped_column(Text)
