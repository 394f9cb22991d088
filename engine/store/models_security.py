"""Tables for two safeguards: which case each stored material belongs to (so a download
can be checked against the case), and failed sign-ins (so guessing passwords is slowed
down across every worker process, which share nothing but the database)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base


class MaterialLink(Base):
    """Upload `upload_id` is a material of case `case_id` (one upload may serve several
    cases, e.g. a licence reused; a case has many)."""

    __tablename__ = "material_link"

    upload_id: Mapped[str] = mapped_column(ForeignKey("upload.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), primary_key=True,
                                         index=True)
    linked_at: Mapped[datetime]
    linked_by: Mapped[str | None] = mapped_column(String(100))


class SignInFailure(Base):
    """One failed sign-in, counted twice: under the username tried and under the client
    address (`scope` "user" or "ip"). Rows older than the window are deleted as new
    failures arrive."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (Index("ix_sign_in_failure_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
