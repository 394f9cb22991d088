"""Analysts' drafts: change a process in the studio without touching what runs.

A draft is one analyst's unfinished version of one process, stored in its own table
(`studio_draft`), never in `process_definition`, so no case can ever start on it or be
moved by it. It becomes a version only through `deploy`, which runs exactly the checks of
`onething deploy` (plus: the one-things that call this process must still accept it) and
then stores it as the key's next immutable version; running cases keep the versions they
pinned. Every save, upload, discard and deploy is written to the studio log with who, when
and the SHA-256 of the content.

The bytes are kept exactly as received: a draft or version downloads byte for byte as it
was saved or uploaded, so it opens unchanged in Camunda Modeler.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.definitions import deployments
from engine.studio import log as studio_log
from engine.worktime.clock import Clock
from engine.definitions.service import (BpmnFile, Definitions, DeployResult, check_expressions,
    read_bpmn)
from engine.errors import (Conflict, InvalidDefinition, NotAllowed, NotFound, Problem,
    ValidationFailed)
from engine.store.db import Database
from engine.store.models import ProcessDefinition
from engine.store.models_studio import StudioDraft
from engine.cases.dto import Actor

DESIGNER_ROLES = frozenset({"analyst", "admin"})
FILE_NAME = re.compile(r"^[\w\u4e00-\u9fff.() -]{1,200}\.bpmn$")


def may_design(actor: Actor) -> bool:
    """Only analysts (and administrators) change or deploy process definitions."""
    return bool(DESIGNER_ROLES & actor.roles)


@dataclass(frozen=True)
class DraftView:
    key: str
    owner: str
    title: str
    file_name: str
    content_hash: str
    size: int
    base_version: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Validation:
    """What `onething deploy` would say about a draft (`problems`, on the draft's own
    elements), and what the one-things calling it would say (`elsewhere`)."""

    problems: tuple[Problem, ...]
    elsewhere: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems and not self.elsewhere

    @property
    def all(self) -> list[Problem]:
        return [*self.problems, *self.elsewhere]


def _view(row: StudioDraft) -> DraftView:
    data = row.bpmn_xml.encode("utf-8")
    title = row.process_key
    try:
        title = read_bpmn(data, row.file_name).title
    except InvalidDefinition:
        pass
    return DraftView(row.process_key, row.owner, title, row.file_name, row.content_hash,
                     len(data), row.base_version, row.created_at, row.updated_at)


class Drafts:
    """Save, reopen, discard, validate and deploy analysts' drafts."""

    def __init__(self, db: Database, definitions: Definitions, clock: Clock):
        self.db = db
        self.definitions = definitions
        self.clock = clock

    # -- reading -----------------------------------------------------------------------

    def get(self, key: str, actor: Actor) -> DraftView | None:
        self._require(actor)
        with self.db.reading() as session:
            row = self._row(session, key, actor.username)
            return _view(row) if row else None

    def content(self, key: str, actor: Actor) -> bytes:
        self._require(actor)
        with self.db.reading() as session:
            row = self._row(session, key, actor.username)
            if row is None:
                raise NotFound(f"没有流程 {key} 的草稿")
            return row.bpmn_xml.encode("utf-8")

    def of(self, actor: Actor) -> list[DraftView]:
        """The actor's drafts, most recently saved first."""
        self._require(actor)
        with self.db.reading() as session:
            rows = session.scalars(select(StudioDraft).where(StudioDraft.owner == actor.username)
                                   .order_by(StudioDraft.updated_at.desc()))
            return [_view(r) for r in rows]

    def starting_point(self, key: str, actor: Actor,
                       version: int | None = None) -> tuple[bytes, int | None, bool]:
        """What the modeler opens: (bytes, version it is based on, is it the draft?) — the
        actor's draft unless a version is asked for, else the latest version."""
        self._require(actor)
        with self.db.reading() as session:
            draft = self._row(session, key, actor.username) if version is None else None
            if draft is not None:
                return draft.bpmn_xml.encode("utf-8"), draft.base_version, True
            if version is not None:
                row = deployments.version(session, key, version)
            else:
                row = self.definitions.latest(session, key)
                if row is None:
                    raise NotFound(f"流程 {key} 未部署，也没有草稿")
            return row.bpmn_xml.encode("utf-8"), row.version, False

    # -- changing ----------------------------------------------------------------------

    def save(self, key: str, data: bytes, actor: Actor, *,
             base_version: int | None = None) -> DraftView:
        """Keep `data` as the actor's draft of `key`. Refuses unsafe XML and a diagram of
        another process; anything else is kept (and shown by `validate`), so no work is lost."""
        self._require(actor)
        bpmn = read_bpmn(data, f"{key}.bpmn")
        if bpmn.key != key:
            raise ValidationFailed(
                f"图中的流程 id 是「{bpmn.key}」，不是正在编辑的「{key}」：请改回原 id；"
                "如要新建流程，请下载后以新文件上传")
        return self._store(bpmn, actor, studio_log.DRAFT_SAVED, base_version=base_version,
                           summary=f"保存草稿「{bpmn.title}」（{len(bpmn.data)} 字节）")

    def upload(self, data: bytes, file_name: str, actor: Actor) -> DraftView:
        """A .bpmn file from the analyst's computer becomes their draft of the process it
        defines. Hostile XML (XXE, entity bombs, huge attributes) and expressions the
        sandbox refuses are rejected outright; other problems are kept for the modeler."""
        self._require(actor)
        name = (file_name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
        if not FILE_NAME.match(name):
            raise ValidationFailed("只能上传 .bpmn 文件（文件名只含字母、数字、汉字、点、横线和下划线）")
        bpmn = read_bpmn(data, name)
        if not bpmn.key:
            raise ValidationFailed("文件中的流程缺少 id")
        unsafe = check_expressions(bpmn.process, bpmn.name, self.definitions.sandbox)
        if unsafe:
            raise InvalidDefinition("文件中的表达式或脚本不能在沙箱中运行", unsafe)
        return self._store(bpmn, actor, studio_log.DRAFT_UPLOADED,
                           summary=f"上传文件 {name}（{len(bpmn.data)} 字节）")

    def discard(self, key: str, actor: Actor) -> None:
        self._require(actor)
        with self.db.transaction() as session:
            row = self._row(session, key, actor.username)
            if row is None:
                raise NotFound(f"没有流程 {key} 的草稿")
            studio_log.append(session, at=self.clock.now(), actor=actor.username,
                              kind=studio_log.DRAFT_DISCARDED, process_key=key,
                              summary="放弃草稿", content_hash=row.content_hash,
                              content=row.bpmn_xml)
            session.delete(row)

    def validate(self, data: bytes, file_name: str) -> Validation:
        """The checks of `onething deploy` on `data`; unsafe XML raises like deploy does."""
        bpmn = read_bpmn(data, file_name)
        with self.db.reading() as session:
            return self._validate(session, bpmn)

    def validate_draft(self, key: str, actor: Actor) -> Validation:
        self._require(actor)
        with self.db.reading() as session:
            row = self._row(session, key, actor.username)
            if row is None:
                raise NotFound(f"没有流程 {key} 的草稿")
            return self._validate(session, read_bpmn(row.bpmn_xml.encode("utf-8"), row.file_name))

    def deploy(self, key: str, actor: Actor, *, over_newer: bool = False) -> DeployResult:
        """Deploy the actor's saved draft of `key` as the key's next version (nothing, when
        identical to a deployed version). Running cases keep their pinned versions.

        A draft started from an older version than the latest would silently undo what was
        deployed since; that is refused unless the analyst confirms it (`over_newer`)."""
        self._require(actor)
        with self.db.transaction() as session:
            row = self._row(session, key, actor.username)
            if row is None:
                raise NotFound(f"没有流程 {key} 的草稿，请先保存")
            latest = self.definitions.latest(session, key)
            if (latest is not None and row.base_version and latest.version > row.base_version
                    and not over_newer):
                raise Conflict(f"草稿基于 v{row.base_version}，此后 {latest.deployed_by or '他人'} "
                               f"已部署了 v{latest.version}：部署草稿会撤销 v{latest.version} 的修改。"
                               "请先对比版本，确认后勾选“覆盖”再部署")
            bpmn = read_bpmn(row.bpmn_xml.encode("utf-8"), row.file_name)
            found = self._validate(session, bpmn)
            if not found.ok:
                raise InvalidDefinition(f"部署失败：发现 {len(found.all)} 个问题", found.all)
            [result] = self.definitions.deploy(session, [bpmn], actor=actor.username,
                                               at=self.clock.now())
            if result.created:
                base = f"，基于 v{row.base_version}" if row.base_version else ""
                studio_log.append(session, at=self.clock.now(), actor=actor.username,
                                  kind=studio_log.DEFINITION_DEPLOYED, process_key=key,
                                  version=result.version, content_hash=result.content_hash,
                                  summary=f"部署「{bpmn.title}」为 v{result.version}{base}")
                session.delete(row)
            return result

    # -- internals ---------------------------------------------------------------------

    @staticmethod
    def _require(actor: Actor) -> None:
        if not may_design(actor):
            raise NotAllowed("只有流程分析员可以修改和部署流程")

    @staticmethod
    def _row(session: Session, key: str, owner: str) -> StudioDraft | None:
        if not isinstance(key, str) or len(key) > 200:
            return None
        return session.scalar(select(StudioDraft).where(StudioDraft.process_key == key,
                                                        StudioDraft.owner == owner))

    def _store(self, bpmn: BpmnFile, actor: Actor, kind: str, *, summary: str,
               base_version: int | None = None) -> DraftView:
        now = self.clock.now()
        text = bpmn.data.decode("utf-8")
        with self.db.transaction() as session:
            latest = session.scalar(select(func.max(ProcessDefinition.version))
                                    .where(ProcessDefinition.key == bpmn.key))
            if base_version is not None and not 0 < base_version <= (latest or 0):
                base_version = latest  # only a version that exists can be a draft's base
            row = self._row(session, bpmn.key, actor.username)
            if row is None:
                row = StudioDraft(process_key=bpmn.key, owner=actor.username, created_at=now,
                                  base_version=base_version or latest,
                                  file_name=self._file_name(session, bpmn))
                session.add(row)
            elif kind == studio_log.DRAFT_UPLOADED:
                row.base_version = latest
            elif base_version:  # the modeler says which version its diagram started from
                row.base_version = base_version
            row.bpmn_xml, row.content_hash, row.updated_at = text, bpmn.content_hash, now
            studio_log.append(session, at=now, actor=actor.username, kind=kind,
                              process_key=bpmn.key, summary=summary,
                              content_hash=bpmn.content_hash, content=text)
            session.flush()
            return _view(row)

    def _file_name(self, session: Session, bpmn: BpmnFile) -> str:
        """Keep the deployed file name of the process (the name `onething deploy` gave it)."""
        latest = self.definitions.latest(session, bpmn.key)
        if latest is not None:
            return latest.file_name
        return bpmn.name if bpmn.name.endswith(".bpmn") else f"{bpmn.key}.bpmn"

    def _validate(self, session: Session, bpmn: BpmnFile) -> Validation:
        own = self.definitions.validate(session, [bpmn])
        callers = [self.definitions.document(session, c.key, c.content_hash)
                   for c in deployments.callers(session, bpmn.key) if c.key != bpmn.key]
        if not callers:
            return Validation(tuple(own))
        together = self.definitions.validate(session, [bpmn, *callers])
        return Validation(tuple(own), tuple(p for p in together if p not in own))
