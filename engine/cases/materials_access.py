"""Who may open a stored material: materials belong to cases.

An upload id alone must not be a key to the file. Every upload that a case records —
in a start form or a task form, as a 容缺 material supplied later, in an applicant's
补正 submission — is linked to that case in the same transaction (`link_uploads`,
called by the step hook `link_step_materials` and by the portal). Then:

* a linked material opens for whoever may read one of its cases: admins, auditors, the
  front desk and the issuance window (they handle every case), the clerk who filed the
  case, and clerks of a department that has (or had) a task in it;
* an upload no case has used yet opens only for the person who uploaded it, so a clerk
  can check a scan before submitting the form;
* anything else looks exactly like a missing id (the caller answers 404), so ids
  cannot be probed.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import CaseRecord, HumanTask, Upload
from engine.store.models_security import MaterialLink
from engine.cases.dto import Actor
from engine.cases import policy

if TYPE_CHECKING:
    from engine.cases.step import StepContext

# Roles that read every case's materials: the case page's own rule (engine.cases.policy).
READ_ALL_ROLES = policy.READ_EVERY_CASE

# UploadStore.save hands out uuid4 strings; anything else in case data is not an upload.
_UPLOAD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_MAX_DEPTH = 6
_CHUNK = 500


def upload_ids_in(value: Any, found: set[str] | None = None, depth: int = 0) -> set[str]:
    """Every string in `value` (nested dicts and lists) shaped like an upload id."""
    found = set() if found is None else found
    if isinstance(value, str):
        if len(value) == 36 and _UPLOAD_ID.fullmatch(value):
            found.add(value)
    elif depth < _MAX_DEPTH and isinstance(value, dict):
        for item in value.values():
            upload_ids_in(item, found, depth + 1)
    elif depth < _MAX_DEPTH and isinstance(value, (list, tuple)):
        for item in value:
            upload_ids_in(item, found, depth + 1)
    return found


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    values = sorted(values)
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def link_uploads(session: Session, case_id: int, upload_ids: Iterable[str], *,
                 actor: Actor, at: datetime) -> list[str]:
    """Link the stored uploads among `upload_ids` to case `case_id` inside the caller's
    transaction; the ids newly linked. Idempotent. An upload already belonging to another
    case is linked only when `actor` may read it there — knowing an id must not be a way
    to pull someone else's material into a case one can read."""
    wanted = {u for u in upload_ids if isinstance(u, str) and len(u) <= 36}
    linked: list[str] = []
    for chunk in _chunks(wanted):
        stored = set(session.scalars(select(Upload.id).where(Upload.id.in_(chunk))))
        links: dict[str, set[int]] = {}
        for upload_id, other in session.execute(select(
                MaterialLink.upload_id, MaterialLink.case_id).where(
                MaterialLink.upload_id.in_(stored))):
            links.setdefault(upload_id, set()).add(other)
        for upload_id in sorted(stored):
            cases = links.get(upload_id, set())
            if case_id in cases or (cases and not _may_read_cases(session, cases, actor)):
                continue
            session.add(MaterialLink(upload_id=upload_id, case_id=case_id, linked_at=at,
                                     linked_by=actor.username))
            linked.append(upload_id)
    if linked:
        session.flush()
    return linked


def link_step_materials(ctx: "StepContext") -> None:
    """Step hook: link every upload the case's data now names (start form, task forms,
    a 容缺 material written by `CaseService.amend_data`). Runs in the step's transaction,
    before finished history is pruned, so the data of tasks completed in this step is
    still there."""
    found = upload_ids_in(ctx.workflow.data)
    for task in ctx.workflow.get_tasks():
        upload_ids_in(task.data, found)
    if found:
        link_uploads(ctx.session, ctx.case.id, found, actor=ctx.actor, at=ctx.now)


def _may_read_cases(session: Session, case_ids: set[int], actor: Actor) -> bool:
    """May `actor` read at least one of the cases (engine.cases.policy's reading rule)?"""
    if policy.reads_every_case(actor):
        return True
    for case_id, filer in session.execute(select(CaseRecord.id, CaseRecord.created_by).where(
            CaseRecord.id.in_(case_ids))):
        lanes = set(session.scalars(select(HumanTask.lane).where(
            HumanTask.case_id == case_id, HumanTask.lane.is_not(None)).distinct()))
        if policy.may_read_case(actor, filed_by=filer, task_lanes=lanes):
            return True
    return False


def may_open(session: Session, upload_id: str, actor: Actor) -> bool:
    """May `actor` download upload `upload_id`? False for an unknown id as well."""
    if not isinstance(upload_id, str) or len(upload_id) > 36:
        return False
    row = session.get(Upload, upload_id)
    if row is None:
        return False
    cases = set(session.scalars(select(MaterialLink.case_id).where(
        MaterialLink.upload_id == upload_id)))
    if not cases:
        return row.created_by is not None and row.created_by == actor.username
    return _may_read_cases(session, cases, actor)


def cases_of(session: Session, upload_id: str) -> list[int]:
    """The cases an upload is a material of (for audits and tests)."""
    return sorted(session.scalars(select(MaterialLink.case_id).where(
        MaterialLink.upload_id == upload_id)))
