"""Process definitions: read a BPMN file safely, validate it element by element, deploy it
as an immutable version keyed by content hash, and hand parsed specs to running cases.

A version is stored once (its BPMN text); cases pin the versions they run on, so a new
deployment never moves a running case. Parsed specs are cached per set of pinned hashes.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Sequence

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.errors import Conflict, ExpressionError, InvalidDefinition, NotFound, Problem
from engine.sandbox import Sandbox
from engine.store.models import ProcessDefinition
from engine.definitions.xmlsafe import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}

# Elements SpiffWorkflow would parse but not run the way an analyst expects (or at all).
UNSUPPORTED = {
    "linkEventDefinition": "不支持链接事件（SpiffWorkflow 不能正确执行）",
    "compensateEventDefinition": "不支持补偿事件（SpiffWorkflow 不能正确执行）",
    "complexGateway": "不支持复杂网关",
    "adHocSubProcess": "不支持自由子流程",
    "serviceTask": "不支持服务任务：请使用脚本任务或人工任务",
    "businessRuleTask": "不支持业务规则任务（DMN）",
}
TIMER_DEFINITIONS = (TimerEventDefinition, MultipleEventDefinition)
PYTHON_SCRIPT_FORMATS = {"", "python", "py", "text/x-python"}

# A deploy-time check from another room (forms/ via web/): the file, and the files its
# call activities reach (empty when some are missing), to problems.
Check = Callable[["BpmnFile", list["BpmnFile"]], list[Problem]]


@dataclass(frozen=True)
class BpmnFile:
    """One parsed BPMN document with exactly one executable process."""

    name: str
    data: bytes
    root: etree._Element
    process: etree._Element
    key: str
    title: str
    content_hash: str
    called: tuple[str, ...]


@dataclass(frozen=True)
class DeployResult:
    key: str
    name: str
    version: int
    content_hash: str
    created: bool  # False: the same content was already deployed (a no-op)


def read_bpmn(data: bytes, name: str) -> BpmnFile:
    """Parse untrusted bytes and find the file's executable process."""
    root = parse_xml(data, name=name)
    try:
        bytes(data).decode("utf-8")  # stored as text; re-read from it for every case
    except UnicodeDecodeError as exc:
        msg = f"文件须为 UTF-8 编码（第 {exc.start} 字节不是 UTF-8）"
        raise InvalidDefinition(msg, [Problem(None, None, msg, name)]) from None
    if etree.QName(root).localname != "definitions" or etree.QName(root).namespace != BPMN_NS:
        raise InvalidDefinition("不是 BPMN 2.0 文件（根元素应为 bpmn:definitions）",
                                [Problem(None, None, "根元素应为 bpmn:definitions", name)])
    processes = [p for p in root.findall("bpmn:process", NS)
                 if p.get("isExecutable", "true") != "false"]
    if len(processes) != 1:
        msg = f"每个文件须恰好包含一个可执行流程，实际 {len(processes)} 个"
        raise InvalidDefinition(msg, [Problem(None, None, msg, name)])
    process = processes[0]
    key = process.get("id") or ""
    called = tuple(sorted({c.get("calledElement") for c in process.iter(f"{{{BPMN_NS}}}callActivity")
                           if c.get("calledElement")}))
    return BpmnFile(name=name, data=bytes(data), root=root, process=process, key=key,
                    title=process.get("name") or key,
                    content_hash=hashlib.sha256(data).hexdigest(), called=called)


def is_common_part(bpmn: BpmnFile) -> bool:
    """A process other processes call as a shared step (e.g. the 容缺 gate in
    processes/common), not an item of the catalogue: its process carries
    `<camunda:property name="catalogue" value="none"/>`."""
    extensions = bpmn.process.find(f"{{{BPMN_NS}}}extensionElements")
    if extensions is None:
        return False
    return any(prop.get("name") == "catalogue" and prop.get("value") == "none"
               for prop in extensions.iter(f"{{{CAMUNDA_NS}}}property"))


def _problem(element: etree._Element, message: str, file: str) -> Problem:
    return Problem(element.get("id"), element.get("name"), message, file)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _owner(element: etree._Element, process: etree._Element) -> etree._Element:
    """The diagram element a problem inside `element` belongs to: the nearest one with an
    id that the modeler draws (an event, not its eventDefinition child)."""
    for candidate in (element, *element.iterancestors()):
        if candidate is process:
            return process
        if candidate.get("id") and not _local(candidate).endswith("EventDefinition"):
            return candidate
    return process


