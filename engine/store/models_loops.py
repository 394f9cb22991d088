"""Tables for the loops around approval (issue 7): ratings, supervision, work orders, reminders."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base  # noqa: F401  (tables of this area subclass Base)


# -- 好差评 and the applicant portal (issue 7, part A) ---------------------------------------


class Rating(Base):
    """One 好差评 of a case (scope `case`) or of one of its items (scope = item process key).
    A re-rating adds a row and clears `current` on the one before; statistics count current
    rows only. A 差评 (score ≤ 2) is handled by its own case (`review_case_id`) whose steps
    write `handling`, the ledger deadline, the rectification and the applicant's feedback."""

    __tablename__ = "rating"
    __table_args__ = (Index("ix_rating_case_scope", "case_id", "scope", "current"),
                      Index("ix_rating_department_created", "department", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(200))
    scope_name: Mapped[str] = mapped_column(String(300))
    department: Mapped[str] = mapped_column(String(200))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20))  # good / open / closed
    review_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_record.id", ondelete="SET NULL"), index=True)
    handling: Mapped[str | None] = mapped_column(String(30))
    rectification_due: Mapped[datetime | None]
    rectified_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)  # appeal upheld: not counted
    feedback: Mapped[str | None] = mapped_column(Text)
    feedback_at: Mapped[datetime | None]


class RatingInvitation(Base):
    """评价邀请: a finished case not rated N days after 办结 is invited once."""

    __tablename__ = "rating_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"),
                                    unique=True)
    created_at: Mapped[datetime]
    rated_at: Mapped[datetime | None]


class PortalAttempt(Base):
    """One portal look-up attempt, counted per client address and per case number over a
    sliding window; a table because several web workers serve the same database."""

    __tablename__ = "portal_attempt"
    __table_args__ = (Index("ix_portal_attempt_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]


class ApplicantSubmission(Base):
    """What an applicant sent in through the portal for an open 补正 / 补齐 request (the task
    it answers), shown to the front desk on that task's page."""

    __tablename__ = "applicant_submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"),
                                    index=True)
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    uploads: Mapped[list] = mapped_column(JSON, default=list)  # [{"id", "name"}]
    created_at: Mapped[datetime]


# -- 审管联动, 12345 work orders, 主动提醒 (issue 7, part B) ----------------------------------

# States of a supervision push, in the order they happen.
PUSH_PENDING = "pending"          # written with the approving step: the outbox row
PUSH_QUEUED = "queued"            # supervision case started: waiting for 签收
PUSH_SIGNED = "signed"            # signed for by the supervising department
PUSH_AUTO_CLAIMED = "auto_claimed"  # not signed in time: claimed by the system
PUSH_CLOSED = "closed"            # supervised, no violation found
PUSH_VIOLATION = "violation"      # a violation notice suspended or revoked the licence
PUSH_STATES = (PUSH_PENDING, PUSH_QUEUED, PUSH_SIGNED, PUSH_AUTO_CLAIMED, PUSH_CLOSED,
               PUSH_VIOLATION)


class SupervisionPush(Base):
    """One approved item of one case (审批结果): the outbox row the supervision job turns into
    a supervision case, and the register of issued licences the renewal reminders read
    (`valid_until`). Written in the approving step's transaction, exactly once per item."""

    __tablename__ = "supervision_push"
    __table_args__ = (UniqueConstraint("case_id", "item_key"),
                      Index("ix_supervision_push_state", "state"),
                      Index("ix_supervision_push_supervisor_state", "supervisor", "state"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    item_key: Mapped[str] = mapped_column(String(200))
    item_name: Mapped[str] = mapped_column(String(300))
    department: Mapped[str | None] = mapped_column(String(200))
    supervisor: Mapped[str] = mapped_column(String(200))
    licence_no: Mapped[str | None] = mapped_column(String(100))
    result_name: Mapped[str | None] = mapped_column(String(300))
    holder: Mapped[str | None] = mapped_column(String(300))
    approved_at: Mapped[datetime]
    valid_until: Mapped[date | None] = mapped_column(Date, index=True)
    state: Mapped[str] = mapped_column(String(20))
    supervision_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_record.id", ondelete="SET NULL"), index=True)
    pushed_at: Mapped[datetime | None]
    signed_at: Mapped[datetime | None]
    signed_by: Mapped[str | None] = mapped_column(String(100))
    auto_claimed: Mapped[bool] = mapped_column(Boolean, default=False)
    action: Mapped[str | None] = mapped_column(String(20))  # suspend / revoke
    notice: Mapped[str | None] = mapped_column(Text)
    notice_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class WorkOrder(Base):
    """A 12345 work order: the list row of one hotline_workorder case, kept current by the
    case's steps so the order list never opens a workflow."""

    __tablename__ = "work_order"
    __table_args__ = (Index("ix_work_order_state", "state"),
                      Index("ix_work_order_department_state", "department", "state"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"),
                                         unique=True)
    category: Mapped[str] = mapped_column(String(20))
    citizen_name: Mapped[str] = mapped_column(String(100))
    citizen_phone: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(String(200))
    co_departments: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime | None]
    returns: Mapped[int] = mapped_column(Integer, default=0)       # 退单 with a legal basis
    unsigned_returns: Mapped[int] = mapped_column(Integer, default=0)  # 退件: not signed in time
    rehandles: Mapped[int] = mapped_column(Integer, default=0)    # 重办 after a call-back
    urges: Mapped[int] = mapped_column(Integer, default=0)        # 督办 reminders sent
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


REMINDER_OPEN = "open"
REMINDER_RENEWED = "renewed"
REMINDER_CLOSED = "closed"


class LicenceReminder(Base):
    """主动提醒: one renewal reminder per issued licence (case, item), produced once, a
    configurable number of days before it expires, with the renewal case it started."""

    __tablename__ = "licence_reminder"
    __table_args__ = (UniqueConstraint("case_id", "item_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"),
                                         index=True)
    item_key: Mapped[str] = mapped_column(String(200))
    item_name: Mapped[str] = mapped_column(String(300))
    licence_no: Mapped[str | None] = mapped_column(String(100))
    holder: Mapped[str | None] = mapped_column(String(300))
    valid_until: Mapped[date] = mapped_column(Date)
    remind_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20))
    renewal_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_record.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
