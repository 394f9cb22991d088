"""事项目录: the catalogue of items and one-things the hall accepts, kept as data.

`processes/catalogue/items.json` says, for every deployed process key, what the diagram
does not: the national-style catalogue code, the implementing department, the statutory
and promised time limits, the case type, the materials (with the diagram's file field
and `material_code`, and for department-issued materials whose identifier the data-sharing
connector is asked with), the result (the licence issued and how long it is valid: renewal
reminders need it) and the supervising department the result is pushed to (审管联动).
The file is checked as a whole when loaded; every problem is reported in Chinese with the
entry it belongs to, so an operator can fix the file.

Code layout (consistent across the file): `<implementing department's 统一社会信用代码>-
<type letters>-<5-digit basic code>`, e.g. `11371500004367120C-XK-00101`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from engine.errors import OneThingError

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "processes" / "catalogue" / "items.json"

# Time-limit units as item tables name them, and roughly how long each is (to compare a
# promised limit with a statutory one given in another unit).
UNIT_HOURS: Mapping[str, int] = {"工作日": 24, "自然日": 24, "小时": 1}
CASE_TYPES = ("即办件", "承诺件")
# 事项类型 → the letters in the catalogue code.
TYPE_CODES: Mapping[str, str] = {"行政许可": "XK", "其他行政权力": "QT", "公共服务": "GG",
                                 "一件事": "YJS"}
# Material rules (national item tables: IS_NEED, SOURCE_TYPE 10/20/99); the same words the
# diagrams use (forms.model.NECESSITIES / MATERIAL_SOURCES).
NECESSITIES = ("必要", "非必要", "容缺后补")
SOURCES = ("申请人自备", "部门核发", "其他")
SHARED_SOURCE = "部门核发"  # pulled by data sharing, never asked from the applicant (零材料)
VALIDITY_UNITS = ("年", "月")  # a result's validity; none given means 长期 (no expiry)
_CODE_RE = re.compile(r"([0-9A-Z]{18})-([A-Z]{2,3})-([0-9]{5})")


class CatalogueError(OneThingError):
    """The catalogue file is missing, unreadable or inconsistent; `problems` lists each."""

    code = "invalid_catalogue"

    def __init__(self, where: str, problems: list[str]):
        super().__init__(f"事项目录 {where} 有 {len(problems)} 处错误：" + "；".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class TimeLimit:
    amount: int
    unit: str

    @property
    def hours(self) -> int:
        return self.amount * UNIT_HOURS[self.unit]

    def __str__(self) -> str:
        return f"{self.amount} 个{self.unit}" if self.unit != "小时" else f"{self.amount} 小时"


@dataclass(frozen=True)
class Result:
    """What an item issues (证照/批文) and how long it is valid; `validity` None is 长期."""

    name: str
    validity: tuple[int, str] | None = None

    def __str__(self) -> str:
        return f"{self.name}（{self.validity_text}）"

    @property
    def validity_text(self) -> str:
        return f"有效期 {self.validity[0]} {'年' if self.validity[1] == '年' else '个月'}" \
            if self.validity else "长期有效"


@dataclass(frozen=True)
class Material:
    name: str
    field: str              # the diagram's file field id
    material_code: str      # the diagram's material_code (<item_key>-NN)
    necessity: str
    source: str
    issuer: str | None = None         # who issues a 部门核发 material
    subject_field: str | None = None  # the form field identifying whose document it is
    not_needed_when: str | None = None  # "<field>=<option>": not needed for that answer

    def needed(self, values: Mapping[str, Any]) -> bool:
        """Whether the application as filled in needs this material at all."""
        if not self.not_needed_when:
            return True
        field, _, option = self.not_needed_when.partition("=")
        return str(values.get(field.strip()) or "") != option.strip()

    @property
    def shared(self) -> bool:
        """Pulled from the issuing department by data sharing (零材料)."""
        return self.source == SHARED_SOURCE


@dataclass(frozen=True)
class Entry:
    process: str
    code: str
    name: str
    department: str
    type: str
    statutory_limit: TimeLimit
    promised_limit: TimeLimit
    case_type: str
    materials: tuple[Material, ...] = ()
    items: tuple[str, ...] = ()  # for a one-thing: the item process keys it bundles
    note: str | None = None
    result: Result | None = None
    supervisor: str | None = None  # the department the result is pushed to (审管联动)

    @property
    def is_onething(self) -> bool:
        return bool(self.items)

    def material(self, field_id: str) -> Material | None:
        return next((m for m in self.materials if m.field == field_id), None)

    @property
    def result_name(self) -> str | None:
        """The licence or decision the item issues (e.g. 食品经营许可证)."""
        return self.result.name if self.result else None

    @property
    def validity(self) -> tuple[int, str] | None:
        """(amount, 年|月) the result is valid for; None when it never expires (长期)."""
        return self.result.validity if self.result else None


@dataclass(frozen=True)
class Catalogue:
    version: str
    region: Mapping[str, str]
    departments: Mapping[str, Mapping[str, str]]
    entries: Mapping[str, Entry]

    def get(self, process_key: str) -> Entry | None:
        return self.entries.get(process_key)

    def __getitem__(self, process_key: str) -> Entry:
        return self.entries[process_key]

    def __contains__(self, process_key: object) -> bool:
        return process_key in self.entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def items_of(self, process_key: str) -> list[Entry]:
        """The items a one-thing bundles (itself for an item), as catalogued."""
        entry = self.entries[process_key]
        return [self.entries[k] for k in entry.items] if entry.items else [entry]

    def materials_of(self, process_key: str) -> list[Material]:
        """Every material a case of `process_key` involves: its own and its items'."""
        entry = self.entries[process_key]
        return list(entry.materials) + [m for key in entry.items
                                        for m in self.entries[key].materials]

    def material(self, process_key: str, field_id: str) -> Material | None:
        return next((m for m in self.materials_of(process_key) if m.field == field_id), None)


