"""The merged one-form (一表申请) of a one-thing: each shared question asked once.

Which fields are the same question (one "concept"):
- fields naming the same dictionary key (`dict`) are one concept, whatever their ids —
  unless some form asks that key more than once (建设单位 and 施工单位 each have a
  统一社会信用代码); then that key's fields are told apart by `section`, and fields with
  the same key and section are one concept;
- fields without a dictionary key are one concept when their ids are equal.

A merged field takes its id, label and hints from its first asker (the one-thing's own
form first, then the items in the order given), the strictest constraints of all askers,
and lists the askers in `sources` ("onething" for the one-thing's own form). Anything that
cannot be asked once — different types, different patterns, enum options with nothing in
common, bounds no value can meet, one id used for two concepts, one form asking a concept
twice — raises `MergeConflict` with a Chinese message naming the items and the field.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from forms.model import NECESSITIES, Field, Form, Option

ONETHING_SOURCE = "onething"
# Stricter necessity wins: 必要 > 容缺后补 > 非必要.
_NECESSITY_RANK = {"非必要": 0, "容缺后补": 1, "必要": 2}
assert set(_NECESSITY_RANK) == set(NECESSITIES)

Concept = tuple[Any, ...]


class MergeConflict(Exception):
    """Fields that must be asked once cannot be. `field_id` and `items` say where."""

    def __init__(self, message: str, *, field_id: str | None = None, items: Iterable[str] = ()):
        self.message = message
        self.field_id = field_id
        self.items = tuple(items)
        super().__init__(message)


def merge_forms(forms_by_item: Mapping[str, Form], *, base: Form | None = None) -> Form:
    """The one-form asking every concept of the items' application forms (and `base`) once."""
    askers = ([(ONETHING_SOURCE, base)] if base is not None else []) + list(forms_by_item.items())
    multi_role = _multi_role_keys(form for _, form in askers)
    clusters: dict[Concept, list[tuple[str, Field]]] = {}
    for source, form in askers:
        seen: dict[Concept, Field] = {}
        for field in form.fields:
            concept = _concept(field, multi_role)
            if concept in seen:
                raise MergeConflict(
                    f"{_who(source)}的字段「{seen[concept].id}」与「{field.id}」是同一项内容"
                    f"（共享字段 {field.dict}），请用分组 (section) 区分", field_id=field.id,
                    items=(source,))
            seen[concept] = field
            clusters.setdefault(concept, []).append((source, field))
    merged = [_merge_cluster(entries) for entries in clusters.values()]
    _refuse_id_collisions(merged, clusters)
    return Form(tuple(merged))


def fan_out(merged: Form, values: Mapping[str, Any],
            forms_by_item: Mapping[str, Form]) -> dict[str, dict[str, Any]]:
    """Item key → the values of exactly the fields that item's own form has, under its own ids.

    `values` are cleaned values of `merged` (see forms.validate). An item field whose concept
    the merged form does not contain (hidden by `visible_fields`) or that has no value gets
    nothing.
    """
    result: dict[str, dict[str, Any]] = {}
    for item, form in forms_by_item.items():
        item_values: dict[str, Any] = {}
        for field in form.fields:
            target = _merged_field_for(merged, field)
            if target is not None and target.id in values:
                item_values[field.id] = values[target.id]
        result[item] = item_values
    return result


def visible_fields(merged: Form, applicable_items: set[str]) -> Form:
    """The merged form without fields that only inapplicable items ask.

    The one-thing's own fields always stay; each kept field's `sources` is cut down to the
    applicable askers. Constraints stay as merged over all items: for constraints of exactly
    the applicable items, merge those items' forms instead.
    """
    keep = set(applicable_items) | {ONETHING_SOURCE}
    fields = []
    for field in merged.fields:
        if not field.sources:
            fields.append(field)
            continue
        sources = tuple(s for s in field.sources if s in keep)
        if sources:
            fields.append(replace(field, sources=sources))
    return Form(tuple(fields))


# --- concepts ---------------------------------------------------------------------------------
def _multi_role_keys(forms: Iterable[Form]) -> frozenset[str]:
    """Dictionary keys some single form asks more than once."""
    keys: set[str] = set()
    for form in forms:
        seen: set[str] = set()
        for field in form.fields:
            if field.dict is not None:
                if field.dict in seen:
                    keys.add(field.dict)
                seen.add(field.dict)
    return frozenset(keys)


def _concept(field: Field, multi_role: frozenset[str]) -> Concept:
    if field.dict is None:
        return ("id", field.id)
    if field.dict in multi_role:
        return ("dict", field.dict, field.section)
    return ("dict", field.dict)


