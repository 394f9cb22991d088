"""What changed between two versions of a process: a pure comparison of two BPMN documents.

Analysts read it before deploying or migrating, and migration decides with it whether a
running case can move. Elements are matched by BPMN id (what Camunda Modeler keeps stable
when a diagram is edited). For each element the comparison looks at what changes how a
case runs or what a clerk is asked: type, name, lane (the department), conditions, scripts,
timers, called process, multi-instance settings, extension properties and the form fields
(label, type, required, constraints, options, properties). Connections are elements of
their own (sequence flows: source, target, condition), so a rewired flow is reported once,
on the flow, not again on the nodes at both ends.
Layout (BPMN DI) and documentation are not behaviour and are ignored.

`describe()` puts a change into Chinese words, naming the element, for the CLI and for
migration refusals; the web page renders the same structure with translated labels.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from lxml import etree

from engine.definitions.xmlsafe import parse_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"

ADDED, REMOVED, CHANGED = "added", "removed", "changed"

# BPMN element types a case can stand at or pass through, with their Chinese names.
NODE_TYPES: dict[str, str] = {
    "startEvent": "开始事件", "endEvent": "结束事件", "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件", "boundaryEvent": "边界事件",
    "userTask": "人工任务", "scriptTask": "脚本任务", "serviceTask": "服务任务",
    "manualTask": "手工任务", "task": "任务", "sendTask": "发送任务", "receiveTask": "接收任务",
    "businessRuleTask": "业务规则任务", "callActivity": "调用活动", "subProcess": "子流程",
    "exclusiveGateway": "排他网关", "parallelGateway": "并行网关", "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关", "complexGateway": "复杂网关",
}
FLOW_TYPE = "sequenceFlow"
TYPE_NAMES = {**NODE_TYPES, FLOW_TYPE: "连线"}

# Element aspects in the order they are reported, with their Chinese names.
ASPECTS: dict[str, str] = {
    "type": "类型", "name": "名称", "lane": "泳道（办理部门）", "condition": "条件",
    "default": "默认连线", "script": "脚本", "timer": "定时", "event": "事件定义",
    "called": "调用的流程", "loop": "多实例设置", "attached": "依附的任务", "parent": "所在子流程",
    "properties": "扩展属性", "form_key": "表单标识", "source": "起点", "target": "终点",
    "incoming": "流入连线", "outgoing": "流出连线",
}
# What a form field may change in, with Chinese names.
FIELD_ASPECTS: dict[str, str] = {
    "label": "标签", "type": "类型", "required": "必填", "default": "默认值",
    "constraints": "校验约束", "options": "选项", "properties": "属性",
}


@dataclass(frozen=True)
class FormField:
    """One camunda:formField as the diagram says it."""

    id: str
    label: str
    type: str
    required: bool
    default: str | None
    constraints: tuple[tuple[str, str], ...]   # other than required, e.g. ("maxlength", "500")
    options: tuple[tuple[str, str], ...]       # enum (id, name)
    properties: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Element:
    """One flow node or sequence flow, reduced to what matters for running it."""

    id: str
    type: str
    attrs: tuple[tuple[str, object], ...]   # aspect → comparable value
    fields: tuple[FormField, ...] = ()

    def get(self, aspect: str):
        return dict(self.attrs).get(aspect)

    @property
    def name(self) -> str:
        return self.get("name") or ""

    @property
    def label(self) -> str:
        """How the element is named to people: 「name」 (id), or the id alone."""
        return f"「{self.name}」({self.id})" if self.name else f"「{self.id}」"

    @property
    def is_flow(self) -> bool:
        return self.type == FLOW_TYPE


@dataclass(frozen=True)
class Change:
    aspect: str
    old: object
    new: object


@dataclass(frozen=True)
class FieldChange:
    """A form field added, removed, or changed in some aspects."""

    id: str
    status: str
    old: FormField | None
    new: FormField | None
    changes: tuple[Change, ...] = ()

    @property
    def label(self) -> str:
        f = self.new or self.old
        return f"「{f.label}」({f.id})" if f and f.label else f"「{self.id}」"


@dataclass(frozen=True)
class ElementDiff:
    """One element that was added, removed or changed."""

    id: str
    status: str
    old: Element | None
    new: Element | None
    changes: tuple[Change, ...] = ()
    fields: tuple[FieldChange, ...] = ()

    @property
    def element(self) -> Element:
        return self.new or self.old

    @property
    def aspects(self) -> set[str]:
        out = {c.aspect for c in self.changes}
        if self.fields:
            out.add("form")
        return out

    def describe(self) -> str:
        """The change in Chinese words, naming the element."""
        element = self.element
        kind = TYPE_NAMES.get(element.type, element.type)
        if self.status == ADDED:
            lane = element.get("lane")
            return f"新增{kind}{element.label}" + (f"，泳道「{lane}」" if lane else "")
        if self.status == REMOVED:
            return f"删除{kind}{element.label}"
        parts = [_describe_change(c) for c in self.changes]
        parts += [f.describe() for f in self.fields_described()]
        return f"修改{kind}{element.label}：" + "；".join(parts)

    def fields_described(self) -> list["_FieldWords"]:
        return [_FieldWords(f) for f in self.fields]


@dataclass
class VersionDiff:
    """Every element and form-field difference between an old and a new version."""

    old_key: str
    new_key: str
    elements: list[ElementDiff] = field(default_factory=list)

    @property
    def added(self) -> list[ElementDiff]:
        return [e for e in self.elements if e.status == ADDED]

    @property
    def removed(self) -> list[ElementDiff]:
        return [e for e in self.elements if e.status == REMOVED]

    @property
    def changed(self) -> list[ElementDiff]:
        return [e for e in self.elements if e.status == CHANGED]

    @property
    def nodes(self) -> list[ElementDiff]:
        """Differences of flow nodes (not sequence flows)."""
        return [e for e in self.elements if not e.element.is_flow]

    def get(self, element_id: str) -> ElementDiff | None:
        return next((e for e in self.elements if e.id == element_id), None)

    @property
    def empty(self) -> bool:
        return not self.elements

    def describe(self) -> list[str]:
        """One Chinese line per difference: nodes first, then connections."""
        ordered = sorted(self.elements, key=lambda e: (e.element.is_flow,
                                                       (ADDED, CHANGED, REMOVED).index(e.status)))
        return [e.describe() for e in ordered]

    def markers(self) -> dict[str, str]:
        """Element id → added/removed/changed, for highlighting on the diagram."""
        return {e.id: e.status for e in self.elements}


# -- reading a document ------------------------------------------------------------------

def process_elements(document: bytes | etree._Element, key: str | None = None
                     ) -> dict[str, Element]:
    """Every flow node and sequence flow of the executable process (or process `key`)."""
    root = parse_xml(document) if isinstance(document, (bytes, str)) else document
    process = _find_process(root, key)
    if process is None:
        return {}
    lanes = _lanes(process)
    flows = list(process.iter(f"{{{BPMN}}}{FLOW_TYPE}"))
    elements: dict[str, Element] = {}
    for node in process.iter():
        local = _local(node)
        if local in NODE_TYPES and node.get("id"):
            elements[node.get("id")] = _node(node, local, lanes)
    for flow in flows:
        elements[flow.get("id")] = Element(flow.get("id"), FLOW_TYPE, (
            ("name", flow.get("name") or ""), ("source", flow.get("sourceRef")),
            ("target", flow.get("targetRef")), ("condition", _text(flow, "conditionExpression"))))
    return elements


def _find_process(root, key):
    for process in root.iter(f"{{{BPMN}}}process"):
        if key is None and process.get("isExecutable", "true") != "false":
            return process
        if key is not None and process.get("id") == key:
            return process
    return None


def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _text(element, child: str) -> str:
    found = element.find(f"{{{BPMN}}}{child}")
    return (found.text or "").strip() if found is not None else ""


def _lanes(process) -> dict[str, str]:
    """Node id → name of the innermost lane holding it."""
    out: dict[str, str] = {}
    for lane in process.iter(f"{{{BPMN}}}lane"):  # document order: child lanes come later
        for ref in lane.findall(f"{{{BPMN}}}flowNodeRef"):
            if ref.text:
                out[ref.text.strip()] = lane.get("name") or lane.get("id") or ""
    return out


def _node(node, local, lanes) -> Element:
    attrs: list[tuple[str, object]] = [
        ("type", local), ("name", node.get("name") or ""), ("lane", lanes.get(node.get("id"), "")),
        ("parent", _parent_subprocess(node)),
        ("default", node.get("default") or ""),
        ("script", _text(node, "script") if local == "scriptTask" else ""),
        ("called", node.get("calledElement") or ""),
        ("attached", node.get("attachedToRef") or ""),
        ("form_key", node.get(f"{{{CAMUNDA}}}formKey") or ""),
        ("timer", _timer(node)), ("event", _events(node)), ("loop", _loop(node)),
        ("properties", _properties(node)),
    ]
    fields = tuple(_form_fields(node)) if local in ("userTask", "startEvent") else ()
    return Element(node.get("id"), local, tuple(attrs), fields)


def _parent_subprocess(node) -> str:
    parent = node.getparent()
    return parent.get("id") or "" if parent is not None and _local(parent) == "subProcess" else ""


def _timer(node) -> str:
    timer = node.find(f"{{{BPMN}}}timerEventDefinition")
    if timer is None:
        return ""
    return "；".join(f"{_local(c)}={(c.text or '').strip()}" for c in timer if _local(c))


def _events(node) -> tuple[str, ...]:
    out = []
    for child in node:
        local = _local(child)
        if local.endswith("EventDefinition") and local != "timerEventDefinition":
            ref = next((v for k, v in child.attrib.items() if k.endswith("Ref")), "")
            out.append(f"{local}:{ref}" if ref else local)
    if node.get("cancelActivity") == "false":
        out.append("non-interrupting")
    return tuple(out)


def _loop(node) -> str:
    loop = node.find(f"{{{BPMN}}}multiInstanceLoopCharacteristics")
    if loop is None:
        return "standardLoop" if node.find(f"{{{BPMN}}}standardLoopCharacteristics") is not None \
            else ""
    parts = [f"sequential={loop.get('isSequential', 'false')}"]
    parts += [f"{k.split('}')[-1]}={v}" for k, v in sorted(loop.attrib.items())
              if k != "isSequential"]
    parts += [f"{_local(c)}={(c.text or '').strip()}" for c in loop if _local(c)]
    return "；".join(parts)


def _properties(node) -> tuple[tuple[str, str], ...]:
    """camunda:properties of the element itself (not of its form fields)."""
    ext = node.find(f"{{{BPMN}}}extensionElements")
    if ext is None:
        return ()
    out = []
    for props in ext.findall(f"{{{CAMUNDA}}}properties"):
        for prop in props.findall(f"{{{CAMUNDA}}}property"):
            out.append((prop.get("name") or prop.get("id") or "", prop.get("value") or ""))
    return tuple(sorted(out))


def _form_fields(node) -> Iterable[FormField]:
    path = f"{{{BPMN}}}extensionElements/{{{CAMUNDA}}}formData/{{{CAMUNDA}}}formField"
    for xml in node.iterfind(path):
        constraints = [(c.get("name") or "", c.get("config") or "")
                       for c in xml.iterfind(f"{{{CAMUNDA}}}validation/{{{CAMUNDA}}}constraint")]
        required = any(name == "required" for name, _ in constraints)
        properties = [(p.get("id") or p.get("name") or "", p.get("value") or "")
                      for p in xml.iterfind(f"{{{CAMUNDA}}}properties/{{{CAMUNDA}}}property")]
        options = [(v.get("id") or "", v.get("name") or "")
                   for v in xml.iterfind(f"{{{CAMUNDA}}}value")]
        yield FormField(xml.get("id") or "", xml.get("label") or "", xml.get("type") or "",
                        required, xml.get("defaultValue"),
                        tuple(sorted(c for c in constraints if c[0] != "required")),
                        tuple(options), tuple(sorted(properties)))


# -- comparing ------------------------------------------------------------------------

def diff_elements(old: dict[str, Element], new: dict[str, Element],
                  old_key: str = "", new_key: str = "") -> VersionDiff:
    """Compare two element maps (see `process_elements`)."""
    result = VersionDiff(old_key, new_key)
    for element_id, element in new.items():
        if element_id not in old:
            result.elements.append(ElementDiff(element_id, ADDED, None, element))
    for element_id, before in old.items():
        after = new.get(element_id)
        if after is None:
            result.elements.append(ElementDiff(element_id, REMOVED, before, None))
            continue
        changes = tuple(Change(aspect, value, after.get(aspect))
                        for aspect, value in before.attrs if after.get(aspect) != value)
        fields = tuple(diff_fields(before.fields, after.fields))
        if changes or fields:
            result.elements.append(ElementDiff(element_id, CHANGED, before, after, changes, fields))
    return result


def diff_documents(old: bytes | etree._Element, new: bytes | etree._Element,
                   key: str | None = None) -> VersionDiff:
    """What changed in the executable process (or process `key`) from `old` to `new`."""
    old_root = parse_xml(old) if isinstance(old, (bytes, str)) else old
    new_root = parse_xml(new) if isinstance(new, (bytes, str)) else new
    old_process, new_process = _find_process(old_root, key), _find_process(new_root, key)
    return diff_elements(process_elements(old_root, key), process_elements(new_root, key),
                         old_process.get("id") if old_process is not None else "",
                         new_process.get("id") if new_process is not None else "")


def diff_fields(old: Iterable[FormField], new: Iterable[FormField]) -> list[FieldChange]:
    before, after = {f.id: f for f in old}, {f.id: f for f in new}
    out = [FieldChange(i, ADDED, None, f) for i, f in after.items() if i not in before]
    for field_id, was in before.items():
        now = after.get(field_id)
        if now is None:
            out.append(FieldChange(field_id, REMOVED, was, None))
            continue
        changes = tuple(Change(aspect, getattr(was, aspect), getattr(now, aspect))
                        for aspect in FIELD_ASPECTS if getattr(was, aspect) != getattr(now, aspect))
        if changes:
            out.append(FieldChange(field_id, CHANGED, was, now, changes))
    return out


# -- words --------------------------------------------------------------------------

def show(value: object) -> str:
    """A value as an analyst reads it."""
    if value in (None, "", ()):
        return "（无）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, tuple):
        return "、".join("=".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in value)
    return str(value)


def _describe_change(change: Change) -> str:
    aspect = ASPECTS.get(change.aspect, change.aspect)
    if change.aspect == "type":
        old, new = TYPE_NAMES.get(change.old, change.old), TYPE_NAMES.get(change.new, change.new)
        return f"类型由{old}改为{new}"
    return f"{aspect}由「{show(change.old)}」改为「{show(change.new)}」"


@dataclass(frozen=True)
class _FieldWords:
    change: FieldChange

    def describe(self) -> str:
        c = self.change
        if c.status == ADDED:
            f = c.new
            return f"表单新增字段{c.label}（{f.type or 'string'}{'，必填' if f.required else ''}）"
        if c.status == REMOVED:
            return f"表单删除字段{c.label}"
        parts = [f"{FIELD_ASPECTS[x.aspect]}由「{show(x.old)}」改为「{show(x.new)}」"
                 for x in c.changes]
        return f"表单字段{c.label}的" + "，".join(parts)