def load(path: str | Path | None = None) -> Catalogue:
    """Read and check the catalogue file (default: processes/catalogue/items.json)."""
    path = Path(path or DEFAULT_PATH)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(str(path), ["文件不存在"]) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogueError(str(path), [f"无法读取（{exc}）"]) from None
    return parse(data, where=path.name)


def parse(data: Any, *, where: str = "items.json") -> Catalogue:
    """Build a catalogue from decoded JSON, or raise CatalogueError listing every problem."""
    problems: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise CatalogueError(where, ["顶层应为对象，并含 entries 列表"])
    departments = data.get("departments") or {}
    if not isinstance(departments, dict):
        problems.append("departments 应为“部门名称 → {credit_code, full_name}”对象")
        departments = {}
    entries: dict[str, Entry] = {}
    codes: dict[str, str] = {}
    for index, raw in enumerate(data["entries"], start=1):
        label = f"第 {index} 项" + (f"（{raw.get('process')}）" if isinstance(raw, dict) else "")
        entry = _entry(raw, departments, lambda text: problems.append(f"{label}：{text}"))
        if entry is None:
            continue
        if entry.process in entries:
            problems.append(f"{label}：流程标识重复")
        if entry.code in codes:
            problems.append(f"{label}：事项编码与 {codes[entry.code]} 重复")
        entries[entry.process] = entry
        codes[entry.code] = entry.process
    for entry in entries.values():
        for key in entry.items:
            if key not in entries:
                problems.append(f"{entry.process}：所含事项 {key} 不在目录中")
            elif entries[key].items:
                problems.append(f"{entry.process}：所含事项 {key} 本身是一件事")
            elif entries[key].promised_limit.hours > entry.promised_limit.hours:
                problems.append(f"{entry.process}：承诺时限（{entry.promised_limit}）短于所含事项 {key}"
                                f" 的承诺时限（{entries[key].promised_limit}），并联办理做不到")
    if problems:
        raise CatalogueError(where, problems)
    region = data.get("region") if isinstance(data.get("region"), dict) else {}
    return Catalogue(str(data.get("version") or ""), dict(region), dict(departments), entries)


