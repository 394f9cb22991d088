"""The shared field dictionary: concepts many items ask for, with one validator each.

A diagram field that names a dictionary key (`<camunda:property id="dict" value="credit_code"/>`)
inherits the entry's label (when it has none), type, maxlength and validator, and the merged
one-form asks every field of the same key once. A validator takes the submitted text
(already stripped and non-blank), returns the normalised value (e.g. upper-case credit code,
X in an ID number) and raises `forms.messages.InvalidValue` with a Chinese message otherwise.

Standards implemented: GB 32100-2015 (统一社会信用代码, check character ISO 7064 MOD 31-3),
GB 11643-1999 (公民身份号码, check character ISO 7064 MOD 11-2), and the national
投资项目代码 layout YYYY-XXXXXX-XX-XX-XXXXXX.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType

from forms.messages import InvalidValue

Validator = Callable[[str], str]

# The date that birth dates and project years may not lie after. forms/ reads no clock of
# its own: callers with a clock (the engine's) say what day it is with `on_date`; only a
# caller that gives none (a library user, the forms tests) gets the system date.
_today: ContextVar[dt.date | None] = ContextVar("forms_today", default=None)


def today() -> dt.date:
    given = _today.get()
    return given if given is not None else dt.date.today()


@contextmanager
def on_date(day: dt.date | None) -> Iterator[None]:
    """Validate as of `day` (None: the system date)."""
    token = _today.set(day)
    try:
        yield
    finally:
        _today.reset(token)


@dataclass(frozen=True)
class DictEntry:
    """One shared concept: its key, Chinese (and English) label, field type and validator."""

    key: str
    label: str
    type: str
    validator: Validator
    maxlength: int | None = None
    label_en: str | None = None

    def validate(self, value: str) -> str:
        """The normalised value, or InvalidValue."""
        return self.validator(value)


def _ascii_form(value: str) -> str:
    """Full-width digits/letters/hyphens (typed with a Chinese IME) as ASCII, spaces removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))


# --- 统一社会信用代码 (GB 32100-2015) -------------------------------------------------------
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, Z, S, V
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3**i mod 31
# 登记管理部门代码: 1 机构编制, 2 外交, 3 司法行政, 4 文化, 5 民政, 6 旅游, 7 宗教, 8 工会,
# 9 工商(市场监管), A 中央军委改革和编制办公室, N 农业, Y 其他.
CREDIT_CODE_AUTHORITIES = frozenset("123456789ANY")
# 机构类别代码 where the standard's table is closed; other authorities accept any code character.
CREDIT_CODE_CATEGORIES: Mapping[str, frozenset[str]] = MappingProxyType({
    "1": frozenset("1239"),  # 机关, 事业单位, 编办管理的群众团体, 其他
    "5": frozenset("1239"),  # 社会团体, 民办非企业单位, 基金会, 其他
    "9": frozenset("123"),   # 企业, 个体工商户, 农民专业合作社
})


def credit_code_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a credit code."""
    total = sum(CREDIT_CODE_ALPHABET.index(ch) * w for ch, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> str:
    """A valid 统一社会信用代码, upper-cased; InvalidValue naming the first problem found."""
    code = _ascii_form(value).upper()
    if len(code) != 18:
        raise InvalidValue("credit_code_length")
    if any(ch not in CREDIT_CODE_ALPHABET for ch in code):
        raise InvalidValue("credit_code_chars")
    if code[0] not in CREDIT_CODE_AUTHORITIES:
        raise InvalidValue("credit_code_authority")
    if code[1] not in CREDIT_CODE_CATEGORIES.get(code[0], CREDIT_CODE_ALPHABET):
        raise InvalidValue("credit_code_category")
    if not code[2:8].isdigit():
        raise InvalidValue("credit_code_region")
    if credit_code_check_char(code[:17]) != code[17]:
        raise InvalidValue("credit_code_check")
    return code


# --- 居民身份证号码 (GB 11643-1999) ---------------------------------------------------------
ID_NUMBER_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2**(17-i) mod 11
ID_NUMBER_CHECK = "10X98765432"  # indexed by the weighted sum mod 11
_ID_NUMBER_RE = re.compile(r"[0-9]{17}[0-9X]")


def id_number_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits of an ID number."""
    return ID_NUMBER_CHECK[sum(int(d) * w for d, w in zip(first17, ID_NUMBER_WEIGHTS, strict=True)) % 11]


def validate_id_number(value: str) -> str:
    """A valid 18-character resident ID number with a real birth date, check X upper-cased."""
    number = _ascii_form(value).upper()
    if len(number) != 18:
        raise InvalidValue("id_number_length")
    if not _ID_NUMBER_RE.fullmatch(number):
        raise InvalidValue("id_number_format")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidValue("id_number_birth") from None
    if birth.year < 1900:
        raise InvalidValue("id_number_birth")
    if birth > today():
        raise InvalidValue("id_number_future")
    if id_number_check_char(number[:17]) != number[17]:
        raise InvalidValue("id_number_check")
    return number


