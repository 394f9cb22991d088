"""Server-side validation of submitted form data — the only gate before data reaches a task.

`validate(form, data)` accepts JSON values (API) or HTML-form strings (web pages) and returns
typed, cleaned values, or raises `FormInvalid` with one message per field. Promises:

- every key of the result is a field of the form; a submitted key the form lacks is an error
  ("未知字段"), never stored (the web layer removes its own keys such as csrf_token first);
- a missing optional field is absent from the result; a blank optional value is None;
  `required` means present and not blank (whitespace is blank, boolean False is a value);
- a readonly field's value is `current[id]` (or the field default), whatever was posted;
- hostile input gives a per-field message, never an exception: oversized strings (capped at
  maxlength, or 2000 / 20000 characters for string / textarea, before any pattern runs),
  containers where a scalar is due, control characters, booleans given for numbers,
  NaN / Infinity / exponents for decimals, integers beyond int64, dates before 1900.

Cleaned types: str (string, textarea, enum option id, file upload id), int (long),
decimal.Decimal (decimal), bool (boolean), datetime.date (date). Whether an upload id refers
to a stored upload is for the caller, which owns the storage.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from forms import messages
from forms.dictionary import DICTIONARY, on_date
from forms.messages import InvalidValue
from forms.model import Field, Form

STRING_CAP = 2000        # characters in a string field without maxlength
TEXTAREA_CAP = 20000     # characters in a textarea field without maxlength
NUMBER_CAP = 64          # characters of a submitted number
MAX_INTEGER_DIGITS = 30  # digits before the decimal point of a decimal
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FORM_ERROR_KEY = "_form"  # FormInvalid.fields key for errors about the submission as a whole
MAX_REPORTED_UNKNOWN = 50

TRUE_WORDS = frozenset({"true", "on", "1", "yes", "y", "是"})
FALSE_WORDS = frozenset({"false", "off", "0", "no", "n", "否"})

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_INTEGER_RE = re.compile(r"[+-]?(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)")
_DECIMAL_RE = re.compile(r"[+-]?(?:(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]*)?|\.[0-9]+)")
_DATE_RES = (
    re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"),
    re.compile(r"([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})"),
    re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日"),
)
_UPLOAD_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


class FormInvalid(Exception):
    """Submitted data was refused. `fields` maps a field id to its message; `message` sums up."""

    def __init__(self, fields: Mapping[str, str], message: str | None = None, *,
                 lang: str = "zh"):
        self.fields = dict(fields)
        self.message = message or messages.message("form_invalid", lang, n=len(self.fields))
        super().__init__(self.message)


class _PatternMismatch(InvalidValue):
    """A pattern failed; the analyst's `pattern_message` (one text for all languages) wins."""

    def __init__(self, custom: str | None):
        super().__init__("pattern")
        self.custom = custom

    def render(self, lang: str | None = "zh") -> str:
        return self.custom or super().render(lang)


def validate(form: Form, data: Mapping[str, Any], *, lang: str = "zh",
             current: Mapping[str, Any] | None = None,
             today: dt.date | None = None) -> dict[str, Any]:
    """The cleaned values of `data` for `form`, or FormInvalid with messages in `lang`.
    `today` is the date future birth dates and project years are judged against."""
    with on_date(today):
        return _validate(form, data, lang=lang, current=current)


def _validate(form: Form, data: Mapping[str, Any], *, lang: str,
              current: Mapping[str, Any] | None) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise FormInvalid({FORM_ERROR_KEY: messages.message("malformed_data", lang)}, lang=lang)
    errors: dict[str, str] = {}
    ids = set(form.ids)
    unknown = [key for key in data if not isinstance(key, str) or key not in ids]
    for key in unknown[:MAX_REPORTED_UNKNOWN]:
        errors[str(key)[:100]] = messages.message("unknown_field", lang)
    cleaned: dict[str, Any] = {}
    for field in form.fields:
        if field.readonly:
            if current is not None and field.id in current:
                cleaned[field.id] = current[field.id]
            elif field.default is not None:
                cleaned[field.id] = field.default
            continue
        if field.id not in data:
            if field.required:
                errors[field.id] = messages.message("required", lang)
            continue
        try:
            value = clean_field(field, data[field.id])
        except InvalidValue as exc:
            errors[field.id] = exc.render(lang)
            continue
        if value is None and field.required:
            errors[field.id] = messages.message("required", lang)
            continue
        cleaned[field.id] = value
    for field in form.fields:
        if field.id not in errors and _required_by_answer(field, cleaned):
            errors[field.id] = messages.message("required", lang)
    if errors:
        raise FormInvalid(errors, lang=lang)
    return cleaned


