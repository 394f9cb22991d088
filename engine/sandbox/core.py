"""The Sandbox class: its vetted functions, its budgets, and check / evaluate / execute.

Promised: what the Sandbox docstring says; conditions are run by the expression
evaluator alone, scripts by the statement interpreter on top of it.
"""
from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import ExpressionRejected
from engine.sandbox.checker import parse_checked
from engine.sandbox.expressions import Evaluator
from engine.sandbox.functions import DEFAULT_FUNCTIONS
from engine.sandbox.statements import Interpreter


class Sandbox:
    """Evaluates untrusted conditions and runs untrusted scripts within fixed budgets.

    Promised: user code never reaches eval/exec/compile; only `functions` can be called;
    only whitelisted attributes and methods of plain data types are reachable; every
    failure is ExpressionRejected (static) or ExpressionFailed (runtime) with a Chinese
    message. Budgets are per evaluate/execute call: `max_steps` counts visited syntax nodes
    plus one per element for operations that compare, hash or copy whole containers;
    `max_seconds` is wall time; `max_size` bounds string/list lengths and integer bit lengths
    (a call or condition may return at most 2 × max_size elements+chars).
    """

    def __init__(self, functions: Mapping[str, Callable] | None = None, *,
                 max_steps: int = 100_000, max_seconds: float = 1.0, max_size: int = 100_000):
        self.functions = dict(DEFAULT_FUNCTIONS if functions is None else functions)
        for name, func in self.functions.items():
            if not name.isidentifier() or name.startswith("_") or not callable(func):
                raise ValueError(f"not a valid sandbox function: {name!r}")
        self.max_steps, self.max_seconds, self.max_size = max_steps, max_seconds, max_size

    def with_functions(self, **more: Callable) -> Sandbox:
        """A copy with the same limits and these extra vetted functions (overriding)."""
        return Sandbox({**self.functions, **more}, max_steps=self.max_steps,
                       max_seconds=self.max_seconds, max_size=self.max_size)

    def check(self, source: str, mode: str = "eval") -> None:
        """Refuse (ExpressionRejected) a condition (mode "eval") or script ("exec") that
        does not parse or uses anything the interpreter does not support. Surrounding
        whitespace of a condition and common indentation of a script are ignored.
        Calling a name that is not a vetted function (`open`, `eval`, a typo) is refused
        here too, so a diagram that could only fail at run time never deploys."""
        tree = parse_checked(source, mode)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id not in self.functions):
                raise ExpressionRejected(f"不允许调用未登记的函数：{node.func.id}",
                                         getattr(node, "lineno", None))

    def evaluate(self, expression: str, names: Mapping[str, Any], *,
                 extras: Mapping[str, Any] | None = None) -> Any:
        """The value of `expression` over `names` (then read-only `extras`); plain data only.
        `names` is not modified."""
        tree = parse_checked(expression, "eval")
        run = Evaluator(self, names, extras)
        return run.guarded(lambda: run.checked(run.eval(tree.body), "表达式的结果"))

    def execute(self, script: str, names: dict[str, Any], *,
                extras: Mapping[str, Any] | None = None) -> None:
        """Run `script`; its top-level assignments and deletions land in `names`, and only
        if the whole script succeeds and `names` is then still plain data (no cycles, at
        most 10 × max_size elements+chars). `extras` are readable, never copied in."""
        tree = parse_checked(script, "exec")
        # A deep copy: a script that changes a list in place must not reach the data of
        # other tasks that share it (SpiffWorkflow copies task data shallowly).
        work = copy.deepcopy(dict(names))
        run = Interpreter(self, work, extras)

        def body() -> None:
            run.block(tree.body)
            # The whole data, not just assigned names: aliases reach anything.
            run.checked(work, "任务数据", factor=10)
        run.guarded(body)
        names.clear()
        names.update(work)
