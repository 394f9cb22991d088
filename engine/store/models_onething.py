"""Tables for one-things (issue 6): 容缺受理, 告知承诺, credit flags."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base  # noqa: F401  (tables of this area subclass Base)


class CreditFlag(Base):
    """失信标记 recorded by the hall itself (e.g. a false 告知承诺 found at the site check).

    The data-sharing platform's dishonesty list is asked as well; a flag here counts the
    same (容缺受理 is refused) until someone clears it, with a reason. Rows are never
    deleted: clearing keeps who flagged, why, from which case, and who cleared it."""

    __tablename__ = "credit_flag"
    __table_args__ = (Index("ix_credit_flag_subject_cleared", "subject", "cleared_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(40))  # 统一社会信用代码 or 居民身份证号码
    subject_name: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(100))  # what set it (告知承诺核查不通过, 人工 …)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="SET NULL"))
    item: Mapped[str | None] = mapped_column(String(200))  # the item whose result was revoked
    flagged_at: Mapped[datetime]
    flagged_by: Mapped[str | None] = mapped_column(String(100))
    cleared_at: Mapped[datetime | None]
    cleared_by: Mapped[str | None] = mapped_column(String(100))
    clear_reason: Mapped[str | None] = mapped_column(String(500))
