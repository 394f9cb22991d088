"""What sandboxed code may call: the vetted functions and the per-type method whitelist.

Promised: DEFAULT_FUNCTIONS holds only side-effect-free functions over plain data; METHODS
and ATTRIBUTES are the only methods and attributes reachable on a value, keyed by its exact
type; every entry that could build a large result checks its size (see limits) before doing
the work. MUTATING and SCANNING classify method names for the checker and the step budget.
"""
from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Callable
from typing import Any

from engine.errors import ExpressionFailed

from engine.sandbox.limits import DECIMALS, check_bits, check_length, check_range, render, short

# Methods that change their receiver: refused in conditions.
MUTATING = frozenset({"append", "extend", "insert", "pop", "remove", "sort", "reverse",
                      "clear", "update", "setdefault", "add", "discard"})
# Methods that compare every element of their receiver: charged one step per element.
SCANNING = frozenset({"index", "count", "remove", "sort"})


# ---- vetted functions ---------------------------------------------------------------

def _str(value: Any = "") -> str:
    return render(value, str)


def _int(value: Any = 0, *base: int) -> int:
    if isinstance(value, decimal.Decimal) and value.is_finite():
        check_bits(value.adjusted() * math.log2(10))  # before int() builds the number
    return int(value, *base)


def _decimal(value: Any = 0) -> decimal.Decimal:
    """A Decimal rounded to 28 significant digits; floats go through their shortest repr."""
    try:
        return DECIMALS.create_decimal(repr(value) if isinstance(value, float) else value)
    except (ArithmeticError, TypeError, ValueError):
        raise ExpressionFailed(f"无法转换为小数：{short(value)}") from None


def _range(*args: int) -> list[int]:
    numbers = range(*args)
    check_range(numbers)
    return list(numbers)


def _sum(values: Any, start: Any = 0) -> Any:
    # A list or tuple start would make sum() quadratic.
    if type(start) not in (int, float, bool, decimal.Decimal, dt.timedelta):
        raise ExpressionFailed("sum 只能对数字或时间间隔求和")
    return sum(values, start)


def _contains(values: Any, item: Any) -> bool:
    """`item in values`, for diagrams whose authors prefer a function."""
    return item in values


DEFAULT_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len, "min": min, "max": max, "sum": _sum, "abs": abs, "round": round,
    "int": _int, "float": float, "str": _str, "bool": bool, "sorted": sorted, "any": any,
    "all": all, "list": list, "dict": dict, "set": set, "tuple": tuple,
    "enumerate": lambda values, start=0: list(enumerate(values, start)),
    "zip": lambda *values: list(zip(*values)), "range": _range, "decimal": _decimal,
    "date": dt.date, "datetime": dt.datetime, "timedelta": dt.timedelta, "contains": _contains,
}


# ---- methods and attributes ---------------------------------------------------------

def _str_replace(text: str, old: str, new: str, count: int = -1) -> str:
    hits = text.count(old) if count < 0 else min(text.count(old), count)
    check_length(len(text) + hits * (len(new) - len(old)), "字符串")
    return text.replace(old, new, count)


def _str_join(separator: str, items: Any) -> str:
    items = list(items)
    total = sum(len(i) for i in items if isinstance(i, str)) + len(separator) * len(items)
    check_length(total, "字符串")
    return separator.join(items)


def _padder(name: str) -> Callable[..., str]:
    method = getattr(str, name)

    def pad(text: str, width: int, *fill: str) -> str:
        check_length(width, "字符串")
        return method(text, width, *fill)
    return pad


def _strftime(value: dt.date, pattern: str) -> str:
    check_length(len(pattern) * 20, "字符串")  # one directive can expand ~20-fold
    return value.strftime(pattern)


def _list_extend(values: list, items: Any) -> None:
    items = list(items)
    check_length(len(values) + len(items), "列表")
    values.extend(items)


def _table(kind: type, names: str, **guarded: Callable[..., Any]) -> dict[str, Callable]:
    """`kind`'s own methods named in `names`, plus size-guarded replacements."""
    return {**{name: getattr(kind, name) for name in names.split()}, **guarded}


_DATE_METHODS = "isoformat weekday isoweekday replace"
METHODS: dict[type, dict[str, Callable[..., Any]]] = {
    str: _table(str, "strip lstrip rstrip lower upper title capitalize casefold startswith "
                     "endswith split rsplit splitlines partition rpartition find rfind index "
                     "rindex count isdigit isdecimal isnumeric isalpha isalnum isspace islower "
                     "isupper removeprefix removesuffix", replace=_str_replace, join=_str_join,
                **{name: _padder(name) for name in ("zfill", "ljust", "rjust", "center")}),
    list: _table(list, "append insert pop remove index count sort reverse copy clear",
                 extend=_list_extend),
    tuple: _table(tuple, "index count"),
    dict: _table(dict, "get update pop setdefault copy clear", keys=lambda d: list(d),
                 values=lambda d: list(d.values()), items=lambda d: list(d.items())),
    set: _table(set, "add discard remove union intersection difference issubset issuperset "
                     "copy clear"),
    dt.date: _table(dt.date, _DATE_METHODS, strftime=_strftime),
    dt.datetime: _table(dt.datetime, _DATE_METHODS + " date", strftime=_strftime),
    dt.timedelta: _table(dt.timedelta, "total_seconds"),
    decimal.Decimal: _table(decimal.Decimal, "quantize"),
    float: _table(float, "is_integer"),
}
ATTRIBUTES: dict[type, frozenset[str]] = {
    dt.date: frozenset({"year", "month", "day"}),
    dt.datetime: frozenset({"year", "month", "day", "hour", "minute", "second", "microsecond"}),
    dt.timedelta: frozenset({"days", "seconds", "microseconds"}),
}
