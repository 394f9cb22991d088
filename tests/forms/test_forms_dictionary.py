"""The shared field dictionary and its validators, with real-world samples."""
from __future__ import annotations

import datetime as dt

import pytest

from forms import DICTIONARY, InvalidValue, dictionary, lookup
from forms.dictionary import (
    CREDIT_CODE_WEIGHTS,
    ID_NUMBER_WEIGHTS,
    credit_code_check_char,
    id_number_check_char,
    validate_credit_code,
    validate_id_number,
    validate_mobile,
    validate_person_name,
    validate_postal_code,
    validate_project_code,
)

# Published codes of well-known organisations; each also checked by hand below.
VALID_CREDIT_CODES = [
    "91350100M000100Y43",
    "91110000802100433B",
    "914403001922038216",
    "91110108551385082Q",
    "9144030071526726XG",
]


def test_dictionary_has_the_shared_keys():
    assert set(DICTIONARY) == {
        "credit_code", "id_number", "mobile", "project_code", "company_name", "address",
        "legal_person", "contact_name", "project_name", "postal_code",
    }
    for key, entry in DICTIONARY.items():
        assert entry.key == key and entry.label and entry.type == "string"
    assert lookup("credit_code").label == "统一社会信用代码"
    with pytest.raises(KeyError):
        lookup("no_such_key")


def test_weights_are_the_standard_ones():
    assert tuple(pow(3, i, 31) for i in range(17)) == CREDIT_CODE_WEIGHTS
    assert tuple(pow(2, 17 - i, 11) for i in range(17)) == ID_NUMBER_WEIGHTS


def test_credit_code_check_worked_by_hand():
    # 9 1 3 5 0 1 0 0 M(21) 0 0 0 1 0 0 Y(30) 4 × 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
    # = 9+3+27+135+0+26+0+0+420+0+0+0+8+0+0+900+112 = 1640; 1640 mod 31 = 28; 31-28 = 3 → "3"
    assert credit_code_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize("code", VALID_CREDIT_CODES)
def test_real_credit_codes_are_accepted(code):
    assert validate_credit_code(code) == code


def test_credit_code_is_normalised_to_upper_case_without_spaces():
    assert validate_credit_code("91110000802100433b") == "91110000802100433B"
    assert validate_credit_code(" 9135 0100 M000 100Y 43 ") == "91350100M000100Y43"
    assert validate_credit_code("９１１１００００８０２１００４３３Ｂ") == "91110000802100433B"


@pytest.mark.parametrize("code, problem", [
    ("91350100M000100Y44", "credit_code_check"),    # check character changed
    ("91110000802100433C", "credit_code_check"),
    ("91350100M000100Y53", "credit_code_check"),    # one body character changed
    ("92350100M000100Y43", "credit_code_check"),    # 9 1 企业 → 9 2 个体工商户: sum changes
    ("9135010OM000100Y43", "credit_code_chars"),    # letter O
    ("91350100M0001I0Y43", "credit_code_chars"),    # letter I
    ("91350100M000100Z43", "credit_code_chars"),    # letter Z
    ("91350100M00010SY43", "credit_code_chars"),    # letter S
    ("91350100MV00100Y43", "credit_code_chars"),    # letter V
    ("91350100M000100Y4", "credit_code_length"),
    ("91350100M000100Y433", "credit_code_length"),
    ("B1350100M000100Y43", "credit_code_authority"),
    ("95350100M000100Y43", "credit_code_category"),  # 工商 has categories 1, 2, 3 only
    ("913501A0M000100Y43", "credit_code_region"),
    ("91350100M000100Y4-", "credit_code_chars"),
])
def test_bad_credit_codes_are_refused(code, problem):
    with pytest.raises(InvalidValue) as caught:
        validate_credit_code(code)
    assert caught.value.code == problem
    assert caught.value.message.startswith("统一社会信用代码")


def test_credit_code_messages():
    with pytest.raises(InvalidValue) as caught:
        validate_credit_code("91350100M000100Y44")
    assert str(caught.value) == "统一社会信用代码校验位不正确"
    assert "check character" in caught.value.render("en")


def test_id_number_check_worked_by_hand():
    # 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2 × 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
    # = 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167; 167 mod 11 = 2 → "10X98765432"[2] = "X"
    assert id_number_check_char("11010519491231002") == "X"


