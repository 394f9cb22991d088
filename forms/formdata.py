"""Reading `camunda:formData` from a parsed BPMN document into the form model.

Forms are read from `bpmn:userTask` and `bpmn:startEvent` elements whether or not the element
has a `camunda:formKey` (Camunda Modeler sometimes leaves it out). Everything a diagram says
about a field is checked here, at deploy time, so a case never meets a form it cannot
validate: an unknown type or constraint, a non-numeric bound, an enum without options, a
duplicate field id, an unknown dictionary key or a type contradicting it, an invalid pattern
or a default value the field itself would refuse all raise `FormDefinitionError` naming the
BPMN element (and field), with a Chinese message the deploy step shows to the analyst.

The caller parses the XML (entity resolution and network off); this module only walks it.
"""
from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from forms.dictionary import DICTIONARY
from forms.messages import InvalidValue
from forms.model import (
    FIELD_TYPES,
    MATERIAL_SOURCES,
    NECESSITIES,
    ORDERED_TYPES,
    TEXT_TYPES,
    Field,
    Form,
    Option,
)
from forms.validate import clean_field

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
FORM_ELEMENTS = ("userTask", "startEvent")
CONSTRAINTS = ("required", "readonly", "minlength", "maxlength", "min", "max", "pattern")
MAX_PATTERN_LENGTH = 1000

_FIELD_PATH = f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}formData/{{{CAMUNDA_NS}}}formField"
_FORM_DATA_PATH = f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}formData"
_NECESSITY_CODES = {"1": "必要", "2": "非必要", "3": "容缺后补"}
_SOURCE_CODES = {"10": "申请人自备", "20": "部门核发", "99": "其他", "政府部门核发": "部门核发"}
_MATERIAL_PROPERTIES = ("necessity", "source", "material_code")


class FormDefinitionError(Exception):
    """A diagram's form cannot be used. `element_id` names the BPMN element, `field_id` the
    field when there is one, `message` says why in Chinese."""

    def __init__(self, element_id: str | None, message: str, *, field_id: str | None = None):
        self.element_id = element_id
        self.field_id = field_id
        self.message = message
        super().__init__(f"{element_id or '-'}: {message}")


def read_form(element: Any) -> Form:
    """The form of one userTask or startEvent element (empty if it has no formData)."""
    element_id = element.get("id")
    fields: list[Field] = []
    seen: set[str] = set()
    for xml_field in element.iterfind(_FIELD_PATH):
        field = _FieldReader(element_id, xml_field).read()
        if field.id in seen:
            raise FormDefinitionError(element_id, f"字段标识「{field.id}」重复", field_id=field.id)
        seen.add(field.id)
        fields.append(field)
    return Form(tuple(fields))


def read_forms(root: Any) -> dict[str, Form]:
    """Element id → Form for every userTask and startEvent of the document that has formData.

    `root` is a parsed document (ElementTree) or its root element.
    """
    if hasattr(root, "getroot"):
        root = root.getroot()
    forms: dict[str, Form] = {}
    for element in root.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in FORM_ELEMENTS)):
        if element.find(_FORM_DATA_PATH) is None:
            continue
        element_id = element.get("id")
        if not element_id:
            raise FormDefinitionError(None, "带表单的元素缺少 id")
        forms[element_id] = read_form(element)
    return forms


