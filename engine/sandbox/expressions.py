"""The expression evaluator: walks a checked expression tree within a Run's budgets.

Promised: only names in scope, the sandbox's functions, and the whitelisted methods and
attributes of plain data (functions.METHODS / ATTRIBUTES) are reachable; a function can be
passed only as `key=` and so never stored, printed or returned; every value an operator,
function or method produces is plain data, and size limits are checked before the work.
Generator expressions are evaluated eagerly, as lists.
"""
from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

from engine.errors import ExpressionFailed

from engine.sandbox.functions import ATTRIBUTES, METHODS, SCANNING
from engine.sandbox.limits import (PLAIN_TYPES, check_format_spec, check_length, guard_arith,
    render, short)
from engine.sandbox.run import Run

_BINOPS = {
    ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub), ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv), ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod), ast.Pow: ("**", operator.pow),
    ast.LShift: ("<<", operator.lshift), ast.RShift: (">>", operator.rshift),
    ast.BitOr: ("|", operator.or_), ast.BitXor: ("^", operator.xor),
    ast.BitAnd: ("&", operator.and_),
}
_UNARY = {ast.Not: ("not ", operator.not_), ast.USub: ("-", operator.neg),
          ast.UAdd: ("+", operator.pos), ast.Invert: ("~", operator.invert)}
_COMPARE = {
    ast.Eq: ("==", operator.eq), ast.NotEq: ("!=", operator.ne), ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le), ast.Gt: (">", operator.gt), ast.GtE: (">=", operator.ge),
    ast.In: ("in", lambda a, b: a in b), ast.NotIn: ("not in", lambda a, b: a not in b),
    ast.Is: ("is", operator.is_), ast.IsNot: ("is not", operator.is_not),
}


def type_name(value: Any) -> str:
    return type(value).__name__


def require(value: Any, kinds: tuple[type, ...], what: str) -> None:
    """Refuse to do `what` (取下标, 删除下标 …) to a value not of exactly one of `kinds`."""
    if type(value) not in kinds:
        raise ExpressionFailed(f"不支持对 {type_name(value)} 类型的值{what}")


