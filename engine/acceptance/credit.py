"""信用标记: the hall's own dishonesty flags, consulted wherever the registry's list is.

The provincial data-sharing platform publishes the dishonesty list (失信主体名单), but the hall
learns things first: a 告知承诺 whose site check fails means the applicant made a false
commitment, and the result is revoked. That applicant must not be trusted again at the
counter — no 容缺受理 — before the provincial list catches up. So the flag is kept here, and
`with_local_flags` wraps any `DataSharing` so that its `credit_flag()` answers from both:
a flag recorded here, else the platform's.

Flags are never deleted: clearing one (信用修复) records who, when and why.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.worktime.clock import Clock
from engine.acceptance.connectors.interfaces import CreditFlag as RegistryFlag
from engine.acceptance.connectors.interfaces import DataSharing
from engine.errors import NotFound, ValidationFailed
from engine.store.db import Database
from engine.store.models_onething import CreditFlag

MANUAL = "人工标记"
FALSE_COMMITMENT = "告知承诺核查不通过"
HALL_AUTHORITY = "政务服务中心（本地信用标记）"


def subject_key(value: str) -> str:
    """A credit code or ID number as registers store it (full-width typed with an IME,
    spaces, lower-case x all normalised)."""
    return "".join(unicodedata.normalize("NFKC", value or "").split()).upper()


@dataclass(frozen=True)
class FlagView:
    id: int
    subject: str
    subject_name: str | None
    reason: str
    source: str
    case_id: int | None
    item: str | None
    flagged_at: datetime
    flagged_by: str | None
    cleared_at: datetime | None
    cleared_by: str | None
    clear_reason: str | None

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    @classmethod
    def of(cls, row: CreditFlag) -> FlagView:
        return cls(row.id, row.subject, row.subject_name, row.reason, row.source, row.case_id,
                   row.item, row.flagged_at, row.flagged_by, row.cleared_at, row.cleared_by,
                   row.clear_reason)


class CreditFlags:
    """The store of the hall's own credit flags."""

    def __init__(self, db: Database, clock: Clock):
        self.db, self.clock = db, clock

    # -- inside someone else's transaction (a case step) ---------------------------------

    def flag_in(self, session: Session, *, subject: str, reason: str, source: str,
                at: datetime, actor: str | None, case_id: int | None = None,
                item: str | None = None, subject_name: str | None = None) -> CreditFlag:
        """Record a flag in the caller's transaction. Idempotent: the same subject flagged
        again from the same case and item while the first flag stands returns that flag."""
        key = _checked_subject(subject)
        if case_id is not None:
            existing = session.scalar(select(CreditFlag).where(
                CreditFlag.subject == key, CreditFlag.case_id == case_id,
                CreditFlag.item == item, CreditFlag.cleared_at.is_(None)))
            if existing is not None:
                return existing
        row = CreditFlag(subject=key, subject_name=(subject_name or None) and subject_name[:200],
                         reason=_checked_reason(reason), source=source[:100], case_id=case_id,
                         item=item, flagged_at=at, flagged_by=actor)
        session.add(row)
        session.flush()
        return row

    # -- commands (own transaction) --------------------------------------------------------

    def flag(self, subject: str, reason: str, *, actor: str, source: str = MANUAL) -> FlagView:
        """An administrator records a flag by hand (e.g. a court's 失信被执行人 notice)."""
        with self.db.transaction() as session:
            row = self.flag_in(session, subject=subject, reason=reason, source=source,
                               at=self.clock.now(), actor=actor)
            return FlagView.of(row)

    def clear(self, flag_id: int, *, actor: str, reason: str) -> FlagView:
        """信用修复: the flag no longer counts; the row and its history stay."""
        reason = _checked_reason(reason, label="修复理由")
        with self.db.transaction() as session:
            row = session.get(CreditFlag, flag_id)
            if row is None:
                raise NotFound(f"信用标记 {flag_id} 不存在")
            if row.cleared_at is None:
                row.cleared_at, row.cleared_by, row.clear_reason = self.clock.now(), actor, reason
            return FlagView.of(row)

    # -- queries ---------------------------------------------------------------------------

    def active(self, subject: str) -> FlagView | None:
        """The oldest flag of `subject` that still counts, or None."""
        key = subject_key(subject)
        if not key:
            return None
        with self.db.reading() as session:
            row = session.scalar(select(CreditFlag).where(
                CreditFlag.subject == key, CreditFlag.cleared_at.is_(None))
                .order_by(CreditFlag.id).limit(1))
            return FlagView.of(row) if row is not None else None

    def history(self, subject: str | None = None, *, case_id: int | None = None) -> list[FlagView]:
        """Every flag (cleared ones too), newest first; of one subject or one case."""
        query = select(CreditFlag).order_by(CreditFlag.id.desc())
        if subject is not None:
            query = query.where(CreditFlag.subject == subject_key(subject))
        if case_id is not None:
            query = query.where(CreditFlag.case_id == case_id)
        with self.db.reading() as session:
            return [FlagView.of(row) for row in session.scalars(query)]


def _checked_subject(subject: str) -> str:
    key = subject_key(subject)
    if not key or len(key) > 40:
        raise ValidationFailed("信用标记须写明主体的统一社会信用代码或身份证号码",
                               {"subject": "须为 1–40 个字符"})
    return key


def _checked_reason(reason: str, *, label: str = "标记理由") -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(f"须写明{label}", {"reason": "必填"})
    return text[:500]


class LocalFlagsSharing:
    """A `DataSharing` whose `credit_flag()` also answers from the hall's own flags; every
    other question goes to the wrapped platform unchanged."""

    def __init__(self, platform: DataSharing, flags: CreditFlags):
        self.platform, self.flags = platform, flags

    def __getattr__(self, name: str):
        return getattr(self.platform, name)

    def company(self, credit_code):
        return self.platform.company(credit_code)

    def business_licence(self, credit_code):
        return self.platform.business_licence(credit_code)

    def id_card(self, id_number):
        return self.platform.id_card(id_number)

    def fetch_material(self, material_code, subject):
        return self.platform.fetch_material(material_code, subject)

    def credit_flag(self, subject: str) -> RegistryFlag:
        local = self.flags.active(subject)
        if local is not None:
            return RegistryFlag(local.subject, True, local.reason, HALL_AUTHORITY,
                                local.flagged_at.date())
        return self.platform.credit_flag(subject)


def with_local_flags(platform: DataSharing, flags: CreditFlags | None) -> DataSharing:
    """`platform`, consulting `flags` first for credit (unchanged when there are none)."""
    if flags is None or isinstance(platform, LocalFlagsSharing):
        return platform
    return LocalFlagsSharing(platform, flags)
