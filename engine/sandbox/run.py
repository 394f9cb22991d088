"""The state of one evaluate/execute call: its budgets, its names, its error translation.

Promised: `Run.guarded` lets only ExpressionError escape (any other exception becomes
ExpressionFailed with a Chinese one-liner) and stamps it with the line being run; inside
it the sandbox's size limit and the clerks' decimal context are active. The step budget
counts visited syntax nodes plus one per element for operations that compare, hash or
copy whole containers; the time budget is wall-clock from the start of the call.
"""
from __future__ import annotations

import ast
import decimal
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from engine.errors import ExpressionError, ExpressionFailed

from engine.sandbox.limits import (CONTAINERS, DECIMALS, active_size_limit, check_plain, short,
    weight)

if TYPE_CHECKING:
    from engine.sandbox.core import Sandbox

_EXPLAIN: list[tuple[type[BaseException], str]] = [
    (ZeroDivisionError, "除数为零"), (OverflowError, "数值溢出"), (decimal.Overflow, "数值溢出"),
    (decimal.InvalidOperation, "无效的小数运算"), (IndexError, "下标越界"),
    (RecursionError, "数据嵌套过深"), (MemoryError, "内存不足"), (TypeError, "类型错误"),
    (ValueError, "值无效"), (ArithmeticError, "算术错误"),
]


def _explain(err: Exception) -> str:
    """A Chinese one-liner for a Python exception raised while interpreting."""
    if isinstance(err, KeyError):
        return f"键不存在：{short(repr(err.args[0]) if err.args else '')}"
    for kind, text in _EXPLAIN:
        if isinstance(err, kind):
            detail = f"：{short(str(err))}" if kind in (TypeError, ValueError) else ""
            return text + detail
    return f"运行错误：{type(err).__name__}"


class Run:
    """One evaluate/execute call: the budgets and the scopes the tree walk runs in."""

    def __init__(self, sandbox: Sandbox, names: Mapping[str, Any], extras: Mapping | None):
        self.sandbox, self.names, self.extras = sandbox, names, extras or {}
        self.scopes: list[dict[str, Any]] = []   # comprehension variables, innermost last
        self.steps, self.lineno = 0, None
        self.deadline = time.monotonic() + sandbox.max_seconds

    def guarded(self, action: Callable[[], Any]) -> Any:
        """Run `action` so that only ExpressionError (with a line number) can escape."""
        try:
            with active_size_limit(self.sandbox.max_size), decimal.localcontext(DECIMALS):
                return action()
        except ExpressionError as err:
            err.lineno = err.lineno or self.lineno
            raise
        except Exception as err:
            raise ExpressionFailed(_explain(err), self.lineno) from err

    # -- budgets

    def tick(self, node: ast.AST | None, cost: int = 1) -> None:
        """Spend `cost` steps at `node` (None: at the current line) and check the clock."""
        self.lineno = getattr(node, "lineno", self.lineno)
        self.steps += cost
        if self.steps > self.sandbox.max_steps:
            raise ExpressionFailed(f"运算步数超过上限（{self.sandbox.max_steps}）")
        if time.monotonic() > self.deadline:
            raise ExpressionFailed(f"运行时间超过上限（{self.sandbox.max_seconds:g} 秒）")

    def charge(self, *values: Any) -> None:
        """Charge one step per element reachable from each container, before an operation
        that compares or hashes them all (shared references are counted every time, as
        the operation would visit them)."""
        for value in values:
            if type(value) in CONTAINERS:
                remaining = self.sandbox.max_steps - self.steps
                self.tick(None, weight(value, remaining, text=False))

    def checked(self, value: Any, label: str, factor: int = 2) -> Any:
        """`value` if it is plain data within factor × max_size (see limits.check_plain)."""
        return check_plain(value, label, factor, lambda: self.tick(None, 0))

    # -- names

    def defined(self, name: str) -> bool:
        return any(name in s for s in self.scopes) or name in self.names or name in self.extras

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        for names in (self.names, self.extras):
            if name in names:
                return names[name]
        raise ExpressionFailed(f"未定义的名称：{name}")

    def store(self, name: str, value: Any) -> None:
        if self.scopes:
            self.scopes[-1][name] = value
        else:
            self.names[name] = value  # type: ignore[index]  # statements exist only in scripts
