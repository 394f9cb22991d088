"""Departments and windows of the service hall: the names BPMN lanes use and people belong to.

A department's `name` is the lane name in the diagrams (住房和城乡建设局, 综合受理窗口 …) and the
group name on a user, so it is never renamed: a different name is a different department.
Deploying a diagram does not need its departments to exist (a lane may name a department
that is set up later); `lanes_without_department` tells an administrator which are missing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import Conflict, NotFound, ValidationFailed
from engine.store.db import Database
from engine.i18n import N_
from engine.store.models import DEPARTMENT_KINDS, TASK_OPEN, Department, HumanTask

if TYPE_CHECKING:
    from engine.definitions.service import BpmnFile, Definitions

log = logging.getLogger("onething.admin")





KIND_LABELS = {"department": N_("部门"), "window": N_("窗口")}
NAME_MAX = 200
CODE_MAX = 50


@dataclass(frozen=True)
class DepartmentView:
    id: int
    name: str
    code: str | None
    kind: str
    active: bool

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


def _view(row: Department) -> DepartmentView:
    return DepartmentView(row.id, row.name, row.code, row.kind, bool(row.active))


def clean_name(name: object) -> str:
    """A department name as stored: trimmed, one line, not empty, not too long."""
    if not isinstance(name, str):
        raise ValidationFailed("部门名称须为文本", {"name": "部门名称须为文本"})
    name = name.strip()
    if not name:
        raise ValidationFailed("部门名称不能为空", {"name": "部门名称不能为空"})
    if len(name) > NAME_MAX:
        msg = f"部门名称不能超过 {NAME_MAX} 个字符"
        raise ValidationFailed(msg, {"name": msg})
    if any(ch in name for ch in "\x00\r\n\t") or "," in name or "，" in name:
        msg = "部门名称不能包含换行、制表符或逗号"
        raise ValidationFailed(msg, {"name": msg})
    return name


class Departments:
    def __init__(self, db: Database):
        self.db = db

    # -- reads -----------------------------------------------------------------------------

    def list(self, *, active_only: bool = False) -> list[DepartmentView]:
        """Windows first, then departments, each by name."""
        with self.db.reading() as session:
            query = select(Department)
            if active_only:
                query = query.where(Department.active.is_(True))
            rows = session.scalars(query.order_by(Department.kind.desc(), Department.name))
            return [_view(row) for row in rows]

    def by_id(self, department_id: int) -> DepartmentView:
        with self.db.reading() as session:
            row = session.get(Department, department_id)
            if row is None:
                raise NotFound(f"部门（编号 {department_id}）不存在")
            return _view(row)

    def get(self, name: str) -> DepartmentView | None:
        if not isinstance(name, str) or len(name) > NAME_MAX:
            return None
        with self.db.reading() as session:
            row = session.scalar(select(Department).where(Department.name == name))
            return _view(row) if row else None

    def active_names(self) -> set[str]:
        with self.db.reading() as session:
            return active_names(session)

    # -- writes ----------------------------------------------------------------------------

    def add(self, name: str, *, code: str | None = None, kind: str = "department",
            actor: str = "system") -> DepartmentView:
        name = clean_name(name)
        code = (code or "").strip() or None
        if code is not None and len(code) > CODE_MAX:
            msg = f"部门编码不能超过 {CODE_MAX} 个字符"
            raise ValidationFailed(msg, {"code": msg})
        if kind not in DEPARTMENT_KINDS:
            msg = "类型须为“部门”或“窗口”"
            raise ValidationFailed(msg, {"kind": msg})
        try:
            with self.db.transaction() as session:
                existing = session.scalar(select(Department).where(Department.name == name))
                if existing is not None:
                    hint = "" if existing.active else "（已停用，可重新启用）"
                    raise Conflict(f"部门 {name} 已存在{hint}")
                if code and session.scalar(select(Department).where(Department.code == code)):
                    raise Conflict(f"部门编码 {code} 已被使用")
                row = Department(name=name, code=code, kind=kind, active=True)
                session.add(row)
                session.flush()
                view = _view(row)
        except IntegrityError:  # a concurrent add of the same name or code
            raise Conflict(f"部门 {name} 已存在") from None
        log.info("department added by %s: %s (kind=%s, code=%s)", actor, name, kind, code)
        return view

    def set_active(self, name: str, active: bool, *, actor: str = "system") -> DepartmentView:
        """Deactivate (people keep it, nobody new may be given it) or reactivate."""
        with self.db.transaction() as session:
            row = session.scalar(select(Department).where(Department.name == name))
            if row is None:
                raise NotFound(f"部门 {name} 不存在")
            row.active = active
            view = _view(row)
        log.info("department %s by %s: %s", "reactivated" if active else "deactivated",
                 actor, name)
        return view

    def deactivate(self, name: str, *, actor: str = "system") -> DepartmentView:
        return self.set_active(name, False, actor=actor)

    def activate(self, name: str, *, actor: str = "system") -> DepartmentView:
        return self.set_active(name, True, actor=actor)

    def ensure(self, names: Iterable[str], *, kind_of=None, actor: str = "system") -> list[str]:
        """Create the departments of `names` that do not exist yet (the demo seed); returns
        the names created. `kind_of(name)` picks the kind (default: 窗口 if the name says so)."""
        kind_of = kind_of or guess_kind
        created = []
        for name in dict.fromkeys(names):
            if self.get(name) is None:
                self.add(name, kind=kind_of(name), actor=actor)
                created.append(name)
        return created

    # -- lanes -----------------------------------------------------------------------------

    def lanes_without_department(self, definitions: "Definitions") -> dict[str, list[str]]:
        """Lane names of the deployed processes (latest versions) and of open tasks that no
        active department has, each with the processes that use it."""
        with self.db.reading() as session:
            known = active_names(session)
            missing: dict[str, set[str]] = {}
            for row in definitions.all_latest(session):
                document = definitions.document(session, row.key, row.content_hash)
                for lane in task_lanes(document):
                    if lane not in known:
                        missing.setdefault(lane, set()).add(row.name or row.key)
            open_lanes = session.execute(
                select(HumanTask.lane, HumanTask.process_key).distinct()
                .where(HumanTask.state == TASK_OPEN, HumanTask.lane.is_not(None)))
            for lane, process_key in open_lanes:
                if lane not in known:
                    missing.setdefault(lane, set()).add(process_key)
        return {lane: sorted(missing[lane]) for lane in sorted(missing)}


def active_names(session: Session) -> set[str]:
    return set(session.scalars(select(Department.name).where(Department.active.is_(True))))


def require_active(session: Session, groups: Iterable[str], *, field: str = "groups") -> None:
    """Refuse group names that are not active departments (ValidationFailed, in Chinese)."""
    groups = list(groups)
    if not groups:
        return
    known = active_names(session)
    unknown = [g for g in groups if g not in known]
    if unknown:
        msg = f"部门/窗口不存在或已停用：{'、'.join(unknown)}"
        raise ValidationFailed(msg, {field: msg})


def task_lanes(document: "BpmnFile") -> list[str]:
    """Names of the lanes of a BPMN document that hold at least one user task."""
    from engine.definitions.service import BPMN_NS

    user_tasks = {t.get("id") for t in document.process.iter(f"{{{BPMN_NS}}}userTask")}
    names = []
    for lane in document.process.iter(f"{{{BPMN_NS}}}lane"):
        name = (lane.get("name") or "").strip()
        refs = {(ref.text or "").strip() for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef")}
        if name and refs & user_tasks and name not in names:
            names.append(name)
    return names


def guess_kind(name: str) -> str:
    return "window" if name.endswith("窗口") else "department"