def _entry(raw: Any, departments: Mapping[str, Any], problem) -> Entry | None:
    if not isinstance(raw, dict):
        problem("应为对象")
        return None
    text = {}
    for key, label in (("process", "流程标识"), ("code", "事项编码"), ("name", "事项名称"),
                       ("department", "实施部门"), ("type", "事项类型"), ("case_type", "办件类型")):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            problem(f"缺少「{label}」({key})")
        text[key] = value.strip() if isinstance(value, str) else ""
    statutory = _limit(raw.get("statutory_limit"), "法定时限", problem)
    promised = _limit(raw.get("promised_limit"), "承诺时限", problem)
    if text["case_type"] and text["case_type"] not in CASE_TYPES:
        problem(f"办件类型「{text['case_type']}」无效，应为 {'、'.join(CASE_TYPES)}")
    if text["type"] and text["type"] not in TYPE_CODES:
        problem(f"事项类型「{text['type']}」无效，应为 {'、'.join(TYPE_CODES)}")
    if text["department"] and departments and text["department"] not in departments:
        problem(f"实施部门「{text['department']}」不在 departments 中")
    _check_code(text, departments, problem)
    if statutory and promised:
        if promised.hours > statutory.hours:
            problem(f"承诺时限（{promised}）不能长于法定时限（{statutory}）")
        if text["case_type"] == "即办件" and promised.hours > UNIT_HOURS["工作日"]:
            problem(f"即办件的承诺时限（{promised}）不应超过 1 个工作日")
    items = raw.get("items") or []
    if not isinstance(items, list) or not all(isinstance(k, str) for k in items):
        problem("items 应为流程标识列表")
        items = []
    materials = _materials(raw.get("materials"), problem)
    result = _result(raw.get("result"), problem, required=not items)
    supervisor = _supervisor(raw.get("supervisor"), departments, problem, required=not items)
    if not all(text.values()) or statutory is None or promised is None or materials is None \
            or result is False or supervisor is False:
        return None
    return Entry(text["process"], text["code"], text["name"], text["department"], text["type"],
                 statutory, promised, text["case_type"], materials, tuple(items),
                 raw.get("note") if isinstance(raw.get("note"), str) else None,
                 result, supervisor)


def _result(raw: Any, problem, *, required: bool) -> Result | None | bool:
    """The entry's result, None when absent (allowed for a one-thing), False when invalid."""
    if raw is None:
        if required:
            problem("缺少「办理结果」(result)：应写明证照名称和有效期（长期有效的 validity 为 null）")
            return False
        return None
    if not isinstance(raw, dict):
        problem("办理结果 (result) 应为对象：{name, validity}")
        return False
    name = raw.get("name")
    ok = True
    if not isinstance(name, str) or not name.strip():
        problem("办理结果缺少「证照名称」(result.name)")
        ok = False
    validity = raw.get("validity")
    period = None
    if validity is not None:
        amount = validity.get("amount") if isinstance(validity, dict) else None
        unit = validity.get("unit") if isinstance(validity, dict) else None
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            problem("办理结果的有效期数值应为正整数（长期有效的 validity 写 null）")
            ok = False
        if unit not in VALIDITY_UNITS:
            problem(f"办理结果的有效期单位「{unit}」无效，应为 {'、'.join(VALIDITY_UNITS)}")
            ok = False
        period = (amount, unit)
    return Result(name.strip(), period) if ok else False