class Evaluator(Run):
    """Evaluates expressions, and binds names and subscripts, for one call."""

    def eval(self, node: ast.AST) -> Any:
        self.tick(node)
        return _EVAL[type(node)](self, node)

    def truth(self, node: ast.AST) -> bool:
        return bool(self.eval(node))

    # -- operators

    def boolop(self, node: ast.BoolOp) -> Any:
        value = None
        for operand in node.values:
            value = self.eval(operand)
            if isinstance(node.op, ast.And) != bool(value):  # `and` stops at falsy, `or` at truthy
                break
        return value

    def binop(self, node: ast.BinOp) -> Any:
        return self.arith(node.op, self.eval(node.left), self.eval(node.right))

    def arith(self, op: ast.operator, left: Any, right: Any) -> Any:
        symbol, func = _BINOPS[type(op)]
        guard_arith(symbol, left, right)
        try:
            result = func(left, right)
        except TypeError:
            raise ExpressionFailed(
                f"类型不匹配：不能计算 {type_name(left)} {symbol} {type_name(right)}") from None
        if type(result) not in PLAIN_TYPES:
            raise ExpressionFailed(f"运算结果类型不允许：{type_name(result)}")
        return result

    def unaryop(self, node: ast.UnaryOp) -> Any:
        value = self.eval(node.operand)
        symbol, func = _UNARY[type(node.op)]
        try:
            return func(value)
        except TypeError:
            raise ExpressionFailed(f"类型不匹配：不能计算 {symbol}{type_name(value)}") from None

    def compare(self, node: ast.Compare) -> bool:
        left = self.eval(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.eval(right_node)
            symbol, func = _COMPARE[type(op)]
            self.charge(left, right)
            try:
                if not func(left, right):
                    return False
            except TypeError:
                raise ExpressionFailed(
                    f"类型不匹配：不能比较 {type_name(left)} {symbol} {type_name(right)}") from None
            left = right
        return True

    def ifexp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body if self.truth(node.test) else node.orelse)

    # -- subscripts and attributes

    def index(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Slice):
            return slice(*(None if p is None else self.eval(p)
                           for p in (node.lower, node.upper, node.step)))
        return self.key(node)  # hashing a nested tuple visits all of it

    def subscript(self, node: ast.Subscript) -> Any:
        container, key = self.eval(node.value), self.index(node.slice)
        require(container, (str, list, tuple, dict), "取下标")
        return container[key]

    def attribute(self, node: ast.Attribute) -> Any:
        value, attr = self.eval(node.value), node.attr
        if type(value) is dict and attr in value:
            return value[attr]
        if attr in ATTRIBUTES.get(type(value), ()):
            return getattr(value, attr)
        if attr in METHODS.get(type(value), {}):
            raise ExpressionFailed(f"方法只能直接调用：{type_name(value)}.{attr}")
        if type(value) is dict:
            raise ExpressionFailed(f"字典中没有键：{attr}")
        raise ExpressionFailed(f"不支持的属性：{type_name(value)}.{attr}")

    # -- calls

    def arguments(self, node: ast.Call) -> tuple[list, dict]:
        """Evaluated call arguments. Only `key=` may name a function (sorted(x, key=len)), so
        functions can never be stored, printed or returned."""
        args = [self.eval(a) for a in node.args]
        kwargs = {}
        for k in node.keywords:
            value = k.value
            if k.arg == "key" and isinstance(value, ast.Name) and not self.defined(value.id) \
                    and value.id in self.sandbox.functions:
                kwargs[k.arg] = self.sandbox.functions[value.id]
            else:
                kwargs[k.arg] = self.eval(value)
        return args, kwargs

    def call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Attribute):
            return self.call_method(node)
        name = node.func.id
        func = self.sandbox.functions.get(name)
        if func is None:
            raise ExpressionFailed(f"未定义的函数：{name}")
        args, kwargs = self.arguments(node)
        if name not in ("len", "bool"):  # the others may compare, hash or copy every element
            self.charge(*args, *kwargs.values())
        return self.checked(self.invoke(name, func, args, kwargs), f"函数 {name} 的返回值")

    def call_method(self, node: ast.Call) -> Any:
        receiver, attr = self.eval(node.func.value), node.func.attr
        method = METHODS.get(type(receiver), {}).get(attr)
        if method is None:
            raise ExpressionFailed(f"不支持的方法：{type_name(receiver)}.{attr}")
        args, kwargs = self.arguments(node)
        self.charge(*args, *kwargs.values(), *([receiver] if attr in SCANNING else []))
        result = self.invoke(f"{type_name(receiver)}.{attr}", method, [receiver, *args], kwargs)
        if type(result) not in PLAIN_TYPES:
            raise ExpressionFailed(f"方法 {attr} 的返回值类型不允许：{type_name(result)}")
        return result

    def invoke(self, label: str, func: Callable, args: list, kwargs: dict) -> Any:
        try:
            return func(*args, **kwargs)
        except (TypeError, ValueError) as err:
            raise ExpressionFailed(f"调用 {label} 出错：{short(str(err))}") from err

    # -- f-strings

    def joinedstr(self, node: ast.JoinedStr) -> str:
        parts: list[str] = []
        for part in node.values:
            parts.append(part.value if isinstance(part, ast.Constant) else self.formatted(part))
            check_length(sum(map(len, parts)), "字符串")
        return "".join(parts)

    def formatted(self, node: ast.FormattedValue) -> str:
        self.tick(node)
        value = self.eval(node.value)
        spec = self.eval(node.format_spec) if node.format_spec else ""
        check_format_spec(spec)
        convert = {ord("r"): repr, ord("a"): ascii, ord("s"): str}.get(node.conversion)
        if convert:
            value = render(value, convert)
        return render(value, lambda v: format(v, spec))

    # -- displays and comprehensions

    def collection(self, node: ast.AST) -> Any:
        items = [self.eval(e) for e in node.elts]
        if isinstance(node, ast.Set):
            self.charge(*items)
        return {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)](items)

    def key(self, node: ast.AST) -> Any:
        """A value about to be hashed (set element, dict key, subscript)."""
        value = self.eval(node)
        self.charge(value)
        return value

    def dict_display(self, node: ast.Dict) -> dict:
        return {self.key(k): self.eval(v) for k, v in zip(node.keys, node.values)}

    def comprehension(self, node: ast.AST) -> Any:
        out: Any = {ast.SetComp: set, ast.DictComp: dict}.get(type(node), list)()

        def emit() -> None:
            if isinstance(out, dict):
                out[self.key(node.key)] = self.eval(node.value)
            elif isinstance(out, set):
                out.add(self.key(node.elt))
            else:
                out.append(self.eval(node.elt))
        self.scopes.append({})
        try:
            self.generate(node.generators, 0, emit)
        finally:
            self.scopes.pop()
        return out  # generator expressions are evaluated eagerly, as lists

    def generate(self, generators: list[ast.comprehension], index: int, emit: Callable) -> None:
        if index == len(generators):
            return emit()
        gen = generators[index]
        for item in self.iterate(self.eval(gen.iter)):
            self.tick(gen)
            self.bind(gen.target, item)
            if all(self.truth(cond) for cond in gen.ifs):
                self.generate(generators, index + 1, emit)

    def iterate(self, value: Any) -> Any:
        if type(value) in (list, tuple, str):
            return value
        if type(value) in (dict, set):
            return list(value)
        raise ExpressionFailed(f"不能遍历 {type_name(value)} 类型的值")

    # -- binding

    def bind(self, target: ast.AST, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.store(target.id, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = list(self.iterate(value))
            if len(items) != len(target.elts):
                raise ExpressionFailed(
                    f"解包数量不匹配：需要 {len(target.elts)} 个值，得到 {len(items)} 个")
            for sub, item in zip(target.elts, items):
                self.bind(sub, item)
        else:
            self.store_item(target, value)

    def store_item(self, target: ast.Subscript, value: Any,
                   op: ast.operator | None = None) -> None:
        """`container[key] = value` (or `op=` it), for list and dict containers only."""
        container, key = self.eval(target.value), self.index(target.slice)
        require(container, (list, dict), "下标赋值")
        if op is not None:
            value = self.arith(op, container[key], value)
        if isinstance(key, slice):
            check_length(len(container) + len(self.iterate(value)), "列表")
        container[key] = value


_EVAL: dict[type, Callable[[Evaluator, Any], Any]] = {
    ast.Constant: lambda run, node: node.value, ast.Name: lambda run, node: run.lookup(node.id),
    ast.BoolOp: Evaluator.boolop, ast.BinOp: Evaluator.binop, ast.UnaryOp: Evaluator.unaryop,
    ast.Compare: Evaluator.compare, ast.IfExp: Evaluator.ifexp,
    ast.Subscript: Evaluator.subscript, ast.Attribute: Evaluator.attribute,
    ast.Call: Evaluator.call, ast.JoinedStr: Evaluator.joinedstr,
    ast.List: Evaluator.collection, ast.Tuple: Evaluator.collection,
    ast.Set: Evaluator.collection, ast.Dict: Evaluator.dict_display,
    ast.ListComp: Evaluator.comprehension, ast.SetComp: Evaluator.comprehension,
    ast.DictComp: Evaluator.comprehension, ast.GeneratorExp: Evaluator.comprehension,
}