@pytest.mark.parametrize("number", [
    "11010519491231002X",
    "440524198001010013",
    "320106199003071234",   # 3×7+2×9+…+3×2 = 217; 217 mod 11 = 8 → "4"
    "510108200002298764",   # born 29 February 2000, a leap day
])
def test_valid_id_numbers(number):
    assert validate_id_number(number) == number


def test_id_number_lower_case_x_is_normalised():
    assert validate_id_number("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize("number, problem", [
    ("110105194912310021", "id_number_check"),       # check X changed to 1
    ("11010519491231003X", "id_number_check"),       # sequence digit changed
    ("11010519490230002X", "id_number_birth"),       # 30 February 1949
    ("11010519491331002X", "id_number_birth"),       # month 13
    ("11010518991231002X", "id_number_birth"),       # before 1900
    ("11010520991231002X", "id_number_future"),      # born 2099
    ("11010519491231002", "id_number_length"),
    ("110105491231002", "id_number_length"),         # old 15-digit form
    ("1101051949123100XX", "id_number_format"),
    ("A1010519491231002X", "id_number_format"),
])
def test_bad_id_numbers_are_refused(number, problem):
    with pytest.raises(InvalidValue) as caught:
        validate_id_number(number)
    assert caught.value.code == problem


def test_id_number_future_is_judged_on_the_date_the_caller_gives():
    number = "11010520200101001" + id_number_check_char("11010520200101001")
    assert validate_id_number(number) == number
    with dictionary.on_date(dt.date(2019, 12, 31)), pytest.raises(InvalidValue) as caught:
        validate_id_number(number)
    assert caught.value.code == "id_number_future"


@pytest.mark.parametrize("raw, expected", [
    ("13800138000", "13800138000"),
    ("199 1234 5678", "19912345678"),
    ("+86 138-0013-8000", "13800138000"),
    ("008615012345678", "15012345678"),
])
def test_mobile_numbers_accepted_and_normalised(raw, expected):
    assert validate_mobile(raw) == expected


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "138001380001", "23800138000",
                                 "1380013800a", "10800138000"])
def test_bad_mobile_numbers_refused(raw):
    with pytest.raises(InvalidValue):
        validate_mobile(raw)


def test_project_code_shape_and_year():
    assert validate_project_code("2017-371523-48-01-003521") == "2017-371523-48-01-003521"
    assert validate_project_code("2020－330106－47－01－112233") == "2020-330106-47-01-112233"
    for bad, problem in [("2017-37152-48-01-003521", "project_code_format"),
                         ("2017-371523-48-01-00352A", "project_code_format"),
                         ("2017371523480100 3521", "project_code_format"),
                         ("1999-371523-48-01-003521", "project_code_year"),
                         ("2999-371523-48-01-003521", "project_code_year")]:
        with pytest.raises(InvalidValue) as caught:
            validate_project_code(bad)
        assert caught.value.code == problem


def test_postal_code():
    assert validate_postal_code("252000") == "252000"
    for bad in ("25200", "2520001", "25200a"):
        with pytest.raises(InvalidValue):
            validate_postal_code(bad)


@pytest.mark.parametrize("raw, expected", [
    ("张兴亮", "张兴亮"),
    ("欧阳娜娜", "欧阳娜娜"),
    ("阿依古丽·买买提", "阿依古丽·买买提"),
    ("阿依古丽・买买提", "阿依古丽·买买提"),   # katakana middle dot normalised
    ("John  Smith", "John Smith"),
])
def test_person_names_accepted(raw, expected):
    assert validate_person_name(raw) == expected


@pytest.mark.parametrize("raw", ["张", "张三3", "·张三", "张三·", "Robert'); DROP TABLE--",
                                 "张" * 31, "<b>张三</b>"])
def test_bad_person_names_refused(raw):
    with pytest.raises(InvalidValue) as caught:
        validate_person_name(raw)
    assert caught.value.code == "person_name"


def test_names_and_addresses_need_letters():
    validate_company = lookup("company_name").validator
    assert validate_company(" 茌平县张兴亮小吃店 ") == "茌平县张兴亮小吃店"
    with pytest.raises(InvalidValue):
        validate_company("12")
    with pytest.raises(InvalidValue):
        validate_company("店")
    assert lookup("address").validator("山东省聊城市茌平区振兴路 1 号") == "山东省聊城市茌平区振兴路 1 号"