def _required_by_answer(field: Field, cleaned: Mapping[str, Any]) -> bool:
    """The diagram property `required_when` = `other=value`: this field must be filled when
    `other` was answered `value` (the missing-materials list of a one-time notice, the
    address when a result goes by post)."""
    other, _sep, wanted = (field.extras.get("required_when") or "").partition("=")
    if not other or cleaned.get(field.id) not in (None, ""):
        return False
    answer = cleaned.get(other.strip())
    return answer is not None and str(answer).lower() == wanted.strip().lower()


def values_to_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """Cleaned values in plain JSON types, exactly: dates as "YYYY-MM-DD", decimals as strings
    ("12.50", never a float). `validate` accepts this output back and returns the same values."""
    return {key: value_to_json(value) for key, value in values.items()}


def value_to_json(value: Any) -> Any:
    """One cleaned value as a form shows it and a client sends it back (see values_to_json)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def clean_field(field: Field, raw: Any) -> Any:
    """One submitted value, typed and checked against the field's type and constraints.

    Returns None for a blank value (the caller decides whether blank is allowed) and
    raises InvalidValue otherwise. `required` and `readonly` are not looked at here.
    """
    if raw is None:
        return None
    return _CLEANERS[field.type](field, raw)


# --- text -------------------------------------------------------------------------------------
def _clean_text(field: Field, raw: Any) -> str | None:
    if isinstance(raw, int) and not isinstance(raw, bool) and field.type == "string":
        raw = _int_to_str(raw)
    if not isinstance(raw, str):
        raise InvalidValue("not_text")
    raw_cap, shown = _text_caps(field)
    if len(raw) > raw_cap + 1000:  # no work at all on a megabyte
        raise InvalidValue("too_long", n=shown)
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = text.strip() if field.type == "string" else text
    if not text.strip():
        return None
    if len(text) > raw_cap:
        raise InvalidValue("too_long", n=shown)
    if _CONTROL_RE.search(text):
        raise InvalidValue("control_chars")
    if field.dict and field.dict in DICTIONARY:
        text = DICTIONARY[field.dict].validate(text)
    if field.maxlength is not None and len(text) > field.maxlength:
        raise InvalidValue("too_long", n=field.maxlength)
    if field.minlength is not None and len(text) < field.minlength:
        raise InvalidValue("too_short", n=field.minlength)
    if field.pattern is not None and not compile_pattern(field.pattern).fullmatch(text):
        raise _PatternMismatch(field.pattern_message)
    return text


def _text_caps(field: Field) -> tuple[int, int]:
    """(longest raw text looked at, the limit to name in the message).

    A dictionary value is measured after normalisation ("+86 138 0013 8000" is 11 digits),
    so its raw text is only held to the type's cap; otherwise maxlength caps the raw text.
    """
    type_cap = TEXTAREA_CAP if field.type == "textarea" else STRING_CAP
    shown = field.maxlength or type_cap
    if field.dict:
        return max(type_cap, field.maxlength or 0), shown
    return shown, shown


def _int_to_str(value: int) -> Any:
    try:
        return str(value)
    except ValueError:  # more digits than Python will print
        return value


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The compiled full-match pattern (cached; patterns come from deployed diagrams)."""
    return re.compile(pattern)


# --- numbers ----------------------------------------------------------------------------------
def _number_text(raw: str) -> str | None:
    text = raw.strip()
    if not text:
        return None
    if len(text) > NUMBER_CAP:
        raise InvalidValue("number_too_long")
    return unicodedata.normalize("NFKC", text).replace(" ", "")


