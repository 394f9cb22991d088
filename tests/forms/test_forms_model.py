"""The form model and its JSON shape (CONTRACT.md)."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from forms import Field, Form, Option

CONTRACT_KEYS = {"id", "label", "type", "required", "readonly", "default", "options", "min",
                 "max", "minlength", "maxlength", "pattern", "dict", "sources"}


def sample() -> Form:
    return Form((
        Field("builder_credit_code", "统一社会信用代码", "string", required=True, maxlength=18,
              dict="credit_code", section="建设单位", sources=("permit", "quality")),
        Field("area", "使用面积", "decimal", min=Decimal("0.01"), max=Decimal(300),
              default=Decimal("12.50")),
        Field("start", "开工日期", "date", min=dt.date(2026, 1, 1), default=dt.date(2026, 11, 20)),
        Field("decision", "审批结论", "enum",
              options=(Option("approve", "准予许可"), Option("refuse", "不予许可"))),
        Field("licence", "营业执照", "file", necessity="容缺后补", source="部门核发",
              extras={"print_copies": "1"}),
    ))


def test_to_json_has_the_contract_shape_and_is_json():
    data = sample().to_json()
    assert set(data) == {"fields"}
    for field in data["fields"]:
        assert set(field) >= CONTRACT_KEYS
    json.dumps(data, ensure_ascii=False)
    first, area, start, decision = data["fields"][:4]
    assert first["sources"] == ["permit", "quality"] and first["dict"] == "credit_code"
    assert (area["min"], area["max"], area["default"]) == (0.01, 300, 12.5)
    assert (start["min"], start["default"]) == ("2026-01-01", "2026-11-20")
    assert decision["options"] == [{"id": "approve", "label": "准予许可"},
                                   {"id": "refuse", "label": "不予许可"}]


def test_from_json_round_trips():
    form = sample()
    assert Form.from_json(json.loads(json.dumps(form.to_json()))) == form


def test_field_lookup():
    form = sample()
    assert form.field("area").label == "使用面积"
    assert "area" in form and "nope" not in form and form.get("nope") is None
    with pytest.raises(KeyError):
        form.field("nope")


def test_model_refuses_unknown_types_and_duplicate_ids():
    with pytest.raises(ValueError):
        Field("a", "A", "money")
    with pytest.raises(ValueError):
        Form((Field("a", "A", "string"), Field("a", "B", "long")))


def test_fields_are_immutable_and_hashable():
    field = sample().fields[0]
    with pytest.raises(AttributeError):
        field.label = "x"  # type: ignore[misc]
    assert hash(field) == hash(sample().fields[0])
