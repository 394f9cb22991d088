"""The applicant portal's side of the engine: look a case up without an account, follow
its progress, answer an open 补正 request.

Look-up needs the case number and the last four characters of a phone or ID number from
the application. A wrong combination and an unknown case number get the same answer after
the same work, and attempts are counted in a table per client address and per case number
(several web workers serve one database, so memory would not do).
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatch
from typing import Any

from sqlalchemy import delete, func, select

from engine.cases import eventlog as audit, canonical
from engine.definitions.catalogue import Catalogue
from engine.worktime.clock import Clock
from engine.cases.clocks import Clocks
from engine.errors import Conflict, NotFound, OneThingError, ValidationFailed
from engine.cases.materials_access import link_uploads
from engine.store.db import Database
from engine.store.models import (CASE_CANCELLED, CASE_COMPLETED, TASK_OPEN, CaseEvent, CaseRecord,
    HumanTask)
from engine.store.models_loops import ApplicantSubmission, PortalAttempt
from engine.cases.transactions import ConflictGuard
from engine.cases.uploads import UploadStore
from engine.cases.dto import Actor

# What the portal does on the applicant's behalf (online supply of 容缺 materials).
PORTAL_ACTOR = Actor("portal", frozenset({"api", "auditor"}))

# Case steps as reported (电子监察): index into STEPS.
STEPS = ("收件", "受理", "审查", "决定", "制证", "送达")
# Which step an open task means (first match wins; patterns on the task's BPMN id).
TASK_STEPS = (("front_desk_acceptance", 1), ("supplement_materials", 1), ("*_review", 2),
              ("*_correction", 2), ("deficiency_supply", 4), ("issuance", 4))
# Open tasks that ask the applicant for something (补齐 at the window, 补正 of an item).
REQUEST_TASKS = (("supplement_materials", "missing_materials"), ("*_correction", "{item}_opinion"))
ITEM_DECISIONS = {"approve": "准予许可", "refuse": "不予许可"}
# Application fields whose last four characters identify the applicant.
IDENTITY_FIELD = re.compile(r"(mobile|phone|tel|id_number|id_card|idcard)$")
MAX_NOTE = 1000


class TooManyAttempts(OneThingError):
    code = "too_many_requests"


@dataclass(frozen=True)
class PortalSettings:
    window_minutes: int = 15
    per_client: int = 20
    per_case: int = 5


@dataclass(frozen=True)
class Step:
    label: str
    state: str  # done / current / todo


@dataclass(frozen=True)
class ItemProgress:
    key: str
    name: str
    department: str
    state: str
    due_at: datetime | None
    clock_status: str | None


@dataclass(frozen=True)
class Request:
    """An open 补正/补齐 request: the task it is, what to bring, what was already sent."""

    task_id: str
    name: str
    asked: str
    submissions: tuple[dict, ...] = ()


@dataclass(frozen=True)
class Progress:
    case_id: int
    number: str
    title: str | None
    status: str
    created_at: datetime
    ended_at: datetime | None
    steps: tuple[Step, ...]
    items: tuple[ItemProgress, ...]
    clock: dict | None
    requests: tuple[Request, ...]
    outcome_code: str | None = None


class Portal:
    def __init__(self, db: Database, clock: Clock, clocks: Clocks | None,
                 catalogue: Catalogue | None, uploads: UploadStore,
                 settings: PortalSettings | None = None):
        self.db, self.clock, self.clocks, self.catalogue = db, clock, clocks, catalogue
        self.uploads = uploads
        self.settings = settings or PortalSettings()

    # -- look-up -----------------------------------------------------------------------

    def lookup(self, number: str, digits: str, client: str) -> int | None:
        """The case id when `digits` are the last four characters of a phone or ID number
        of the application of case `number`; None otherwise — the same for an unknown
        number. Raises TooManyAttempts past the per-client or per-case limit."""
        number = (number or "").strip()[:40]
        digits = (digits or "").strip().upper()[:4]
        self._count_attempt(number, client)
        with self.db.reading() as session:
            case = session.scalar(select(CaseRecord).where(CaseRecord.number == number))
            started = session.scalar(select(CaseEvent).where(
                CaseEvent.case_id == (case.id if case else -1), CaseEvent.seq == 1))
            data = audit.application_of([started] if started else [])
        candidates = [str(v).strip().upper()[-4:] for k, v in sorted(data.items())
                      if IDENTITY_FIELD.search(k) and isinstance(v, str) and len(v.strip()) >= 4]
        matched = False
        for candidate in candidates or ["\0\0\0\0"]:  # the same comparison for no case
            matched |= hmac.compare_digest(candidate.encode(), digits.encode().ljust(4, b"\0"))
        if case is None or case.process_key.startswith("loop_") or len(digits) != 4:
            return None
        return case.id if matched else None

    def _count_attempt(self, number: str, client: str) -> None:
        settings, now = self.settings, self.clock.now()
        since = now - timedelta(minutes=settings.window_minutes)
        keys = {"ip:" + (client or "-")[:100]: settings.per_client,
                "case:" + hashlib.sha256(number.encode()).hexdigest()[:40]: settings.per_case}
        with self.db.transaction() as session:
            session.execute(delete(PortalAttempt).where(PortalAttempt.at < since))
            for key, limit in keys.items():
                count = session.scalar(select(func.count()).select_from(PortalAttempt).where(
                    PortalAttempt.key == key, PortalAttempt.at >= since))
                if count >= limit:
                    raise TooManyAttempts(f"查询过于频繁，请 {settings.window_minutes} 分钟后再试")
            session.add_all(PortalAttempt(key=key, at=now) for key in keys)

    # -- progress ----------------------------------------------------------------------

    def progress(self, case_id: int) -> Progress:
        with self.db.reading() as session:
            case = session.get(CaseRecord, case_id)
            if case is None:
                raise NotFound("办件不存在")
            open_tasks = list(session.scalars(select(HumanTask).where(
                HumanTask.case_id == case.id, HumanTask.state == TASK_OPEN)
                .order_by(HumanTask.created_at, HumanTask.id)))
            recorded: dict[str, Any] = {}
            for payload in session.scalars(select(CaseEvent.payload).where(
                    CaseEvent.case_id == case.id,
                    CaseEvent.kind.in_((audit.TASK_COMPLETED, audit.CASE_COMPLETED)))
                    .order_by(CaseEvent.seq)):
                recorded.update(canonical.loads(payload).get("data") or {})
            clock = self.clocks.summary(session, case) if self.clocks else None
            submissions = self._submissions(session, [t.id for t in open_tasks])
        specs = [t.task_spec for t in open_tasks]
        return Progress(case.id, case.number, case.title, case.status, case.created_at,
                        case.ended_at, steps_of(case.status, specs),
                        tuple(self._items(case.process_key, recorded, specs, clock)), clock,
                        tuple(_requests(open_tasks, recorded, submissions)),
                        _text(recorded.get("outcome_code")))

    def _items(self, process_key: str, recorded: dict, open_specs: list[str], clock):
        entry = self.catalogue.get(process_key) if self.catalogue else None
        clocks = {c["scope"]: c for c in (clock or {}).get("items", [])}
        for process in (entry.items if entry else ()):
            item = self.catalogue.get(process)
            key = process.removeprefix("item_")
            if f"{key}_correction" in open_specs:
                state = "补正中"
            elif f"{key}_review" in open_specs:
                state = "审查中"
            else:
                state = ITEM_DECISIONS.get(recorded.get(f"{key}_decision"), "待受理")
            own = clocks.get(process) or {}
            due = own.get("due_at")
            yield ItemProgress(key, item.name if item else process,
                               item.department if item else "",
                               state, datetime.fromisoformat(due) if due else None,
                               own.get("state_label") if state in ("审查中", "补正中") else None)

    # -- answering a 补正 request ---------------------------------------------------------

    def submit(self, case_id: int, task_id: str, note: str | None,
               upload_ids: list[str]) -> int:
        """Record what the applicant sent for the open request `task_id` of the case (the
        front desk sees it on that task's page); one audit event on the case."""
        note = (note or "").strip() or None
        if note and len(note) > MAX_NOTE:
            raise ValidationFailed(f"说明不能超过 {MAX_NOTE} 字", {"note": f"不超过 {MAX_NOTE} 字"})
        stored = [self.uploads.get(u) for u in upload_ids if isinstance(u, str) and len(u) <= 36]
        if not note and not stored:
            raise ValidationFailed("请上传补正材料或填写说明", {"files": "必填"})
        if any(s is None for s in stored):
            raise ValidationFailed("上传的材料不存在", {"files": "上传编号无效"})
        now = self.clock.now()
        with ConflictGuard(self.db, self.clock) as session:
            case = session.get(CaseRecord, case_id)
            task = session.get(HumanTask, (task_id or "")[:36])
            if case is None or task is None or task.case_id != case.id:
                raise NotFound("补正事项不存在")
            if task.state != TASK_OPEN or not _request_field(task.task_spec):
                raise Conflict("该补正事项已办结，无需再提交")
            if case.status in (CASE_COMPLETED, CASE_CANCELLED):
                raise Conflict("办件已结束")
            files = [{"id": s.id, "name": s.name, "sha256": s.sha256} for s in stored]
            row = ApplicantSubmission(case_id=case.id, task_id=task.id, note=note,
                                      uploads=files, created_at=now)
            session.add(row)
            session.flush()
            # The files are now materials of the case (engine.cases.materials_access).
            link_uploads(session, case.id, [s.id for s in stored], actor=Actor("applicant"),
                         at=now)
            audit.append_event(session, case, kind=audit.APPLICANT_SUBMITTED, actor="applicant",
                               at=now, definition_hash=task.definition_hash, task_id=task.id,
                               task_spec=task.task_spec,
                               payload={"submission": row.id, "note": note, "files": files})
            return row.id

    def submissions(self, task_id: str) -> list[dict]:
        """What applicants sent for the task, oldest first (for the clerk's task page)."""
        with self.db.reading() as session:
            return self._submissions(session, [task_id]).get(task_id, [])

    @staticmethod
    def _submissions(session, task_ids: list[str]) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        if not task_ids:
            return out
        for row in session.scalars(select(ApplicantSubmission).where(
                ApplicantSubmission.task_id.in_(task_ids)).order_by(ApplicantSubmission.id)):
            out.setdefault(row.task_id, []).append(
                {"id": row.id, "note": row.note, "files": list(row.uploads or []),
                 "created_at": row.created_at})
        return out


def steps_of(status: str, open_specs: list[str]) -> tuple[Step, ...]:
    """收件 → 受理 → 审查 → 决定 → 制证 → 送达 from the case's status and open tasks."""
    if status == CASE_COMPLETED:
        current = len(STEPS)
    else:
        matched = [index for spec in open_specs for pattern, index in TASK_STEPS
                   if fnmatch(spec, pattern)]
        current = min(matched) if matched else 2
    if status == CASE_CANCELLED:
        return tuple(Step(label, "done" if i < current else "todo")
                     for i, label in enumerate(STEPS))
    return tuple(Step(label, "done" if i < current else "current" if i == current else "todo")
                 for i, label in enumerate(STEPS))


def _request_field(spec: str) -> str | None:
    for pattern, asked in REQUEST_TASKS:
        if fnmatch(spec, pattern):
            return asked.format(item=spec.removesuffix("_correction"))
    return None


def _requests(open_tasks, recorded, submissions):
    for task in open_tasks:
        asked = _request_field(task.task_spec)
        if asked:
            yield Request(task.id, task.name, _text(recorded.get(asked)) or "",
                          tuple(submissions.get(task.id, [])))


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