def _clean_long(field: Field, raw: Any) -> int | None:
    if isinstance(raw, bool):
        raise InvalidValue("not_integer")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float | Decimal):
        finite = raw.is_finite() if isinstance(raw, Decimal) else math.isfinite(raw)
        if not (finite and raw == int(raw)):
            raise InvalidValue("not_integer")
        value = int(raw)
    elif isinstance(raw, str):
        text = _number_text(raw)
        if text is None:
            return None
        if not _INTEGER_RE.fullmatch(text):
            raise InvalidValue("not_integer")
        value = int(text.replace(",", ""))
    else:
        raise InvalidValue("not_integer")
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidValue("integer_range")
    _check_bounds(field, value, "too_small", "too_large")
    return value


def _clean_decimal(field: Field, raw: Any) -> Decimal | None:
    if isinstance(raw, bool):
        raise InvalidValue("not_number")
    if isinstance(raw, int):
        value = Decimal(raw) if abs(raw) < 10**MAX_INTEGER_DIGITS else None
        if value is None:
            raise InvalidValue("number_too_long")
    elif isinstance(raw, float):
        if not math.isfinite(raw):
            raise InvalidValue("not_number")
        value = Decimal(repr(raw))
    elif isinstance(raw, Decimal):
        if not raw.is_finite():
            raise InvalidValue("not_number")
        value = raw
    elif isinstance(raw, str):
        text = _number_text(raw)
        if text is None:
            return None
        if not _DECIMAL_RE.fullmatch(text):
            raise InvalidValue("not_number")
        try:
            value = Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise InvalidValue("not_number") from None
    else:
        raise InvalidValue("not_number")
    if value != 0 and value.adjusted() >= MAX_INTEGER_DIGITS:
        raise InvalidValue("number_too_long")
    _check_bounds(field, value, "too_small", "too_large")
    return value


def _check_bounds(field: Field, value: Any, low_code: str, high_code: str) -> None:
    if field.min is not None and value < field.min:
        raise InvalidValue(low_code, n=_show(field.min))
    if field.max is not None and value > field.max:
        raise InvalidValue(high_code, n=_show(field.max))


def _show(bound: Any) -> str:
    return bound.isoformat() if isinstance(bound, dt.date) else str(bound)


# --- boolean, date, choices, files ------------------------------------------------------------
def _clean_boolean(field: Field, raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and len(raw) <= 16:
        word = raw.strip().lower()
        if not word:
            return None
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise InvalidValue("not_boolean")


def _clean_date(field: Field, raw: Any) -> dt.date | None:
    if isinstance(raw, dt.datetime):
        value = raw.date()
    elif isinstance(raw, dt.date):
        value = raw
    elif isinstance(raw, str):
        if len(raw) > 40:
            raise InvalidValue("not_date")
        text = unicodedata.normalize("NFKC", raw).strip()
        if not text:
            return None
        value = _parse_date(text)
    else:
        raise InvalidValue("not_date")
    if value.year < 1900:
        raise InvalidValue("date_before_1900")
    _check_bounds(field, value, "date_too_early", "date_too_late")
    return value


def _parse_date(text: str) -> dt.date:
    for pattern in _DATE_RES:
        match = pattern.fullmatch(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            if 0 < year < 1900:
                raise InvalidValue("date_before_1900")
            try:
                return dt.date(year, month, day)
            except ValueError:
                break
    raise InvalidValue("not_date")


def _clean_enum(field: Field, raw: Any) -> str | None:
    if isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) < 10**18:
        raw = str(raw)
    if not isinstance(raw, str) or len(raw) > 1000:
        raise InvalidValue("invalid_choice")
    choice = raw.strip()
    if not choice:
        return None
    if choice not in field.option_ids():
        raise InvalidValue("invalid_choice")
    return choice


def _clean_file(field: Field, raw: Any) -> str | None:
    if not isinstance(raw, str) or len(raw) > 1000:
        raise InvalidValue("invalid_upload")
    upload_id = raw.strip()
    if not upload_id:
        return None
    if not _UPLOAD_ID_RE.fullmatch(upload_id):
        raise InvalidValue("invalid_upload")
    return upload_id


_CLEANERS = {
    "string": _clean_text,
    "textarea": _clean_text,
    "long": _clean_long,
    "decimal": _clean_decimal,
    "boolean": _clean_boolean,
    "date": _clean_date,
    "enum": _clean_enum,
    "file": _clean_file,
}