# --- 手机号码 ---------------------------------------------------------------------------------
_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")


def validate_mobile(value: str) -> str:
    """An 11-digit mainland mobile number; spaces, hyphens and a +86/0086 prefix are dropped."""
    number = _ascii_form(value).replace("-", "")
    for prefix in ("+86", "0086"):
        number = number.removeprefix(prefix)
    if not _MOBILE_RE.fullmatch(number):
        raise InvalidValue("mobile")
    return number


_LANDLINE_RE = re.compile(r"0[0-9]{2,3}-?[0-9]{7,8}")


def validate_phone(value: str) -> str:
    """A mobile number (the rule of `validate_mobile`) or a landline with its area code
    (0635-8123456), as a hotline caller may give either."""
    try:
        return validate_mobile(value)
    except InvalidValue:
        number = _ascii_form(value)
        if _LANDLINE_RE.fullmatch(number):
            return number
        raise InvalidValue("phone") from None


# --- 投资项目代码 ------------------------------------------------------------------------------
_PROJECT_CODE_RE = re.compile(r"([0-9]{4})-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{6}")
PROJECT_CODE_FIRST_YEAR = 2000


def validate_project_code(value: str) -> str:
    """A code shaped YYYY-XXXXXX-XX-XX-XXXXXX whose year lies between 2000 and this year."""
    code = _ascii_form(value)
    match = _PROJECT_CODE_RE.fullmatch(code)
    if not match:
        raise InvalidValue("project_code_format")
    if not PROJECT_CODE_FIRST_YEAR <= int(match.group(1)) <= today().year:
        raise InvalidValue("project_code_year")
    return code


# --- 邮政编码 ---------------------------------------------------------------------------------
def validate_postal_code(value: str) -> str:
    """Six digits."""
    code = _ascii_form(value)
    if not re.fullmatch(r"[0-9]{6}", code):
        raise InvalidValue("postal_code")
    return code


# --- names and free text ----------------------------------------------------------------------
_LETTERS = (r"A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F"   # Latin, incl. accented
            r"\u3400-\u4DBF\u4E00-\u9FFF\U00020000-\U0003134F")  # CJK ideographs, ext. A–G
_PERSON_NAME_RE = re.compile(rf"[{_LETTERS}]+(?:[ ·][{_LETTERS}]+)*")
_MIDDLE_DOTS = str.maketrans({c: "·" for c in "・･•‧∙⋅"})


def validate_person_name(value: str) -> str:
    """A person's name: 2–30 Chinese characters or Latin letters, words joined by one space or
    a middle dot (其他写法的间隔号 are normalised to “·”)."""
    name = re.sub(r"\s+", " ", value.strip()).translate(_MIDDLE_DOTS)
    name = re.sub(r" ?· ?", "·", name)
    if not 2 <= len(name) <= 30 or not _PERSON_NAME_RE.fullmatch(name):
        raise InvalidValue("person_name")
    return name


def _named_text(maxlength: int) -> Validator:
    """A validator for names and addresses: 2..maxlength characters, some of them letters."""
    def validate_text(value: str) -> str:
        text = value.strip()
        if not 2 <= len(text) <= maxlength or not any(ch.isalpha() for ch in text):
            raise InvalidValue("name_text", n=maxlength)
        return text
    return validate_text


_ENTRIES = (
    DictEntry("credit_code", "统一社会信用代码", "string", validate_credit_code, 18,
              "Unified social credit code"),
    DictEntry("id_number", "居民身份证号码", "string", validate_id_number, 18,
              "Resident ID number"),
    DictEntry("mobile", "手机号码", "string", validate_mobile, 11, "Mobile number"),
    DictEntry("project_code", "投资项目代码", "string", validate_project_code, 24,
              "Investment project code"),
    DictEntry("company_name", "单位名称", "string", _named_text(100), 100, "Organisation name"),
    DictEntry("address", "地址", "string", _named_text(200), 200, "Address"),
    DictEntry("legal_person", "法定代表人", "string", validate_person_name, 30,
              "Legal representative"),
    DictEntry("contact_name", "联系人", "string", validate_person_name, 30, "Contact person"),
    DictEntry("project_name", "项目名称", "string", _named_text(200), 200, "Project name"),
    DictEntry("postal_code", "邮政编码", "string", validate_postal_code, 6, "Postal code"),
)

DICTIONARY: Mapping[str, DictEntry] = MappingProxyType({e.key: e for e in _ENTRIES})


def lookup(key: str) -> DictEntry:
    """The dictionary entry for `key`; KeyError if the dictionary has no such key."""
    return DICTIONARY[key]