def _merged_field_for(merged: Form, field: Field) -> Field | None:
    """The merged field asking `field`'s concept (same rule as merge_forms, read off `merged`)."""
    if field.dict is None:
        target = merged.get(field.id)
        return target if target is not None and target.dict is None else None
    candidates = [f for f in merged.fields if f.dict == field.dict]
    if len(candidates) == 1:
        return candidates[0]
    return next((f for f in candidates if f.section == field.section), None)


def _who(source: str) -> str:
    return "一件事表单" if source == ONETHING_SOURCE else f"事项「{source}」"


# --- merging one concept ----------------------------------------------------------------------
def _merge_cluster(entries: list[tuple[str, Field]]) -> Field:
    first_source, first = entries[0]
    fields = [field for _, field in entries]
    for source, field in entries[1:]:
        if field.type != first.type:
            raise MergeConflict(
                f"字段「{first.label}」在{_who(first_source)}中为 {first.type}（{first.id}），"
                f"在{_who(source)}中为 {field.type}（{field.id}），类型冲突，无法合并为一项",
                field_id=first.id, items=(first_source, source))

    def conflict(text: str) -> MergeConflict:
        return MergeConflict(f"字段「{first.label}」（{first.id}）：{text}", field_id=first.id,
                             items=tuple(source for source, _ in entries))

    minlength = _strictest(fields, "minlength", max)
    maxlength = _strictest(fields, "maxlength", min)
    low, high = _strictest(fields, "min", max), _strictest(fields, "max", min)
    if minlength is not None and maxlength is not None and minlength > maxlength:
        raise conflict(f"各事项的长度要求无法同时满足（至少 {minlength}，至多 {maxlength} 个字符）")
    if low is not None and high is not None and low > high:
        raise conflict(f"各事项的取值范围没有交集（不小于 {low}，不大于 {high}）")
    patterns = {field.pattern for field in fields if field.pattern is not None}
    if len(patterns) > 1:
        raise conflict("各事项的格式要求 (pattern) 不同，无法合并为一项")
    with_pattern = next((field for field in fields if field.pattern is not None), None)
    necessities = [field.necessity for field in fields if field.necessity is not None]
    return replace(
        first,
        required=any(field.required for field in fields),
        readonly=all(field.readonly for field in fields),
        default=_first(fields, "default"),
        options=_common_options(fields, conflict) if first.type == "enum" else (),
        min=low, max=high, minlength=minlength, maxlength=maxlength,
        pattern=with_pattern.pattern if with_pattern else None,
        pattern_message=with_pattern.pattern_message if with_pattern else None,
        placeholder=_first(fields, "placeholder"),
        help=_first(fields, "help"),
        section=_first(fields, "section"),
        necessity=max(necessities, key=_NECESSITY_RANK.__getitem__) if necessities else None,
        source=_first(fields, "source"),
        material_code=_first(fields, "material_code"),
        sources=tuple(dict.fromkeys(source for source, _ in entries)),
        extras={k: v for field in reversed(fields) for k, v in field.extras.items()},
    )


def _strictest(fields: list[Field], name: str, pick: Any) -> Any:
    values = [getattr(field, name) for field in fields if getattr(field, name) is not None]
    return pick(values) if values else None


def _first(fields: list[Field], name: str) -> Any:
    return next((getattr(f, name) for f in fields if getattr(f, name) is not None), None)


def _common_options(fields: list[Field], conflict: Any) -> tuple[Option, ...]:
    common = set(fields[0].option_ids())
    for field in fields[1:]:
        common &= set(field.option_ids())
    if not common:
        raise conflict("各事项的选项没有交集")
    return tuple(option for option in fields[0].options if option.id in common)


def _refuse_id_collisions(merged: list[Field],
                          clusters: Mapping[Concept, list[tuple[str, Field]]]) -> None:
    owner: dict[str, list[tuple[str, Field]]] = {}
    for field, entries in zip(merged, clusters.values(), strict=True):
        if field.id in owner:
            (source_a, a), (source_b, b) = owner[field.id][0], entries[0]
            raise MergeConflict(
                f"字段标识「{field.id}」在{_who(source_a)}（共享字段 {a.dict or '无'}，"
                f"分组 {a.section or '无'}）和{_who(source_b)}（共享字段 {b.dict or '无'}，"
                f"分组 {b.section or '无'}）中指不同的内容，请统一共享字段 (dict) 或改用不同标识",
                field_id=field.id, items=(source_a, source_b))
        owner[field.id] = entries