def static_problems(bpmn: BpmnFile, sandbox: Sandbox) -> list[Problem]:
    """Checks on the XML that SpiffWorkflow itself would not make."""
    problems: list[Problem] = []
    process, file = bpmn.process, bpmn.name
    if not bpmn.key:
        problems.append(_problem(process, "流程缺少 id", file))
    problems += _unsupported(process, file)
    problems += _lanes(process, file)
    problems += _gateways(process, file)
    problems += check_expressions(process, file, sandbox)
    return problems


def _unsupported(process, file) -> list[Problem]:
    found = []
    for element in process.iter():
        message = UNSUPPORTED.get(_local(element))
        if message:
            found.append(_problem(_owner(element, process), message, file))
    return found


def _lanes(process, file) -> list[Problem]:
    in_lane = {ref.text.strip() for ref in process.iter(f"{{{BPMN_NS}}}flowNodeRef") if ref.text}
    return [_problem(task, "人工任务不在任何泳道中：泳道决定由哪个部门办理", file)
            for task in process.iter(f"{{{BPMN_NS}}}userTask") if task.get("id") not in in_lane]


def _gateways(process, file) -> list[Problem]:
    problems = []
    flows = list(process.iter(f"{{{BPMN_NS}}}sequenceFlow"))
    for kind in ("exclusiveGateway", "inclusiveGateway"):
        for gateway in process.iter(f"{{{BPMN_NS}}}{kind}"):
            outgoing = [f for f in flows if f.get("sourceRef") == gateway.get("id")]
            if len(outgoing) < 2:
                continue
            default = gateway.get("default")
            if default and default not in {f.get("id") for f in outgoing}:
                problems.append(_problem(gateway, f"默认连线 {default} 不是该网关的出口", file))
            bare = [f.get("id") for f in outgoing
                    if f.get("id") != default and not _condition_text(f)]
            if bare:
                problems.append(_problem(
                    gateway, "网关的出口连线既没有条件也不是默认连线：" + "、".join(bare), file))
    return problems


def _condition_text(flow) -> str:
    condition = flow.find("bpmn:conditionExpression", NS)
    return (condition.text or "").strip() if condition is not None else ""


def check_expressions(process, file, sandbox: Sandbox) -> list[Problem]:
    """Every condition, script and timer expression of `process` that the sandbox refuses
    (deploy runs it; the studio runs it on uploads before anything is stored)."""
    problems = []

    def check(owner, source: str, mode: str, what: str) -> None:
        try:
            sandbox.check(source, mode)
        except ExpressionError as exc:
            line = f"（第 {exc.lineno} 行）" if exc.lineno else ""
            problems.append(_problem(owner, f"{what}不能在沙箱中运行{line}：{exc.message}", file))

    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        if _condition_text(flow):
            check(flow, _condition_text(flow), "eval", "条件表达式")
    for task in process.iter(f"{{{BPMN_NS}}}scriptTask"):
        script_format = (task.get("scriptFormat") or "").strip().lower()
        if script_format not in PYTHON_SCRIPT_FORMATS:
            problems.append(_problem(task, f"脚本语言 {script_format} 不受支持：只支持 Python 表达式",
                                     file))
            continue
        script = task.find("bpmn:script", NS)
        check(task, (script.text or "") if script is not None else "", "exec", "脚本")
    for prop in process.iter(f"{{{CAMUNDA_NS}}}property"):
        if prop.get("name") == "starts_clock" and (prop.get("value") or "").strip():
            check(_owner(prop, process), prop.get("value").strip(), "eval", "计时起点条件")
        if prop.get("name") == "applies_when":  # an optional item's condition (一件事)
            if not (prop.get("value") or "").strip():
                problems.append(_problem(_owner(prop, process), "适用条件 applies_when 为空", file))
            else:
                check(_owner(prop, process), prop.get("value").strip(), "eval", "适用条件")
    for tag in ("timeDate", "timeDuration", "timeCycle", "loopCardinality", "completionCondition"):
        for element in process.iter(f"{{{BPMN_NS}}}{tag}"):
            if (element.text or "").strip():
                check(_owner(element, process), element.text.strip(), "eval", "表达式")
    return problems