def _supervisor(raw: Any, departments: Mapping[str, Any], problem, *,
                required: bool) -> str | None | bool:
    """The supervising department, None when absent (allowed for a one-thing), False when
    invalid."""
    if raw is None and not required:
        return None
    if not isinstance(raw, str) or not raw.strip():
        problem("缺少「监管部门」(supervisor)：办结结果推送给哪个部门（审管联动）")
        return False
    if departments and raw.strip() not in departments:
        problem(f"监管部门「{raw.strip()}」不在 departments 中")
        return False
    return raw.strip()


def _check_code(text: Mapping[str, str], departments: Mapping[str, Any], problem) -> None:
    if not text["code"]:
        return
    match = _CODE_RE.fullmatch(text["code"])
    if not match:
        problem(f"事项编码「{text['code']}」格式应为 <实施部门统一社会信用代码>-<类型>-<5 位编号>")
        return
    department = departments.get(text["department"]) or {}
    if department.get("credit_code") and match.group(1) != department["credit_code"]:
        problem(f"事项编码前缀 {match.group(1)} 与实施部门「{text['department']}」的统一社会信用代码"
                f" {department['credit_code']} 不一致")
    if text["type"] in TYPE_CODES and match.group(2) != TYPE_CODES[text["type"]]:
        problem(f"事项编码类型 {match.group(2)} 与事项类型「{text['type']}」"
                f"（{TYPE_CODES[text['type']]}）不一致")


def _limit(raw: Any, label: str, problem) -> TimeLimit | None:
    if not isinstance(raw, dict):
        problem(f"缺少「{label}」")
        return None
    amount, unit = raw.get("amount"), raw.get("unit")
    ok = True
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        problem(f"{label}的数值应为非负整数")
        ok = False
    if unit not in UNIT_HOURS:
        problem(f"{label}的单位「{unit}」无效，应为 {'、'.join(UNIT_HOURS)}")
        ok = False
    return TimeLimit(amount, unit) if ok else None


def _materials(raw: Any, problem) -> tuple[Material, ...] | None:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problem("materials 应为列表")
        return None
    out, ok, fields = [], True, set()
    for number, item in enumerate(raw, start=1):
        where = f"材料 {number}"
        if not isinstance(item, dict):
            problem(f"{where} 应为对象")
            ok = False
            continue
        values = {}
        for key, label in (("name", "材料名称"), ("field", "表单字段"),
                           ("material_code", "材料编码"), ("necessity", "必要性"),
                           ("source", "来源渠道")):
            value = item.get(key)
            if not isinstance(value, str) or not value.strip():
                problem(f"{where} 缺少「{label}」({key})")
                ok = False
            values[key] = value.strip() if isinstance(value, str) else ""
        where = f"材料「{values['name'] or number}」"
        if values["necessity"] and values["necessity"] not in NECESSITIES:
            problem(f"{where}的必要性「{values['necessity']}」无效，应为 {'、'.join(NECESSITIES)}")
            ok = False
        if values["source"] and values["source"] not in SOURCES:
            problem(f"{where}的来源渠道「{values['source']}」无效，应为 {'、'.join(SOURCES)}")
            ok = False
        if values["field"] in fields:
            problem(f"{where}的表单字段 {values['field']} 重复")
            ok = False
        fields.add(values["field"])
        issuer, subject = item.get("issuer"), item.get("subject_field")
        if values["source"] == SHARED_SOURCE and not (isinstance(issuer, str) and issuer
                                                      and isinstance(subject, str) and subject):
            problem(f"{where}为部门核发材料，须注明核发部门（issuer）和查询依据字段（subject_field）")
            ok = False
        condition = item.get("not_needed_when")
        if condition is not None and not (isinstance(condition, str)
                                          and re.fullmatch(r"\w+=\w+", condition)):
            problem(f"{where}的 not_needed_when 应写成「字段=选项」")
            ok = False
        if ok:
            out.append(Material(**values, issuer=issuer or None, subject_field=subject or None,
                                not_needed_when=condition or None))
    return tuple(out) if ok else None
