"""The item catalogue (事项目录) as versioned data that analysts edit in the studio.

`processes/catalogue/items.json` is the shipped starting point. Each save in the studio is
validated as a whole by `catalogue.parse` (every problem in Chinese, naming the entry) and
stored as the next immutable version: canonical JSON, its SHA-256, who and when, and a
summary of what changed. Saving what the latest version already says is a no-op, as for
definitions. The runtime reads the newest version from the database, else the file.

Web workers on other hosts pick a new version up without a restart: `LiveCatalogue`
asks the database for the newest version number at most every `ttl` seconds (one indexed
query) and re-parses only when it changed.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from engine.cases import canonical
from engine.definitions import catalogue
from engine.definitions.catalogue import Catalogue, CatalogueError, Entry
from engine.worktime.clock import Clock
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.store.db import Database
from engine.store.models_studio import CatalogueVersion

MAX_CATALOGUE_BYTES = 2 * 1024 * 1024
ANY_BASE = object()  # save without checking which version the editor started from
EMPTY = Catalogue("", {}, {}, {})


class CatalogueInvalid(ValidationFailed):
    """The catalogue cannot be saved; `problems` lists each, in Chinese."""

    code = "invalid_catalogue"

    def __init__(self, problems: list[str]):
        super().__init__(f"事项目录有 {len(problems)} 处错误，未保存", {})
        self.problems = problems


@dataclass(frozen=True)
class CatalogueVersionView:
    version: int
    content_hash: str
    summary: str
    created_at: datetime
    created_by: str
    created: bool = True  # False: the same content was already the latest version


def decode(text: str | bytes) -> Any:
    """JSON text from an editor or a file, or CatalogueInvalid saying where it breaks."""
    if isinstance(text, bytes):
        if len(text) > MAX_CATALOGUE_BYTES:
            raise CatalogueInvalid([f"内容过大：上限 {MAX_CATALOGUE_BYTES} 字节"])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise CatalogueInvalid(["文件须为 UTF-8 编码"]) from None
    if len(text) > MAX_CATALOGUE_BYTES:
        raise CatalogueInvalid([f"内容过大：上限 {MAX_CATALOGUE_BYTES} 字节"])
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueInvalid([f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列（{exc.msg}）"]
                               ) from None
    except RecursionError:
        raise CatalogueInvalid(["JSON 嵌套过深"]) from None


def check(data: Any) -> tuple[Catalogue | None, list[str]]:
    """The parsed catalogue and no problems, or None and every problem."""
    try:
        return catalogue.parse(data, where="事项目录"), []
    except CatalogueError as exc:
        return None, list(exc.problems)
    except (TypeError, ValueError, AttributeError) as exc:
        return None, [f"无法解析：{exc}"]


def cross_check(parsed: Catalogue, file_fields: dict[str, set[str]]) -> list[str]:
    """What the catalogue says that the deployed diagrams do not: entries for processes
    that are not deployed, and materials whose file field no form of the diagram asks
    for. `file_fields` maps each deployed process key to its file-field ids. These are
    warnings (a catalogue may be prepared before its diagram is deployed), in Chinese."""
    out = []
    for entry in parsed:
        if entry.process not in file_fields:
            out.append(f"「{entry.name}」({entry.process})：流程尚未部署")
            continue
        for material in entry.materials:
            if material.field not in file_fields[entry.process]:
                out.append(f"「{entry.name}」的材料「{material.name}」：流程图的表单中没有文件字段"
                           f" {material.field}")
    return out


def deployed_file_fields(session, definitions) -> dict[str, set[str]]:
    """Each deployed process's file-field ids (latest versions)."""
    from engine.studio.versiondiff import process_elements

    out = {}
    for row in definitions.all_latest(session):
        root = definitions.document(session, row.key, row.content_hash).root
        out[row.key] = {f.id for element in process_elements(root, row.key).values()
                        for f in element.fields if f.type == "file"}
    return out


def summarise(old: Catalogue | None, new: Catalogue) -> str:
    """What a version changes against the one before, in Chinese words."""
    if old is None:
        return f"首个版本：{len(new.entries)} 个事项"
    added = [k for k in new.entries if k not in old.entries]
    removed = [k for k in old.entries if k not in new.entries]
    changed = [k for k in new.entries if k in old.entries and new.entries[k] != old.entries[k]]
    parts = []
    for label, keys, source in (("新增", added, new), ("删除", removed, old),
                                ("修改", changed, new)):
        if keys:
            parts.append(label + "、".join(f"「{source.entries[k].name}」" for k in keys))
    if dict(new.departments) != dict(old.departments):
        parts.append("修改部门列表")
    return "；".join(parts) or "仅修改了其他信息"


