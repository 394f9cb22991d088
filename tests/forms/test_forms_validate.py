"""Server-side validation: every type and constraint, accepted and refused, and hostile input."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from forms import Field, Form, FormInvalid, Option, validate
from forms.messages import MESSAGES
from forms.validate import FORM_ERROR_KEY, values_to_json


def one(field: Field) -> Form:
    return Form((field,))


def ok(field: Field, raw):
    """The cleaned value of `raw` for a form with just `field`."""
    return validate(one(field), {field.id: raw})[field.id]


def refused(field: Field, raw, lang: str = "zh") -> str:
    """The message for `raw` refused by a form with just `field`."""
    with pytest.raises(FormInvalid) as caught:
        validate(one(field), {field.id: raw}, lang=lang)
    assert set(caught.value.fields) == {field.id}
    return caught.value.fields[field.id]


# --- required, optional, unknown ------------------------------------------------------------
def test_required_means_present_and_not_blank():
    field = Field("name", "名称", "string", required=True)
    assert refused(field, "") == "此项为必填项"
    assert refused(field, "   \t ") == "此项为必填项"
    assert refused(field, None) == "此项为必填项"
    with pytest.raises(FormInvalid) as caught:
        validate(one(field), {})
    assert caught.value.fields == {"name": "此项为必填项"}
    assert ok(field, " 张兴亮小吃店 ") == "张兴亮小吃店"


def test_boolean_false_satisfies_required():
    assert ok(Field("agree", "同意", "boolean", required=True), False) is False


def test_missing_optional_field_is_absent_and_blank_optional_is_none():
    form = Form((Field("a", "A", "string"), Field("b", "B", "long")))
    assert validate(form, {}) == {}
    assert validate(form, {"a": "", "b": "  "}) == {"a": None, "b": None}


def test_unknown_field_is_refused_not_stored():
    form = one(Field("a", "A", "string"))
    with pytest.raises(FormInvalid) as caught:
        validate(form, {"a": "x", "is_admin": True})
    assert caught.value.fields == {"is_admin": "未知字段"}


def test_data_that_is_not_an_object_is_refused():
    with pytest.raises(FormInvalid) as caught:
        validate(one(Field("a", "A", "string")), ["a", "b"])  # type: ignore[arg-type]
    assert FORM_ERROR_KEY in caught.value.fields


def test_all_errors_are_reported_at_once():
    form = Form((Field("a", "A", "string", required=True), Field("n", "N", "long")))
    with pytest.raises(FormInvalid) as caught:
        validate(form, {"n": "abc", "x": 1})
    assert caught.value.fields == {"a": "此项为必填项", "n": "请输入整数", "x": "未知字段"}
    assert "3" in caught.value.message


# --- readonly -------------------------------------------------------------------------------
def test_readonly_value_cannot_be_changed_by_a_crafted_post():
    form = Form((Field("case_number", "办件编号", "string", readonly=True),
                 Field("opinion", "意见", "textarea")))
    current = {"case_number": "CP-2026-000123"}
    cleaned = validate(form, {"case_number": "HACKED", "opinion": "同意"}, current=current)
    assert cleaned == {"case_number": "CP-2026-000123", "opinion": "同意"}


def test_readonly_falls_back_to_default_and_ignores_posted_value():
    form = one(Field("fee", "收费", "decimal", readonly=True, default=Decimal(0)))
    assert validate(form, {"fee": "9999"}) == {"fee": Decimal(0)}
    assert validate(one(Field("x", "X", "string", readonly=True)), {"x": "posted"}) == {}


# --- string and textarea --------------------------------------------------------------------
def test_string_lengths():
    field = Field("s", "S", "string", minlength=3, maxlength=5)
    assert ok(field, "abc") == "abc"
    assert ok(field, "一二三四五") == "一二三四五"
    assert refused(field, "ab") == "不得少于 3 个字符"
    assert refused(field, "abcdef") == "不得超过 5 个字符"


def test_megabyte_string_is_refused_cleanly():
    megabyte = "字" * 1_000_000
    assert refused(Field("s", "S", "string"), megabyte) == "不得超过 2000 个字符"
    assert refused(Field("t", "T", "textarea"), megabyte) == "不得超过 20000 个字符"
    assert refused(Field("c", "C", "string", dict="credit_code", maxlength=18),
                   megabyte) == "不得超过 18 个字符"
    assert refused(Field("p", "P", "string", pattern=r"(a+)+$"), "a" * 1_000_000 + "!")


def test_default_caps_allow_text_up_to_the_limit():
    assert len(ok(Field("s", "S", "string"), "a" * 2000)) == 2000
    assert len(ok(Field("t", "T", "textarea"), "a" * 20000)) == 20000


def test_textarea_keeps_lines_and_normalises_line_ends():
    assert ok(Field("t", "T", "textarea"), "第一行\r\n第二行\r\n") == "第一行\n第二行\n"


@pytest.mark.parametrize("raw", [{"$ne": ""}, ["a", "b"], {"nested": {"x": 1}}, 1.5, True])
def test_nested_json_or_wrong_scalar_in_a_string_field_is_refused(raw):
    assert refused(Field("s", "S", "string"), raw) == "请输入文本"


def test_nested_json_from_a_real_request_body():
    data = json.loads('{"s": {"__class__": "x"}}')
    assert refused(Field("s", "S", "string"), data["s"]) == "请输入文本"


def test_control_characters_and_lone_surrogates_are_refused():
    assert refused(Field("s", "S", "string"), "abc\x00def") == "不能包含控制字符"
    assert refused(Field("s", "S", "string"), json.loads('"abc\\ud800"')) == "不能包含控制字符"


def test_integer_is_accepted_as_text_for_a_string_field():
    assert ok(Field("zip", "邮编", "string"), 252000) == "252000"


def test_pattern_is_a_full_match_and_pattern_message_overrides():
    field = Field("code", "编号", "string", pattern=r"[A-Z]{2}\d{4}")
    assert ok(field, "XK0001") == "XK0001"
    assert refused(field, "XK0001-extra") == "格式不正确"
    assert refused(field, "xx XK0001") == "格式不正确"
    custom = Field("code", "编号", "string", pattern=r"[A-Z]{2}\d{4}",
                   pattern_message="编号为两个大写字母加四位数字")
    assert refused(custom, "X1") == "编号为两个大写字母加四位数字"
    assert refused(custom, "X1", lang="en") == "编号为两个大写字母加四位数字"


# --- long -----------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    (12, 12), ("12", 12), (" -7 ", -7), ("+3", 3), (12.0, 12), ("１２", 12), ("1,000", 1000),
    (2**63 - 1, 2**63 - 1), (str(-(2**63)), -(2**63)),
])
def test_long_accepts_json_and_form_strings(raw, expected):
    value = ok(Field("n", "N", "long"), raw)
    assert value == expected and type(value) is int


@pytest.mark.parametrize("raw, message", [
    (True, "请输入整数"), (False, "请输入整数"), ("1.5", "请输入整数"), (1.5, "请输入整数"),
    ("12abc", "请输入整数"), ("1e3", "请输入整数"), ("1_000", "请输入整数"), ([1], "请输入整数"),
    ({"n": 1}, "请输入整数"), (float("nan"), "请输入整数"), (float("inf"), "请输入整数"),
    (2**63, "整数超出允许范围"), ("-9223372036854775809", "整数超出允许范围"),
    ("9" * 100, "数字位数过多"),
])
def test_long_refusals(raw, message):
    assert refused(Field("n", "N", "long"), raw) == message


def test_long_bounds():
    field = Field("n", "座位数", "long", min=1, max=100)
    assert ok(field, "100") == 100
    assert refused(field, "101") == "不能大于 100"
    assert refused(field, 0) == "不能小于 1"


# --- decimal --------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("12.50", Decimal("12.50")), (12.5, Decimal("12.5")), (0.1, Decimal("0.1")), (3, Decimal(3)),
    ("-0.75", Decimal("-0.75")), ("1,234.50", Decimal("1234.50")), (".5", Decimal("0.5")),
])
def test_decimal_accepts_json_and_form_strings(raw, expected):
    value = ok(Field("d", "D", "decimal"), raw)
    assert value == expected and isinstance(value, Decimal)


@pytest.mark.parametrize("raw, message", [
    ("NaN", "请输入数字"), ("Infinity", "请输入数字"), ("-inf", "请输入数字"),
    (float("nan"), "请输入数字"), (float("inf"), "请输入数字"), (Decimal("NaN"), "请输入数字"),
    ("1e309", "请输入数字"), ("1E5", "请输入数字"), (True, "请输入数字"), ("12,5", "请输入数字"),
    ({"d": 1}, "请输入数字"), (["1"], "请输入数字"), ("1" * 65, "数字位数过多"),
    ("1" * 40, "数字位数过多"), (10**40, "数字位数过多"), (1e300, "数字位数过多"),
])
def test_decimal_refusals(raw, message):
    assert refused(Field("d", "D", "decimal"), raw) == message


def test_decimal_from_a_json_document_with_nan():
    data = json.loads('{"d": NaN, "e": Infinity}')
    form = Form((Field("d", "D", "decimal"), Field("e", "E", "decimal")))
    with pytest.raises(FormInvalid) as caught:
        validate(form, data)
    assert caught.value.fields == {"d": "请输入数字", "e": "请输入数字"}


def test_decimal_bounds():
    field = Field("area", "面积", "decimal", min=Decimal("0.01"), max=Decimal(300))
    assert ok(field, "300.00") == Decimal("300.00")
    assert refused(field, "300.01") == "不能大于 300"
    assert refused(field, "0") == "不能小于 0.01"


# --- boolean --------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    (True, True), (False, False), ("true", True), ("on", True), ("1", True), ("TRUE", True),
    ("false", False), ("off", False), ("0", False), (1, True), (0, False), ("是", True),
])
def test_boolean_accepts_json_and_checkbox_values(raw, expected):
    assert ok(Field("b", "B", "boolean"), raw) is expected


@pytest.mark.parametrize("raw", ["maybe", 2, 1.0, {"b": True}, ["on"], "x" * 1000])
def test_boolean_refusals(raw):
    assert refused(Field("b", "B", "boolean"), raw) == "请选择“是”或“否”"


# --- date -----------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["2026-11-20", " 2026-11-20 ", "2026/11/20", "2026年11月20日",
                                 dt.date(2026, 11, 20), dt.datetime(2026, 11, 20, 9, 30)])
def test_date_accepts_iso_and_chinese_forms(raw):
    assert ok(Field("d", "D", "date"), raw) == dt.date(2026, 11, 20)


@pytest.mark.parametrize("raw, message", [
    ("2026-02-30", "请输入有效日期，格式为 YYYY-MM-DD"),
    ("2026-13-01", "请输入有效日期，格式为 YYYY-MM-DD"),
    ("20261120", "请输入有效日期，格式为 YYYY-MM-DD"),
    ("2026-11-20T00:00:00", "请输入有效日期，格式为 YYYY-MM-DD"),
    ("tomorrow", "请输入有效日期，格式为 YYYY-MM-DD"),
    (20261120, "请输入有效日期，格式为 YYYY-MM-DD"),
    ({"y": 2026}, "请输入有效日期，格式为 YYYY-MM-DD"),
    ("1899-12-31", "日期不能早于 1900 年"),
    (dt.date(1800, 1, 1), "日期不能早于 1900 年"),
    ("0000-01-01", "请输入有效日期，格式为 YYYY-MM-DD"),
])
def test_date_refusals(raw, message):
    assert refused(Field("d", "D", "date"), raw) == message


def test_date_bounds():
    field = Field("d", "D", "date", min=dt.date(2026, 1, 1), max=dt.date(2026, 12, 31))
    assert refused(field, "2025-12-31") == "不能早于 2026-01-01"
    assert refused(field, "2027-01-01") == "不能晚于 2026-12-31"


# --- enum and file --------------------------------------------------------------------------
DECISION = Field("decision", "审批结论", "enum",
                 options=(Option("approve", "准予许可"), Option("refuse", "不予许可")))


def test_enum_stores_the_option_id():
    assert ok(DECISION, "approve") == "approve"
    assert refused(DECISION, "准予许可") == "请选择有效的选项"
    assert refused(DECISION, "delete") == "请选择有效的选项"
    assert refused(DECISION, ["approve"]) == "请选择有效的选项"


def test_file_takes_the_upload_id_as_given():
    field = Field("licence", "营业执照", "file", necessity="必要")
    assert ok(field, "3f2c9a1e-77d4-4b5e-9c1a-2f0e8d6b4a10") == "3f2c9a1e-77d4-4b5e-9c1a-2f0e8d6b4a10"
    assert refused(field, "../../etc/passwd") == "请上传文件并提交其文件标识"
    assert refused(field, {"id": "x"}) == "请上传文件并提交其文件标识"


# --- dictionary fields ----------------------------------------------------------------------
def test_dictionary_validator_applies_and_normalises():
    field = Field("builder_credit_code", "统一社会信用代码", "string", dict="credit_code",
                  maxlength=18, required=True)
    assert ok(field, "91110000802100433b") == "91110000802100433B"
    assert refused(field, "91110000802100433C") == "统一社会信用代码校验位不正确"
    mobile = Field("phone", "手机", "string", dict="mobile", maxlength=11)
    assert ok(mobile, "+86 138 0013 8000") == "13800138000"


# --- languages ------------------------------------------------------------------------------
def test_messages_in_english():
    assert refused(Field("n", "N", "long"), "x", lang="en") == "Enter a whole number."
    assert refused(Field("s", "S", "string", minlength=3), "ab", lang="en") == \
        "Enter at least 3 characters."
    assert refused(Field("c", "C", "string", dict="credit_code"), "91110000802100433C",
                   lang="en") == "The check character of the unified social credit code is wrong."
    with pytest.raises(FormInvalid) as caught:
        validate(one(Field("a", "A", "string", required=True)), {"zz": 1}, lang="en-US")
    assert caught.value.fields == {"a": "This field is required.", "zz": "Unknown field."}
    assert "correcting" in caught.value.message


def test_every_message_has_both_languages():
    for code, (zh, en) in MESSAGES.items():
        assert zh and en and zh != en, code


def test_cleaned_values_round_trip_through_json():
    form = Form((Field("d", "D", "date"), Field("m", "M", "decimal"), Field("n", "N", "long"),
                 Field("b", "B", "boolean"), Field("s", "S", "string")))
    cleaned = validate(form, {"d": "2026年11月20日", "m": "12.50", "n": "7", "b": "on", "s": "x"})
    as_json = values_to_json(cleaned)
    assert as_json == {"d": "2026-11-20", "m": "12.50", "n": 7, "b": True, "s": "x"}
    assert validate(form, json.loads(json.dumps(as_json))) == cleaned


def test_a_field_required_by_another_answer_must_be_filled():
    from forms.model import Field, Form, Option

    form = Form(fields=(
        Field("delivery_method", "送达方式", "enum", required=True,
              options=(Option("window", "窗口领取"), Option("post", "邮寄送达"))),
        Field("recipient_address", "邮寄地址", "textarea",
              extras={"required_when": "delivery_method=post"}),
    ))
    assert validate(form, {"delivery_method": "window"}) == {"delivery_method": "window"}
    with pytest.raises(FormInvalid) as refused:
        validate(form, {"delivery_method": "post", "recipient_address": "  "})
    assert refused.value.fields == {"recipient_address": "此项为必填项"}
    assert validate(form, {"delivery_method": "post", "recipient_address": "聊城市柳园南路 88 号"})
