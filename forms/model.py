"""The form model: what a form asks, independent of where it came from.

A `Form` is an ordered tuple of `Field`s with unique ids. Both are frozen: a form read from
a deployed definition is shared between requests and must not change under them.

Typed values: `default`, `min` and `max` hold Python values of the field's type (int for
long, `decimal.Decimal` for decimal, `datetime.date` for date, bool for boolean, str for
the text types and for enum option ids). `to_json()` renders them for JSON (dates as
ISO strings, decimals as numbers) in the shape promised by CONTRACT.md.
"""
from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from typing import Any

# One source of truth for field types, in the order the contract lists them.
FIELD_TYPES: tuple[str, ...] = (
    "string", "textarea", "long", "decimal", "boolean", "date", "enum", "file",
)
TEXT_TYPES = frozenset({"string", "textarea"})
NUMBER_TYPES = frozenset({"long", "decimal"})
# Types that take min/max constraints (numbers, and dates as ISO dates).
ORDERED_TYPES = NUMBER_TYPES | {"date"}

# Material (file field) rules, as the national item tables name them.
NECESSITIES: tuple[str, ...] = ("必要", "非必要", "容缺后补")
MATERIAL_SOURCES: tuple[str, ...] = ("申请人自备", "部门核发", "其他")


@dataclass(frozen=True)
class Option:
    """One choice of an enum field: `id` is what is stored, `label` what is shown."""

    id: str
    label: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "label": self.label}


@dataclass(frozen=True)
class Field:
    """One question of a form, with its constraints and display hints.

    `dict` names an entry of the shared field dictionary (forms.dictionary) whose
    validator also applies. `necessity`, `source` and `material_code` describe materials
    (file fields). `sources` lists the item keys that ask this field in a merged one-form.
    `extras` keeps diagram properties this model does not know, verbatim.
    """

    id: str
    label: str
    type: str
    required: bool = False
    readonly: bool = False
    default: Any = None
    options: tuple[Option, ...] = ()
    min: Any = None
    max: Any = None
    minlength: int | None = None
    maxlength: int | None = None
    pattern: str | None = None
    pattern_message: str | None = None
    dict: str | None = None
    placeholder: str | None = None
    help: str | None = None
    section: str | None = None
    necessity: str | None = None
    source: str | None = None
    material_code: str | None = None
    sources: tuple[str, ...] = ()
    # `builtins.dict`: the field named `dict` shadows the builtin in this class body.
    extras: Mapping[str, str] = dc_field(default_factory=builtins.dict, hash=False)

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"unknown field type {self.type!r}")
        object.__setattr__(self, "options", tuple(self.options))
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "extras", dict(self.extras))

    def option_ids(self) -> tuple[str, ...]:
        """The ids of the enum options, in order."""
        return tuple(option.id for option in self.options)

    def to_json(self) -> dict[str, Any]:
        """The field as CONTRACT.md describes it, plus display and material hints."""
        return {
            "id": self.id,
            "label": self.label,
            "type": self.type,
            "required": self.required,
            "readonly": self.readonly,
            "default": json_value(self.default),
            "options": [option.to_json() for option in self.options],
            "min": json_value(self.min),
            "max": json_value(self.max),
            "minlength": self.minlength,
            "maxlength": self.maxlength,
            "pattern": self.pattern,
            "pattern_message": self.pattern_message,
            "dict": self.dict,
            "sources": list(self.sources),
            "placeholder": self.placeholder,
            "help": self.help,
            "section": self.section,
            "necessity": self.necessity,
            "source": self.source,
            "material_code": self.material_code,
            "extras": dict(self.extras),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Field:
        """Rebuild a field from `to_json()` output (typed values restored)."""
        type_ = data["type"]
        return cls(
            id=data["id"], label=data["label"], type=type_,
            required=bool(data.get("required", False)),
            readonly=bool(data.get("readonly", False)),
            default=typed_value(type_, data.get("default")),
            options=tuple(Option(o["id"], o["label"]) for o in data.get("options") or ()),
            min=typed_value(type_, data.get("min")),
            max=typed_value(type_, data.get("max")),
            **{key: data.get(key) for key in (
                "minlength", "maxlength", "pattern", "pattern_message", "dict",
                "placeholder", "help", "section", "necessity", "source", "material_code")},
            sources=tuple(data.get("sources") or ()),
            extras=dict(data.get("extras") or {}),
        )


@dataclass(frozen=True)
class Form:
    """An ordered set of fields with unique ids. An empty form is valid (a task without input)."""

    fields: tuple[Field, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))
        seen: set[str] = set()
        for f in self.fields:
            if f.id in seen:
                raise ValueError(f"duplicate field id {f.id!r}")
            seen.add(f.id)

    def field(self, field_id: str) -> Field:
        """The field with this id; KeyError if the form has none."""
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(field_id)

    def get(self, field_id: str) -> Field | None:
        """The field with this id, or None."""
        return next((f for f in self.fields if f.id == field_id), None)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.fields)

    def __contains__(self, field_id: object) -> bool:
        return any(f.id == field_id for f in self.fields)

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        """`{"fields": [...]}` exactly as CONTRACT.md describes a form definition."""
        return {"fields": [f.to_json() for f in self.fields]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Form:
        """Rebuild a form from `to_json()` output."""
        return cls(tuple(Field.from_json(f) for f in data.get("fields") or ()))


def json_value(value: Any) -> Any:
    """A typed value as JSON: dates as ISO strings, decimals as int or float numbers."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def typed_value(type_: str, value: Any) -> Any:
    """Inverse of `json_value` for a field of `type_` (None stays None)."""
    if value is None:
        return None
    if type_ == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if type_ == "decimal" and not isinstance(value, Decimal):
        return Decimal(str(value))
    if type_ == "long" and not isinstance(value, bool):
        return int(value)
    return value