class CatalogueStore:
    """Versions of the catalogue in the database, the file as the fallback."""

    def __init__(self, db: Database, clock: Clock,
                 fallback: Callable[[], Catalogue | None] | None = None,
                 fallback_document: Callable[[], Any] | None = None):
        self.db, self.clock = db, clock
        self._fallback = fallback or (lambda: None)
        self._fallback_document = fallback_document
        self._fallback_value: tuple[Catalogue | None] | None = None

    def fallback(self) -> Catalogue | None:
        """The file's catalogue (read once)."""
        if self._fallback_value is None:
            self._fallback_value = (self._fallback(),)
        return self._fallback_value[0]

    # -- versions -------------------------------------------------------------------

    def latest_number(self) -> int | None:
        with self.db.reading() as session:
            return session.scalar(select(func.max(CatalogueVersion.version)))

    def load(self, version: int | None = None) -> tuple[CatalogueVersionView, Any] | None:
        """A stored version (default: the newest) and its JSON document; None when none."""
        with self.db.reading() as session:
            query = select(CatalogueVersion)
            if version is None:
                query = query.order_by(CatalogueVersion.version.desc()).limit(1)
            else:
                query = query.where(CatalogueVersion.version == version)
            row = session.scalar(query)
            if row is None:
                if version is not None:
                    raise NotFound(f"事项目录没有版本 v{version}")
                return None
            return _view(row), json.loads(row.content)

    def document(self) -> tuple[int | None, Any]:
        """What the editor starts from: the newest version's document and number, else the
        shipped file's document (version None)."""
        stored = self.load()
        if stored is not None:
            return stored[0].version, stored[1]
        if self._fallback_document is None:
            return None, {"version": "", "departments": {}, "entries": []}
        return None, self._fallback_document()

    def history(self, limit: int = 100) -> list[CatalogueVersionView]:
        with self.db.reading() as session:
            return [_view(r) for r in session.scalars(
                select(CatalogueVersion).order_by(CatalogueVersion.version.desc()).limit(limit))]

    def save(self, data: Any, actor: str, *, base_version: Any = ANY_BASE
             ) -> CatalogueVersionView:
        """Validate and store `data` as the next version. `base_version` is the version the
        editor started from: if someone saved in between, the save is refused (Conflict)
        rather than silently overwriting their change."""
        parsed, problems = check(data)
        if problems:
            raise CatalogueInvalid(problems)
        text = canonical.dumps(data)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        with self.db.transaction() as session:
            latest = session.scalar(select(CatalogueVersion)
                                    .order_by(CatalogueVersion.version.desc()).limit(1))
            if latest is not None and latest.content_hash == digest:
                return _view(latest, created=False)
            number = latest.version if latest is not None else None
            if base_version is not ANY_BASE and base_version != number:
                raise Conflict(f"事项目录已被他人保存为 v{number}，请在最新版本上重新修改")
            before = check(json.loads(latest.content))[0] if latest is not None \
                else self.fallback()
            row = CatalogueVersion(version=(number or 0) + 1, content_hash=digest, content=text,
                                   summary=summarise(before, parsed), created_at=self.clock.now(),
                                   created_by=actor)
            session.add(row)
            try:
                session.flush()
            except IntegrityError:
                raise Conflict("事项目录正由他人同时保存，请重试") from None
            return _view(row)

    def warnings(self, definitions, data: Any = None) -> list[str]:
        """`cross_check` of `data` (default: the catalogue in use) against the deployed
        diagrams."""
        parsed = check(data)[0] if data is not None else (
            check(self.document()[1])[0])
        if parsed is None:
            return []
        with self.db.reading() as session:
            return cross_check(parsed, deployed_file_fields(session, definitions))

    def live(self, ttl: float = 2.0) -> "LiveCatalogue":
        return LiveCatalogue(self, ttl)


def _view(row: CatalogueVersion, created: bool = True) -> CatalogueVersionView:
    return CatalogueVersionView(row.version, row.content_hash, row.summary, row.created_at,
                                row.created_by, created)


class LiveCatalogue:
    """The catalogue the runtime uses: the newest stored version, else the file. Answers
    like `catalogue.Catalogue` (get, [], in, iteration, items_of, materials_of, material,
    entries …), re-checking the newest version number at most every `ttl` seconds."""

    def __init__(self, store: CatalogueStore, ttl: float = 2.0):
        self._store, self._ttl = store, ttl
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._version: int | None = None
        self._current: Catalogue | None = None

    @property
    def version_number(self) -> int | None:
        """The stored version in use (None: the shipped file)."""
        self.current()
        return self._version

    def refresh(self) -> None:
        """Check the database now (after a save in this process)."""
        self._checked = float("-inf")

    def current(self) -> Catalogue | None:
        now = time.monotonic()
        if now - self._checked < self._ttl:
            return self._current if self._version is not None else self._store.fallback()
        with self._lock:
            try:
                newest = self._store.latest_number()
            except SQLAlchemyError:
                newest = None  # no schema yet (e.g. before `onething db upgrade`)
            if newest is not None and newest != self._version:
                loaded = self._store.load(newest)
                parsed, _ = check(loaded[1]) if loaded else (None, [])
                if parsed is not None:
                    self._current, self._version = parsed, newest
            elif newest is None:
                self._current, self._version = None, None
            self._checked = now
        return self._current if self._version is not None else self._store.fallback()

    def _use(self) -> Catalogue:
        return self.current() or EMPTY

    def get(self, process_key: str) -> Entry | None:
        return self._use().get(process_key)

    def __getitem__(self, process_key: str) -> Entry:
        return self._use()[process_key]

    def __contains__(self, process_key: object) -> bool:
        return process_key in self._use()

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._use())

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._use(), name)