class _FieldReader:
    """Reads and checks one camunda:formField; `fail` raises with the element and field named."""

    def __init__(self, element_id: str | None, xml: Any):
        self.element_id = element_id
        self.xml = xml
        self.field_id = (xml.get("id") or "").strip()

    def fail(self, text: str) -> NoReturn:
        raise FormDefinitionError(
            self.element_id, f"字段「{self.field_id}」：{text}" if self.field_id else text,
            field_id=self.field_id or None)

    def read(self) -> Field:
        if not self.field_id:
            self.fail("表单字段缺少标识 (id)")
        if not self.field_id.isidentifier() or self.field_id.startswith("__"):
            self.fail("字段标识须由字母、数字、下划线组成，且不能以数字或双下划线开头")
        props = self._properties()
        type_, label, dict_key, dict_maxlength = self._type_and_label(props)
        constraints = self._constraints()
        attrs: dict[str, Any] = {
            "id": self.field_id, "label": label, "type": type_, "dict": dict_key,
            "required": self._flag(constraints, "required"),
            "readonly": self._flag(constraints, "readonly"),
        }
        attrs.update(self._lengths(type_, constraints, dict_maxlength))
        attrs.update(self._bounds(type_, constraints))
        attrs.update(self._pattern(type_, constraints, props))
        attrs.update(self._material(type_, props))
        attrs["options"] = self._options(type_)
        for name in ("placeholder", "help", "section"):
            attrs[name] = props.pop(name, None)
        attrs["extras"] = props
        field = Field(**attrs)
        return self._with_default(field)

    # --- pieces --------------------------------------------------------------------------
    def _properties(self) -> dict[str, str]:
        props: dict[str, str] = {}
        for prop in self.xml.iterfind(f"{{{CAMUNDA_NS}}}properties/{{{CAMUNDA_NS}}}property"):
            name = (prop.get("id") or prop.get("name") or "").strip()
            if not name:
                self.fail("属性 (camunda:property) 缺少 id")
            if name in props:
                self.fail(f"属性「{name}」重复")
            value = (prop.get("value") or "").strip()
            if value:
                props[name] = value
        return props

    def _type_and_label(self, props: dict[str, str]) -> tuple[str, str, str | None, int | None]:
        type_ = (self.xml.get("type") or "").strip() or None
        label = (self.xml.get("label") or "").strip() or None
        dict_key = props.pop("dict", None)
        dict_maxlength = None
        if dict_key is not None:
            entry = DICTIONARY.get(dict_key)
            if entry is None:
                self.fail(f"共享字段字典中没有「{dict_key}」，可用：{'、'.join(DICTIONARY)}")
            if type_ is not None and type_ != entry.type:
                self.fail(f"类型 {type_} 与共享字段字典「{dict_key}」({entry.label}) 的类型 "
                          f"{entry.type} 冲突")
            type_, label, dict_maxlength = entry.type, label or entry.label, entry.maxlength
        if type_ is None:
            self.fail("缺少字段类型 (type)")
        if type_ not in FIELD_TYPES:
            self.fail(f"不支持的字段类型「{type_}」，可用类型：{'、'.join(FIELD_TYPES)}")
        return type_, label or self.field_id, dict_key, dict_maxlength

    def _constraints(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for xml in self.xml.iterfind(f"{{{CAMUNDA_NS}}}validation/{{{CAMUNDA_NS}}}constraint"):
            name = (xml.get("name") or "").strip()
            if name not in CONSTRAINTS:
                self.fail(f"不支持的校验约束「{name}」，可用：{'、'.join(CONSTRAINTS)}")
            if name in found:
                self.fail(f"校验约束「{name}」重复")
            config = xml.get("config")
            found[name] = config.strip() if config is not None else None
        return found

    def _flag(self, constraints: dict[str, str | None], name: str) -> bool:
        if name not in constraints:
            return False
        config = (constraints[name] or "true").lower()
        if config not in ("true", "false"):
            self.fail(f"约束 {name} 的取值应为 true 或 false")
        return config == "true"

    def _lengths(self, type_: str, constraints: dict, dict_maxlength: int | None) -> dict:
        lengths: dict[str, int | None] = {"minlength": None, "maxlength": None}
        for name in lengths:
            if name not in constraints:
                continue
            if type_ not in TEXT_TYPES:
                self.fail(f"{type_} 类型的字段不能设置 {name}")
            config = constraints[name] or ""
            if not re.fullmatch(r"[0-9]{1,9}", config):
                self.fail(f"约束 {name} 应为非负整数，实为「{config}」")
            lengths[name] = int(config)
        if dict_maxlength is not None:
            given = lengths["maxlength"]
            lengths["maxlength"] = dict_maxlength if given is None else min(given, dict_maxlength)
        low, high = lengths["minlength"], lengths["maxlength"]
        if low is not None and high is not None and low > high:
            self.fail(f"minlength ({low}) 大于 maxlength ({high})")
        return lengths

    def _bounds(self, type_: str, constraints: dict) -> dict:
        bounds: dict[str, Any] = {"min": None, "max": None}
        for name in bounds:
            if name not in constraints:
                continue
            if type_ not in ORDERED_TYPES:
                self.fail(f"{type_} 类型的字段不能设置 {name}")
            bounds[name] = self._bound(type_, name, constraints[name] or "")
        if bounds["min"] is not None and bounds["max"] is not None and bounds["min"] > bounds["max"]:
            self.fail(f"min ({bounds['min']}) 大于 max ({bounds['max']})")
        return bounds

    def _bound(self, type_: str, name: str, config: str) -> Any:
        if type_ == "date":
            probe = Field(id=self.field_id, label="", type="date")
            try:
                value = clean_field(probe, config)
            except InvalidValue:
                value = None
            if value is None:
                self.fail(f"约束 {name} 应为日期 YYYY-MM-DD，实为「{config}」")
            return value
        if type_ == "long":
            if not re.fullmatch(r"[+-]?[0-9]{1,18}", config):
                self.fail(f"约束 {name} 应为整数，实为「{config}」")
            return int(config)
        try:
            value = Decimal(config)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or len(config) > 40:
            self.fail(f"约束 {name} 应为数字，实为「{config}」")
        return value

    def _pattern(self, type_: str, constraints: dict, props: dict[str, str]) -> dict:
        from_constraint = constraints.get("pattern")
        from_property = props.pop("pattern", None)
        if "pattern" in constraints and not from_constraint:
            self.fail("约束 pattern 缺少正则表达式 (config)")
        if from_constraint and from_property and from_constraint != from_property:
            self.fail("约束 pattern 与属性 pattern 不一致")
        pattern = from_constraint or from_property
        pattern_message = props.pop("pattern_message", None)
        if pattern is not None:
            if type_ not in TEXT_TYPES:
                self.fail(f"{type_} 类型的字段不能设置 pattern")
            if len(pattern) > MAX_PATTERN_LENGTH:
                self.fail(f"正则表达式过长（不超过 {MAX_PATTERN_LENGTH} 个字符）")
            try:
                re.compile(pattern)
            except (re.error, RecursionError, OverflowError, ValueError) as exc:
                self.fail(f"正则表达式无效：{exc}")
        return {"pattern": pattern, "pattern_message": pattern_message}

    def _material(self, type_: str, props: dict[str, str]) -> dict:
        material = {name: props.pop(name, None) for name in _MATERIAL_PROPERTIES}
        if type_ != "file":
            given = [name for name, value in material.items() if value is not None]
            if given:
                self.fail(f"属性 {'、'.join(given)} 只适用于材料 (file) 字段")
            return material
        necessity = material["necessity"]
        if necessity is not None:
            necessity = _NECESSITY_CODES.get(necessity, necessity)
            if necessity not in NECESSITIES:
                self.fail(f"材料必要性应为 {'、'.join(NECESSITIES)} 之一，实为「{necessity}」")
        source = material["source"]
        if source is not None:
            source = _SOURCE_CODES.get(source, source)
            if source not in MATERIAL_SOURCES:
                self.fail(f"材料来源应为 {'、'.join(MATERIAL_SOURCES)} 之一，实为「{source}」")
        return {**material, "necessity": necessity, "source": source}

    def _options(self, type_: str) -> tuple[Option, ...]:
        options: list[Option] = []
        for xml in self.xml.iterfind(f"{{{CAMUNDA_NS}}}value"):
            option_id = (xml.get("id") or "").strip()
            if not option_id:
                self.fail("选项 (camunda:value) 缺少 id")
            if any(option.id == option_id for option in options):
                self.fail(f"选项「{option_id}」重复")
            options.append(Option(option_id, (xml.get("name") or "").strip() or option_id))
        if type_ == "enum" and not options:
            self.fail("enum 字段至少需要一个选项 (camunda:value)")
        if type_ != "enum" and options:
            self.fail(f"{type_} 类型的字段不能列出选项 (camunda:value)")
        return tuple(options)

    def _with_default(self, field: Field) -> Field:
        raw = self.xml.get("defaultValue")
        if raw is None or not raw.strip():
            return field
        if field.type == "file":
            self.fail("材料 (file) 字段不能设置默认值")
        try:
            default = clean_field(field, raw)
        except InvalidValue as exc:
            self.fail(f"默认值「{raw[:100]}」无效：{exc.message}")
        return replace(field, default=default)