def spiff_problems(bpmn: BpmnFile, others: Iterable[BpmnFile]) -> list[Problem]:
    """Let SpiffWorkflow's Camunda parser build the spec and its call-activity specs."""
    parser = CamundaParser()
    try:
        parser.add_bpmn_xml(bpmn.root, filename=bpmn.name)
        for other in others:
            if other.key != bpmn.key:
                parser.add_bpmn_xml(other.root, filename=other.name)
        parser.get_spec(bpmn.key)
        parser.get_subprocess_specs(bpmn.key)
    except ValidationException as exc:
        return [Problem(exc.id or None, exc.name or None, _spiff_message(exc), bpmn.name)]
    except (SpiffWorkflowException, ValueError, KeyError, TypeError, AttributeError) as exc:
        return [Problem(None, None, f"流程无法解析：{exc}", bpmn.name)]
    return []


def _spiff_message(exc: ValidationException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return f"流程无法解析：{text}"


class SpecCache:
    """Parsed specs per set of pinned versions; specs are immutable, so share them."""

    def __init__(self, size: int = 64):
        self._size = size
        self._items: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, pins: dict[str, str], load: Callable[[], Any]) -> Any:
        key = tuple(sorted(pins.items()))
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = load()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


class Definitions:
    """Deployed definitions: validate, deploy, resolve and parse."""

    def __init__(self, sandbox: Sandbox, checks: Sequence[Check] = ()):
        self.sandbox = sandbox
        self.checks = list(checks)
        self.specs = SpecCache()
        self.documents = SpecCache(256)
        self._versions: dict[int, int] = {}
        self._timers: dict[tuple, bool] = {}

    # -- validation and deployment ---------------------------------------------------

    def validate(self, session: Session, files: Sequence[BpmnFile]) -> list[Problem]:
        """Every problem of every file, each naming its element; empty if deployable."""
        problems: list[Problem] = []
        keys = [f.key for f in files]
        for key in {k for k in keys if keys.count(k) > 1}:
            problems.append(Problem(key, None, "同一批次中有多个文件定义了同一流程 id"))
        batch = {f.key: f for f in files}
        for bpmn in files:
            problems += static_problems(bpmn, self.sandbox)
            missing = [k for k in bpmn.called if k not in batch and self.latest(session, k) is None]
            for call in bpmn.process.iter(f"{{{BPMN_NS}}}callActivity"):
                if call.get("calledElement") in missing or not call.get("calledElement"):
                    target = call.get("calledElement") or "（未填写）"
                    problems.append(_problem(call, f"调用活动的目标流程 {target} 尚未部署", bpmn.name))
            callees = [] if missing else self._callees(session, bpmn, batch)
            for check in self.checks:
                problems += check(bpmn, callees)
            if missing:
                continue
            if any(bpmn.key in callee.called for callee in callees) or bpmn.key in bpmn.called:
                problems.append(_problem(bpmn.process, "调用活动形成循环调用：流程会无限递归",
                                         bpmn.name))
            else:
                problems += spiff_problems(bpmn, callees)
        return problems

    def _callees(self, session: Session, bpmn: BpmnFile, batch: dict[str, BpmnFile]):
        seen, todo, out = {bpmn.key}, list(bpmn.called), []
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            callee = batch.get(key)
            if callee is None:
                row = self.latest(session, key)
                if row is None:
                    continue
                callee = read_bpmn(row.bpmn_xml.encode("utf-8"), row.file_name)
            out.append(callee)
            todo.extend(callee.called)
        return out

    def deploy(self, session: Session, files: Sequence[BpmnFile], *, actor: str | None,
               at: datetime) -> list[DeployResult]:
        """Validate the batch and store each changed file as its key's next version."""
        problems = self.validate(session, files)
        if problems:
            raise InvalidDefinition(f"部署失败：发现 {len(problems)} 个问题", problems)
        results = []
        for bpmn in files:
            existing = session.scalar(select(ProcessDefinition).where(
                ProcessDefinition.key == bpmn.key,
                ProcessDefinition.content_hash == bpmn.content_hash))
            if existing is not None:
                results.append(DeployResult(bpmn.key, existing.name, existing.version,
                                            existing.content_hash, False))
                continue
            version = (session.scalar(select(func.max(ProcessDefinition.version))
                                      .where(ProcessDefinition.key == bpmn.key)) or 0) + 1
            session.add(ProcessDefinition(
                key=bpmn.key, version=version, name=bpmn.title, content_hash=bpmn.content_hash,
                file_name=bpmn.name, bpmn_xml=bpmn.data.decode("utf-8"),
                called_keys=list(bpmn.called), deployed_at=at, deployed_by=actor))
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(f"流程 {bpmn.key} 正由他人同时部署，请重试") from None
            results.append(DeployResult(bpmn.key, bpmn.title, version, bpmn.content_hash, True))
        return results

    # -- lookups ----------------------------------------------------------------------

    @staticmethod
    def latest(session: Session, key: str) -> ProcessDefinition | None:
        if not isinstance(key, str) or "\x00" in key or len(key) > 200:
            return None
        return session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key)
                              .order_by(ProcessDefinition.version.desc()).limit(1))

    @staticmethod
    def all_latest(session: Session) -> list[ProcessDefinition]:
        newest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v"))
                  .group_by(ProcessDefinition.key).subquery())
        return list(session.scalars(
            select(ProcessDefinition).join(newest, (ProcessDefinition.key == newest.c.key)
                                           & (ProcessDefinition.version == newest.c.v))
            .order_by(ProcessDefinition.key)))

    @staticmethod
    def by_hash(session: Session, key: str, content_hash: str) -> ProcessDefinition:
        row = session.scalar(select(ProcessDefinition).where(
            ProcessDefinition.key == key, ProcessDefinition.content_hash == content_hash))
        if row is None:
            raise NotFound(f"流程 {key} 的版本 {content_hash[:12]} 不存在")
        return row

    def resolve_pins(self, session: Session, key: str) -> tuple[ProcessDefinition, dict[str, str]]:
        """The latest version of `key` and of everything it calls, transitively."""
        top = self.latest(session, key)
        if top is None:
            raise NotFound(f"流程 {key} 未部署")
        pins, todo = {top.key: top.content_hash}, list(top.called_keys)
        while todo:
            callee_key = todo.pop()
            if callee_key in pins:
                continue
            callee = self.latest(session, callee_key)
            if callee is None:
                raise NotFound(f"流程 {key} 调用的 {callee_key} 未部署")
            pins[callee.key] = callee.content_hash
            todo.extend(callee.called_keys)
        return top, pins

    def document(self, session: Session, key: str, content_hash: str) -> BpmnFile:
        """The parsed BPMN document of one deployed version (cached; it never changes)."""
        def load():
            row = self.by_hash(session, key, content_hash)
            return read_bpmn(row.bpmn_xml.encode("utf-8"), row.file_name)
        return self.documents.get({key: content_hash}, load)

    def version_of(self, session: Session, definition_id: int) -> int:
        """The version number of a deployed definition (immutable, so cached)."""
        if definition_id not in self._versions:
            self._versions[definition_id] = session.scalar(
                select(ProcessDefinition.version).where(ProcessDefinition.id == definition_id))
        return self._versions[definition_id]

    def has_timers(self, pins: dict[str, str], spec, subprocess_specs) -> bool:
        """Whether any process a case runs on has a timer event (else timers need no sync)."""
        cache_key = tuple(sorted(pins.items()))
        if cache_key not in self._timers:
            self._timers[cache_key] = any(
                isinstance(getattr(t, "event_definition", None), TIMER_DEFINITIONS)
                for s in (spec, *subprocess_specs.values()) for t in s.task_specs.values())
        return self._timers[cache_key]

    def specs_for(self, session: Session, key: str, pins: dict[str, str]):
        """(spec, subprocess_specs) for a case running `key` on `pins`; cached."""
        def load():
            parser = CamundaParser()
            for pin_key, content_hash in pins.items():
                row = self.by_hash(session, pin_key, content_hash)
                parser.add_bpmn_xml(parse_xml(row.bpmn_xml.encode("utf-8"), name=row.file_name),
                                    filename=row.file_name)
            return parser.get_spec(key), parser.get_subprocess_specs(key)
        return self.specs.get(pins, load)
