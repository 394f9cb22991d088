"""The script interpreter: runs checked statements on top of the expression evaluator.

Promised: only assignment (plain, augmented, to names and to list/dict subscripts), `if`,
`for`, `while` (each with `else`), `break`, `continue`, `del` of names and subscripts,
`pass` and expression statements run; every statement and every loop iteration costs a
step, so no script outruns the step or time budget.
"""
from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from engine.errors import ExpressionFailed

from engine.sandbox.expressions import Evaluator, require


class _Break(Exception):
    """`break` unwinding to its loop."""


class _Continue(Exception):
    """`continue` unwinding to its loop."""


class Interpreter(Evaluator):
    """Evaluates expressions and executes statements for one evaluate/execute call."""

    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.tick(stmt)
            _EXEC[type(stmt)](self, stmt)

    def assign(self, node: ast.Assign) -> None:
        value = self.eval(node.value)
        for target in node.targets:
            self.bind(target, value)

    def augassign(self, node: ast.AugAssign) -> None:
        target, value = node.target, self.eval(node.value)
        if isinstance(target, ast.Name):
            self.store(target.id, self.arith(node.op, self.lookup(target.id), value))
        else:
            self.store_item(target, value, node.op)

    def if_(self, node: ast.If) -> None:
        self.block(node.body if self.truth(node.test) else node.orelse)

    def for_(self, node: ast.For) -> None:
        for item in self.iterate(self.eval(node.iter)):
            self.tick(node)
            self.bind(node.target, item)
            if not self.iteration(node.body):
                return
        self.block(node.orelse)

    def while_(self, node: ast.While) -> None:
        while self.truth(node.test):
            if not self.iteration(node.body):
                return
        self.block(node.orelse)

    def iteration(self, body: list[ast.stmt]) -> bool:
        """Run one pass of a loop body; False when it ends with `break`."""
        try:
            self.block(body)
        except _Break:
            return False
        except _Continue:
            pass
        return True

    def delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                if target.id not in self.names:
                    raise ExpressionFailed(f"未定义的名称：{target.id}")
                del self.names[target.id]  # type: ignore[attr-defined]
            else:
                container = self.eval(target.value)
                require(container, (list, dict), "删除下标")
                del container[self.index(target.slice)]

    def break_(self, node: ast.Break) -> None:
        raise _Break

    def continue_(self, node: ast.Continue) -> None:
        raise _Continue


_EXEC: dict[type, Callable[[Interpreter, Any], None]] = {
    ast.Assign: Interpreter.assign, ast.AugAssign: Interpreter.augassign,
    ast.If: Interpreter.if_, ast.For: Interpreter.for_, ast.While: Interpreter.while_,
    ast.Delete: Interpreter.delete, ast.Break: Interpreter.break_,
    ast.Continue: Interpreter.continue_,
    ast.Pass: lambda run, node: None, ast.Expr: lambda run, node: run.eval(node.value),
}
