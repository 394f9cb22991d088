"""The form-optimisation report (表单优化率) halls publish."""
from __future__ import annotations

from decimal import Decimal

from forms import Field, Form, Report, form_report, merge_forms


def form(*ids: str) -> Form:
    return Form(tuple(Field(i, i, "string") for i in ids))


def test_two_items_sharing_four_fields():
    shared = ("name", "credit_code", "address", "mobile")
    forms = {"food": form(*shared, *(f"food_{i}" for i in range(6))),
             "sign": form(*shared, *(f"sign_{i}" for i in range(4)))}
    report = form_report(forms, merge_forms(forms))
    assert report.per_item == {"food": 10, "sign": 8}
    assert (report.total_asked, report.merged, report.removed, report.shared) == (18, 14, 4, 4)
    assert report.reduction_percent == Decimal("22.22")
    assert report.text == "表单优化率 22.22%"
    assert report.to_json() == {"items": {"food": 10, "sign": 8}, "total_asked": 18,
                                "merged": 14, "removed": 4, "shared": 4,
                                "reduction_percent": 22.22, "text": "表单优化率 22.22%"}


def test_the_published_seed_figures():
    # 1448 fields removed over 128 one-things: 表单优化率 31.69 %; Sichuan 开餐馆 100 → 58 fields.
    assert Report({"all": 4569}, 4569, 4569 - 1448, 0).text == "表单优化率 31.69%"
    assert Report({"all": 100}, 100, 58, 0).reduction_percent == Decimal("42.00")


def test_rounding_is_half_up_not_bankers():
    assert Report({"x": 32}, 32, 31, 0).reduction_percent == Decimal("3.13")  # 3.125


def test_no_fields_is_zero_not_an_error():
    report = form_report({}, Form())
    assert report.reduction_percent == Decimal("0.00") and report.to_json()["reduction_percent"] == 0
