"""Tables. What lists and workers need is materialised here (human tasks, timers), so
nothing that lists or schedules ever deserialises a workflow.

Every change to a case (engine state, task rows, events, timers) is written in one
transaction guarded by `CaseRecord.version` (SQLAlchemy's optimistic version counter).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.store.types import UTCDateTime

# One source of truth for the states a row may be in.
CASE_RUNNING = "running"
CASE_COMPLETED = "completed"
CASE_CANCELLED = "cancelled"
CASE_INCIDENT = "incident"
CASE_STATES = (CASE_RUNNING, CASE_COMPLETED, CASE_CANCELLED, CASE_INCIDENT)

TASK_OPEN = "open"
TASK_COMPLETED = "completed"
TASK_CANCELLED = "cancelled"
TASK_STATES = (TASK_OPEN, TASK_COMPLETED, TASK_CANCELLED)

TIMER_WAITING = "waiting"
TIMER_FIRED = "fired"
TIMER_CANCELLED = "cancelled"
TIMER_FAILED = "failed"  # retried max_attempts times: an incident for administrators


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict: JSON, list: JSON}


class ProcessDefinition(Base):
    """One deployed version of one BPMN process: immutable once written."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"), UniqueConstraint("key", "content_hash"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(300))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    called_keys: Mapped[list] = mapped_column(JSON, default=list)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str | None] = mapped_column(String(100))


class CaseRecord(Base):
    """A case (办件): one run of a process. `version` guards every write."""

    __tablename__ = "case_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    # key -> content hash of every definition the case runs on (itself and call activity
    # targets, resolved when the case started); running cases never move by themselves.
    pins: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(100))
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class CaseState(Base):
    """SpiffWorkflow's state of a case, without the spec, pruned of finished history."""

    __tablename__ = "case_state"

    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"),
                                         primary_key=True)
    workflow: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)


class HumanTask(Base):
    """A user task that is or was ready: the task list reads only this table."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_state_lane", "state", "lane"),
        Index("ix_human_task_assignee_state", "assignee", "state"),
        Index("ix_human_task_case_state", "case_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    process_key: Mapped[str] = mapped_column(String(200))  # the (sub)process holding the task
    task_spec: Mapped[str] = mapped_column(String(200))  # BPMN element id
    name: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(200))
    form_key: Mapped[str | None] = mapped_column(String(200))
    definition_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    assignee: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime | None] = mapped_column(index=True)


class Timer(Base):
    """A waiting timer event, so the worker finds due timers with one indexed query."""

    __tablename__ = "timer"
    __table_args__ = (Index("ix_timer_state_due", "state", "due_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"),
                                         index=True)
    task_spec: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[datetime | None]  # backoff after a failed attempt


class CaseClock(Base):
    """A statutory/promised time limit running on a case (scope = the case's own process
    key, or an item's process key in a one-thing). `due_at` is kept current through
    pauses and extensions, so lists filter and sort by it without any computation."""

    __tablename__ = "case_clock"
    __table_args__ = (UniqueConstraint("case_id", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"),
                                         index=True)
    scope: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(Integer)
    statutory_amount: Mapped[int | None] = mapped_column(Integer)
    warn_days: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    due_at: Mapped[datetime] = mapped_column(index=True)
    paused_at: Mapped[datetime | None]
    paused_amount: Mapped[int] = mapped_column(Integer, default=0)  # closed pauses, in `unit`
    extension: Mapped[int] = mapped_column(Integer, default=0)
    stopped_at: Mapped[datetime | None]


class CalendarDay(Base):
    """A day that differs from Monday–Friday: a weekday holiday or a weekend workday."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(50))


class CalendarYear(Base):
    """A year whose official schedule is known (else Monday–Friday with a warning)."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(50))
    imported_at: Mapped[datetime]
    imported_by: Mapped[str | None] = mapped_column(String(100))


class Notification(Base):
    """An in-app message to a person (task 预警/逾期, …); sent once per task, kind, person."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("username", "task_id", "kind"),
                      Index("ix_notification_user_read", "username", "read_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class CaseEvent(Base):
    """Append-only audit log; each row's hash chains to the previous row of its case."""

    __tablename__ = "case_event"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime]
    task_id: Mapped[str | None] = mapped_column(String(36))
    task_spec: Mapped[str | None] = mapped_column(String(200))
    definition_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Incident(Base):
    """A step that failed (script error, sandbox refusal): admins see and retry it."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"),
                                         index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    task_spec: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))


class CaseNumberCounter(Base):
    """Per-day serial for readable case numbers (办件编号)."""

    __tablename__ = "case_number_counter"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class User(Base):
    """A person or system that signs in. `groups` are department/window names = lane names."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(300))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    roles: Mapped[list] = mapped_column(JSON, default=list)
    groups: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Upload(Base):
    """Metadata of a stored material; the bytes live outside the database by SHA-256."""

    __tablename__ = "upload"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    name: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(100))


DEPARTMENT_KINDS = ("department", "window")


class Department(Base):
    """A department or window of the hall. `name` is what BPMN lanes and `User.groups` say,
    so it is never renamed: a new name is a new department (the old one is deactivated)."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    code: Mapped[str | None] = mapped_column(String(50), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="department")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


# Each later area keeps its tables in its own module; importing them here puts them on
# Base.metadata for Alembic and for create_all in tests.
from engine.store import (models_audit, models_loops, models_onething, models_security,
    models_studio)
