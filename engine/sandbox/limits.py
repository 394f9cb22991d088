"""Size limits and plain-data checks shared by every part of the sandbox.

Promised: the fixed limits on source (characters, syntax nodes, nesting) live here; every
size check raises ExpressionFailed with a Chinese "结果过大" message *before* the expensive
work is done; runtime checks read the limit of the sandbox currently running, which
`active_size_limit` installs for the duration of one evaluate/execute call.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import decimal
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from engine.errors import ExpressionFailed

MAX_SOURCE = 20_000   # characters of one condition or script
MAX_DEPTH = 100       # nesting of syntax nodes
MAX_NODES = 10_000    # syntax nodes in one condition or script
MAX_NESTING = 50      # nesting of data values a call may produce or leave behind

PLAIN_TYPES = frozenset({type(None), bool, int, float, str, list, tuple, dict, set,
                         dt.date, dt.datetime, dt.timedelta, decimal.Decimal})
CONTAINERS = (list, tuple, dict, set)
_KINDS = {str: "字符串", list: "列表", tuple: "元组"}  # sequences, as messages name them
_SEQUENCES = tuple(_KINDS)
# 四舍五入 as clerks expect; a small exponent range keeps every Decimal cheap to print.
DECIMALS = decimal.Context(
    prec=28, rounding=decimal.ROUND_HALF_UP, Emax=9_999, Emin=-9_999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])
# Lets the vetted functions see the max_size of the sandbox currently running.
_max_size: contextvars.ContextVar[int] = contextvars.ContextVar("sandbox_max_size",
                                                               default=100_000)


@contextlib.contextmanager
def active_size_limit(max_size: int) -> Iterator[None]:
    """Make `max_size` the limit every check below applies, until the block ends."""
    token = _max_size.set(max_size)
    try:
        yield
    finally:
        _max_size.reset(token)


def weight(value: Any, cap: int, *, text: bool = True,
           visit: Callable[[Any, int], None] | None = None) -> int:
    """Size of `value` as it would be serialised: one per element (plus its characters when
    `text`), shared or cyclic references counted each time; stops early once past `cap`.
    `visit(item, depth)` sees every item counted."""
    total, stack = 1, [(value, 0)]
    while stack and total <= cap:
        item, depth = stack.pop()
        if visit:
            visit(item, depth)
        if type(item) is str and text:
            total += len(item)
        elif type(item) in CONTAINERS:
            children = [x for pair in item.items() for x in pair] if type(item) is dict else item
            total += len(children)
            if total <= cap:
                stack.extend((child, depth + 1) for child in children)
    return total


def check_length(length: int, kind: str) -> None:
    """Refuse a `kind` (字符串, 列表 …) of `length` elements or characters."""
    limit = _max_size.get()
    if length > limit:
        raise ExpressionFailed(f"结果过大：{kind}长度超过 {limit}")


def check_bits(bits: float) -> None:
    """Refuse an integer of `bits` binary digits."""
    limit = _max_size.get()
    if bits > limit:
        raise ExpressionFailed(f"结果过大：整数超过 {limit} 个二进制位")


def check_range(numbers: range) -> None:
    """Refuse a range that would make too long a list."""
    limit = _max_size.get()
    if numbers[limit:limit + 1]:  # len() itself would overflow on range(10**20)
        raise ExpressionFailed(f"结果过大：range 长度超过 {limit}")


def check_format_spec(spec: str) -> None:
    """Refuse a format spec whose width or precision would pad or print too much."""
    limit = _max_size.get()
    for width in re.findall(r"\d+", spec):
        if len(width) > 9 or int(width) > limit:
            raise ExpressionFailed(f"结果过大：格式宽度 {short(width)} 超过 {limit}")


def render(value: Any, convert: Callable[[Any], str]) -> str:
    """`convert(value)`, refusing before the work if the text would be too long."""
    if type(value) in CONTAINERS:
        check_length(weight(value, _max_size.get()), "字符串")
    text = convert(value)
    check_length(len(text), "字符串")
    return text


def guard_arith(symbol: str, left: Any, right: Any) -> None:
    """Refuse, before computing, an arithmetic result that would be too large."""
    if symbol == "%" and isinstance(left, str):
        raise ExpressionFailed("不支持用 % 格式化字符串，请使用 f-string")
    if symbol == "*":
        if isinstance(left, _SEQUENCES) and _is_int(right):
            _check_sequence(left, len(left) * right)
        elif isinstance(right, _SEQUENCES) and _is_int(left):
            _check_sequence(right, len(right) * left)
        elif _is_int(left) and _is_int(right):
            check_bits(left.bit_length() + right.bit_length())
    elif symbol == "+" and isinstance(left, _SEQUENCES) and type(left) is type(right):
        _check_sequence(left, len(left) + len(right))
    elif symbol == "**" and _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
        check_bits(right * math.log2(abs(left)))
    elif symbol == "<<" and _is_int(left) and _is_int(right) and right > 0:
        check_bits(left.bit_length() + right)


def _check_sequence(like: Any, length: int) -> None:
    check_length(length, _KINDS.get(type(like), "序列"))


def _is_int(value: Any) -> bool:
    return type(value) in (int, bool)


def check_plain(value: Any, label: str, factor: int, on_progress: Callable[[], None]) -> Any:
    """`value` if it is plain data of bounded nesting weighing at most factor × max_size
    (elements + characters, shared references counted each time), else fail.
    `on_progress` is called every 4096 items, so big data still sees the clock."""
    cap = factor * _max_size.get()
    seen = 0

    def visit(item: Any, depth: int) -> None:
        nonlocal seen
        if type(item) not in PLAIN_TYPES:
            raise ExpressionFailed(f"{label}包含不允许的值类型：{type(item).__name__}")
        if depth > MAX_NESTING:
            raise ExpressionFailed(f"结果过大：数据嵌套超过 {MAX_NESTING} 层")
        if type(item) is int:
            check_bits(item.bit_length())
        seen += 1
        if seen % 4096 == 0:
            on_progress()
    if weight(value, cap, visit=visit) > cap:
        raise ExpressionFailed(f"结果过大：{label}超过 {cap} 个元素")
    return value


def short(value: Any) -> str:
    """`value` as text of at most 60 characters, for error messages."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
