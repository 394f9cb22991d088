"""Restricted evaluator for the conditions and scripts inside uploaded BPMN diagrams.

Diagrams come from analysts, so their code is untrusted. None of it is ever given to
eval/exec/compile: the source is parsed with `ast.parse`, checked against a whitelist of
node types (the checked tree is cached per source), then interpreted node by node under a
step budget, a wall-clock budget and size limits. Only vetted functions can be called, and
only whitelisted attributes and methods of plain data types can be reached.
"""
from __future__ import annotations

import ast
import contextvars
import datetime as dt
import decimal
import functools
import math
import operator
import re
import textwrap
import time
from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import ExpressionError, ExpressionFailed, ExpressionRejected

MAX_SOURCE = 20_000   # characters of one condition or script
MAX_DEPTH = 100       # nesting of syntax nodes
MAX_NODES = 10_000    # syntax nodes in one condition or script
MAX_NESTING = 50      # nesting of data values a call may produce or leave behind

PLAIN_TYPES = frozenset({type(None), bool, int, float, str, list, tuple, dict, set,
                         dt.date, dt.datetime, dt.timedelta, decimal.Decimal})
_CONTAINERS = (list, tuple, dict, set)
_SEQUENCES = (str, list, tuple)
_KINDS = {str: "字符串", list: "列表", tuple: "元组"}
# 四舍五入 as clerks expect; a small exponent range keeps every Decimal cheap to print.
_DECIMALS = decimal.Context(
    prec=28, rounding=decimal.ROUND_HALF_UP, Emax=9_999, Emin=-9_999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])
# Lets the vetted functions below see the max_size of the sandbox currently running.
_max_size: contextvars.ContextVar[int] = contextvars.ContextVar("sandbox_max_size",
                                                               default=100_000)


# ---- static check -------------------------------------------------------------------

_ALLOWED = frozenset({
    ast.Expression, ast.Module, ast.Constant, ast.Name, ast.Load, ast.Store, ast.Del,
    ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv,
    ast.Mod, ast.Pow, ast.LShift, ast.RShift, ast.BitOr, ast.BitXor, ast.BitAnd,
    ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Invert, ast.Compare, ast.Eq, ast.NotEq,
    ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot, ast.IfExp,
    ast.Subscript, ast.Slice, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.JoinedStr,
    ast.FormattedValue, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
    ast.comprehension, ast.Call, ast.keyword, ast.Attribute,
    ast.Assign, ast.AugAssign, ast.If, ast.For, ast.While, ast.Break, ast.Continue,
    ast.Pass, ast.Expr, ast.Delete,
})
_NODE_NAMES = {
    ast.Lambda: "lambda 表达式", ast.Import: "import 导入", ast.ImportFrom: "import 导入",
    ast.FunctionDef: "函数定义 def", ast.AsyncFunctionDef: "函数定义 async def",
    ast.ClassDef: "类定义 class", ast.With: "with 语句", ast.AsyncWith: "with 语句",
    ast.Try: "try 语句", ast.TryStar: "try 语句", ast.Raise: "raise 语句",
    ast.Global: "global 声明", ast.Nonlocal: "nonlocal 声明", ast.Yield: "yield",
    ast.YieldFrom: "yield from", ast.Await: "await", ast.AsyncFor: "async for",
    ast.NamedExpr: "海象运算符 :=", ast.Assert: "assert 语句", ast.Starred: "星号展开 *",
    ast.AnnAssign: "带类型注解的赋值", ast.Match: "match 语句", ast.MatMult: "矩阵乘法 @",
}
_CONSTANT_TYPES = (type(None), bool, int, float, str)
_SCANNING = frozenset({"index", "count", "remove", "sort"})  # compare every element
_MUTATING = frozenset({"append", "extend", "insert", "pop", "remove", "sort", "reverse",
                       "clear", "update", "setdefault", "add", "discard"})


@functools.lru_cache(maxsize=2048)
def _parse(source: str, mode: str) -> ast.AST:
    """Parse and check `source`; the cached tree is shared, so it is never mutated."""
    if len(source) > MAX_SOURCE:
        raise ExpressionRejected(f"表达式过长：超过 {MAX_SOURCE} 个字符")
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as err:
        raise ExpressionRejected(f"语法错误：{err.msg}", err.lineno) from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionRejected(f"表达式嵌套过深：超过 {MAX_DEPTH} 层") from None
    _check_tree(tree, mode)
    return tree


def _check_tree(tree: ast.AST, mode: str) -> None:
    # Iterative on purpose: the tree may be thousands of levels deep before we refuse it.
    stack, count, found = [(tree, 0, False, (0,))], 0, []
    while stack:
        node, depth, in_loop, position = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionRejected(f"表达式过于复杂：超过 {MAX_NODES} 个语法节点")
        if depth > MAX_DEPTH:
            raise ExpressionRejected(f"表达式嵌套过深：超过 {MAX_DEPTH} 层", position[0] or None)
        if hasattr(node, "lineno"):  # operators, keywords etc. borrow their parent's place
            position = (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)
        if problem := _problem(node, mode, in_loop):
            found.append((position, problem))
            if type(node) not in _ALLOWED:
                continue
        body = {id(n) for n in node.body} if isinstance(node, (ast.For, ast.While)) else ()
        stack.extend((child, depth + 1, in_loop or id(child) in body, position)
                     for child in ast.iter_child_nodes(node))
    if found:  # report the problem that comes first in the source
        position, problem = min(found)
        raise ExpressionRejected(problem, position[0] or None)


def _problem(node: ast.AST, mode: str, in_loop: bool) -> str | None:
    """What is wrong with this node, if anything."""
    if type(node) not in _ALLOWED:
        return f"不支持的语法：{_NODE_NAMES.get(type(node), type(node).__name__)}"
    match node:
        case ast.Name(id=name) if name.startswith("__"):
            return f"不允许使用以双下划线开头的名称：{name}"
        case ast.Attribute(attr=attr) if attr.startswith("_"):
            return f"不允许访问以下划线开头的属性：{attr}"
        case ast.Attribute(ctx=ast.Store() | ast.Del()):
            return f"不支持给属性赋值：{node.attr}"
        case ast.Constant(value=value) if type(value) not in _CONSTANT_TYPES:
            return f"不支持的常量类型：{type(value).__name__}"
        case ast.Call(func=ast.Attribute(attr="format" | "format_map" as attr)):
            return f"不支持的方法：{attr}（请使用 f-string）"
        case ast.Call(func=ast.Attribute(attr=attr)) if mode == "eval" and attr in _MUTATING:
            return f"条件表达式中不允许修改数据：{attr}"
        case ast.Call(func=func) if not isinstance(func, (ast.Name, ast.Attribute)):
            return "不支持的调用形式：只能调用允许的函数或方法"
        case ast.Call(keywords=keywords) if any(k.arg is None for k in keywords):
            return "不支持的语法：参数展开 **"
        case ast.Dict(keys=keys) if any(k is None for k in keys):
            return "不支持的语法：字典展开 **"
        case ast.comprehension(is_async=1):
            return "不支持的语法：async 推导式"
        case ast.comprehension(target=target) if not _names_only(target):
            return "推导式的循环变量只能是名称"
        case ast.Break() | ast.Continue() if not in_loop:
            return f"{'break' if isinstance(node, ast.Break) else 'continue'} 只能用在循环中"
        case ast.Delete(targets=targets) if any(
                not isinstance(t, (ast.Name, ast.Subscript)) for t in targets):
            return "del 只能删除变量或下标"
    return None


def _names_only(target: ast.AST) -> bool:
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_names_only(t) for t in target.elts)
    return isinstance(target, ast.Name)


# ---- size accounting ----------------------------------------------------------------

def _weight(value: Any, cap: int, *, text: bool = True,
            visit: Callable[[Any, int], None] | None = None) -> int:
    """Size of `value` as it would be serialised: one per element (plus its characters when
    `text`), shared or cyclic references counted each time; stops early once past `cap`."""
    weight, stack = 1, [(value, 0)]
    while stack and weight <= cap:
        item, depth = stack.pop()
        if visit:
            visit(item, depth)
        if type(item) is str and text:
            weight += len(item)
        elif type(item) in _CONTAINERS:
            children = [x for pair in item.items() for x in pair] if type(item) is dict else item
            weight += len(children)
            if weight <= cap:
                stack.extend((child, depth + 1) for child in children)
    return weight


def _check_length(length: int, kind: str) -> None:
    limit = _max_size.get()
    if length > limit:
        raise ExpressionFailed(f"结果过大：{kind}长度超过 {limit}")


def _check_bits(bits: float) -> None:
    limit = _max_size.get()
    if bits > limit:
        raise ExpressionFailed(f"结果过大：整数超过 {limit} 个二进制位")


def _render(value: Any, convert: Callable[[Any], str]) -> str:
    """`convert(value)`, refusing before the work if the text would be too long."""
    limit = _max_size.get()
    if type(value) in _CONTAINERS and _weight(value, limit) > limit:
        raise ExpressionFailed(f"结果过大：字符串长度超过 {limit}")
    text = convert(value)
    _check_length(len(text), "字符串")
    return text


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- vetted functions and methods ---------------------------------------------------

def _str(value: Any = "") -> str:
    return _render(value, str)


def _int(value: Any = 0, *base: int) -> int:
    if isinstance(value, decimal.Decimal) and value.is_finite():
        _check_bits(value.adjusted() * math.log2(10))  # before int() builds the number
    return int(value, *base)


def _decimal(value: Any = 0) -> decimal.Decimal:
    """A Decimal rounded to 28 significant digits; floats go through their shortest repr."""
    try:
        return _DECIMALS.create_decimal(repr(value) if isinstance(value, float) else value)
    except (ArithmeticError, TypeError, ValueError):
        raise ExpressionFailed(f"无法转换为小数：{_short(value)}") from None


def _range(*args: int) -> list[int]:
    numbers, limit = range(*args), _max_size.get()
    if numbers[limit:limit + 1]:  # len() itself would overflow on range(10**20)
        raise ExpressionFailed(f"结果过大：range 长度超过 {limit}")
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


def _str_replace(text: str, old: str, new: str, count: int = -1) -> str:
    hits = text.count(old) if count < 0 else min(text.count(old), count)
    _check_length(len(text) + hits * (len(new) - len(old)), "字符串")
    return text.replace(old, new, count)


def _str_join(separator: str, items: Any) -> str:
    items = list(items)
    total = sum(len(i) for i in items if isinstance(i, str)) + len(separator) * len(items)
    _check_length(total, "字符串")
    return separator.join(items)


def _padder(name: str) -> Callable[..., str]:
    method = getattr(str, name)

    def pad(text: str, width: int, *fill: str) -> str:
        _check_length(width, "字符串")
        return method(text, width, *fill)
    return pad


def _strftime(value: dt.date, pattern: str) -> str:
    _check_length(len(pattern) * 20, "字符串")  # one directive can expand ~20-fold
    return value.strftime(pattern)


def _list_extend(values: list, items: Any) -> None:
    items = list(items)
    _check_length(len(values) + len(items), "列表")
    values.extend(items)


def _table(kind: type, names: str, **guarded: Callable[..., Any]) -> dict[str, Callable]:
    return {**{name: getattr(kind, name) for name in names.split()}, **guarded}


_DATE_METHODS = "isoformat weekday isoweekday replace"
_METHODS: dict[type, dict[str, Callable[..., Any]]] = {
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
_ATTRIBUTES: dict[type, frozenset[str]] = {
    dt.date: frozenset({"year", "month", "day"}),
    dt.datetime: frozenset({"year", "month", "day", "hour", "minute", "second", "microsecond"}),
    dt.timedelta: frozenset({"days", "seconds", "microseconds"}),
}


# ---- interpreter --------------------------------------------------------------------

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
_EXPLAIN: list[tuple[type[BaseException], str]] = [
    (ZeroDivisionError, "除数为零"), (OverflowError, "数值溢出"), (decimal.Overflow, "数值溢出"),
    (decimal.InvalidOperation, "无效的小数运算"), (IndexError, "下标越界"),
    (RecursionError, "数据嵌套过深"), (MemoryError, "内存不足"), (TypeError, "类型错误"),
    (ValueError, "值无效"), (ArithmeticError, "算术错误"),
]


def _explain(err: Exception) -> str:
    """A Chinese one-liner for a Python exception raised while interpreting."""
    if isinstance(err, KeyError):
        return f"键不存在：{_short(repr(err.args[0]) if err.args else '')}"
    for kind, text in _EXPLAIN:
        if isinstance(err, kind):
            detail = f"：{_short(str(err))}" if kind in (TypeError, ValueError) else ""
            return text + detail
    return f"运行错误：{type(err).__name__}"


def _tn(value: Any) -> str:
    return type(value).__name__


def _is_int(value: Any) -> bool:
    return type(value) in (int, bool)


def _require(value: Any, kinds: tuple[type, ...], what: str) -> None:
    if type(value) not in kinds:
        raise ExpressionFailed(f"不支持对 {_tn(value)} 类型的值{what}")


class _Break(Exception):
    """`break` unwinding to its loop."""


class _Continue(Exception):
    """`continue` unwinding to its loop."""


class _Run:
    """One evaluate/execute call: the budgets, the scopes, and the tree walk itself."""

    def __init__(self, sandbox: Sandbox, names: Mapping[str, Any], extras: Mapping | None):
        self.sandbox, self.names, self.extras = sandbox, names, extras or {}
        self.scopes: list[dict[str, Any]] = []   # comprehension variables, innermost last
        self.steps, self.lineno = 0, None
        self.deadline = time.monotonic() + sandbox.max_seconds

    def guarded(self, action: Callable[[], Any]) -> Any:
        """Run `action` so that only ExpressionError (with a line number) can escape."""
        token = _max_size.set(self.sandbox.max_size)
        try:
            with decimal.localcontext(_DECIMALS):
                return action()
        except ExpressionError as err:
            err.lineno = err.lineno or self.lineno
            raise
        except Exception as err:
            raise ExpressionFailed(_explain(err), self.lineno) from err
        finally:
            _max_size.reset(token)

    def tick(self, node: ast.AST | None, cost: int = 1) -> None:
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
            if type(value) in _CONTAINERS:
                remaining = self.sandbox.max_steps - self.steps
                self.tick(None, _weight(value, remaining, text=False))

    def checked(self, value: Any, label: str, factor: int = 2) -> Any:
        """`value` if it is plain data of bounded nesting weighing at most factor × max_size
        (elements + characters, shared references counted each time), else fail."""
        limit, cap = self.sandbox.max_size, factor * self.sandbox.max_size
        seen = 0

        def visit(item: Any, depth: int) -> None:
            nonlocal seen
            if type(item) not in PLAIN_TYPES:
                raise ExpressionFailed(f"{label}包含不允许的值类型：{type(item).__name__}")
            if depth > MAX_NESTING:
                raise ExpressionFailed(f"结果过大：数据嵌套超过 {MAX_NESTING} 层")
            if type(item) is int and item.bit_length() > limit:
                raise ExpressionFailed(f"结果过大：整数超过 {limit} 个二进制位")
            seen += 1
            if seen % 4096 == 0:
                self.tick(None, 0)  # big data: keep an eye on the clock
        if _weight(value, cap, visit=visit) > cap:
            raise ExpressionFailed(f"结果过大：{label}超过 {cap} 个元素")
        return value

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

    # -- expressions

    def eval(self, node: ast.AST) -> Any:
        self.tick(node)
        return _EVAL[type(node)](self, node)

    def truth(self, node: ast.AST) -> bool:
        return bool(self.eval(node))

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
        _guard_arith(symbol, left, right)
        try:
            result = func(left, right)
        except TypeError:
            raise ExpressionFailed(f"类型不匹配：不能计算 {_tn(left)} {symbol} {_tn(right)}") from None
        if type(result) not in PLAIN_TYPES:
            raise ExpressionFailed(f"运算结果类型不允许：{_tn(result)}")
        return result

    def unaryop(self, node: ast.UnaryOp) -> Any:
        value = self.eval(node.operand)
        symbol, func = _UNARY[type(node.op)]
        try:
            return func(value)
        except TypeError:
            raise ExpressionFailed(f"类型不匹配：不能计算 {symbol}{_tn(value)}") from None

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
                    f"类型不匹配：不能比较 {_tn(left)} {symbol} {_tn(right)}") from None
            left = right
        return True

    def ifexp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body if self.truth(node.test) else node.orelse)

    def index(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Slice):
            return slice(*(None if p is None else self.eval(p)
                           for p in (node.lower, node.upper, node.step)))
        key = self.eval(node)
        self.charge(key)  # hashing a nested tuple visits all of it
        return key

    def subscript(self, node: ast.Subscript) -> Any:
        container, key = self.eval(node.value), self.index(node.slice)
        _require(container, (str, list, tuple, dict), "取下标")
        return container[key]

    def attribute(self, node: ast.Attribute) -> Any:
        value, attr = self.eval(node.value), node.attr
        if type(value) is dict and attr in value:
            return value[attr]
        if attr in _ATTRIBUTES.get(type(value), ()):
            return getattr(value, attr)
        if attr in _METHODS.get(type(value), {}):
            raise ExpressionFailed(f"方法只能直接调用：{_tn(value)}.{attr}")
        if type(value) is dict:
            raise ExpressionFailed(f"字典中没有键：{attr}")
        raise ExpressionFailed(f"不支持的属性：{_tn(value)}.{attr}")

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
        method = _METHODS.get(type(receiver), {}).get(attr)
        if method is None:
            raise ExpressionFailed(f"不支持的方法：{_tn(receiver)}.{attr}")
        args, kwargs = self.arguments(node)
        self.charge(*args, *kwargs.values(), *([receiver] if attr in _SCANNING else []))
        result = self.invoke(f"{_tn(receiver)}.{attr}", method, [receiver, *args], kwargs)
        if type(result) not in PLAIN_TYPES:
            raise ExpressionFailed(f"方法 {attr} 的返回值类型不允许：{_tn(result)}")
        return result

    def invoke(self, label: str, func: Callable, args: list, kwargs: dict) -> Any:
        try:
            return func(*args, **kwargs)
        except (TypeError, ValueError) as err:
            raise ExpressionFailed(f"调用 {label} 出错：{_short(str(err))}") from err

    def joinedstr(self, node: ast.JoinedStr) -> str:
        parts: list[str] = []
        for part in node.values:
            parts.append(part.value if isinstance(part, ast.Constant) else self.formatted(part))
            _check_length(sum(map(len, parts)), "字符串")
        return "".join(parts)

    def formatted(self, node: ast.FormattedValue) -> str:
        self.tick(node)
        value = self.eval(node.value)
        spec = self.eval(node.format_spec) if node.format_spec else ""
        for width in re.findall(r"\d+", spec):
            if len(width) > 9 or int(width) > self.sandbox.max_size:
                raise ExpressionFailed(f"结果过大：格式宽度 {_short(width)} 超过 {self.sandbox.max_size}")
        convert = {ord("r"): repr, ord("a"): ascii, ord("s"): str}.get(node.conversion)
        if convert:
            value = _render(value, convert)
        return _render(value, lambda v: format(v, spec))

    def collection(self, node: ast.AST) -> Any:
        items = [self.eval(e) for e in node.elts]
        if isinstance(node, ast.Set):
            self.charge(*items)
        return {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)](items)

    def key(self, node: ast.AST) -> Any:
        """A value about to be hashed (set element, dict key)."""
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
        raise ExpressionFailed(f"不能遍历 {_tn(value)} 类型的值")

    # -- statements

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
        _require(container, (list, dict), "下标赋值")
        if op is not None:
            value = self.arith(op, container[key], value)
        if isinstance(key, slice):
            _check_length(len(container) + len(self.iterate(value)), "列表")
        container[key] = value

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
            try:
                self.block(node.body)
            except _Break:
                return
            except _Continue:
                continue
        self.block(node.orelse)

    def while_(self, node: ast.While) -> None:
        while self.truth(node.test):
            try:
                self.block(node.body)
            except _Break:
                return
            except _Continue:
                continue
        self.block(node.orelse)

    def delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                if target.id not in self.names:
                    raise ExpressionFailed(f"未定义的名称：{target.id}")
                del self.names[target.id]  # type: ignore[attr-defined]
            else:
                container = self.eval(target.value)
                _require(container, (list, dict), "删除下标")
                del container[self.index(target.slice)]

    def break_(self, node: ast.Break) -> None:
        raise _Break

    def continue_(self, node: ast.Continue) -> None:
        raise _Continue


def _guard_arith(symbol: str, left: Any, right: Any) -> None:
    """Refuse, before computing, an arithmetic result that would be too large."""
    if symbol == "%" and isinstance(left, str):
        raise ExpressionFailed("不支持用 % 格式化字符串，请使用 f-string")
    if symbol == "*":
        if isinstance(left, _SEQUENCES) and _is_int(right):
            _check_length(len(left) * right, _KINDS.get(type(left), "序列"))
        elif isinstance(right, _SEQUENCES) and _is_int(left):
            _check_length(len(right) * left, _KINDS.get(type(right), "序列"))
        elif _is_int(left) and _is_int(right):
            _check_bits(left.bit_length() + right.bit_length())
    elif symbol == "+" and isinstance(left, _SEQUENCES) and type(left) is type(right):
        _check_length(len(left) + len(right), _KINDS.get(type(left), "序列"))
    elif symbol == "**" and _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
        _check_bits(right * math.log2(abs(left)))
    elif symbol == "<<" and _is_int(left) and _is_int(right) and right > 0:
        _check_bits(left.bit_length() + right)


_EVAL: dict[type, Callable[[_Run, Any], Any]] = {
    ast.Constant: lambda run, node: node.value, ast.Name: lambda run, node: run.lookup(node.id),
    ast.BoolOp: _Run.boolop, ast.BinOp: _Run.binop, ast.UnaryOp: _Run.unaryop,
    ast.Compare: _Run.compare, ast.IfExp: _Run.ifexp, ast.Subscript: _Run.subscript,
    ast.Attribute: _Run.attribute, ast.Call: _Run.call, ast.JoinedStr: _Run.joinedstr,
    ast.List: _Run.collection, ast.Tuple: _Run.collection, ast.Set: _Run.collection,
    ast.Dict: _Run.dict_display, ast.ListComp: _Run.comprehension,
    ast.SetComp: _Run.comprehension, ast.DictComp: _Run.comprehension,
    ast.GeneratorExp: _Run.comprehension,
}
_EXEC: dict[type, Callable[[_Run, Any], None]] = {
    ast.Assign: _Run.assign, ast.AugAssign: _Run.augassign, ast.If: _Run.if_,
    ast.For: _Run.for_, ast.While: _Run.while_, ast.Delete: _Run.delete,
    ast.Break: _Run.break_, ast.Continue: _Run.continue_,
    ast.Pass: lambda run, node: None, ast.Expr: lambda run, node: run.eval(node.value),
}


# ---- public interface ---------------------------------------------------------------

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
        whitespace of a condition and common indentation of a script are ignored."""
        self._tree(source, mode)

    def evaluate(self, expression: str, names: Mapping[str, Any], *,
                 extras: Mapping[str, Any] | None = None) -> Any:
        """The value of `expression` over `names` (then read-only `extras`); plain data only.
        `names` is not modified."""
        tree = self._tree(expression, "eval")
        run = _Run(self, names, extras)
        return run.guarded(lambda: run.checked(run.eval(tree.body), "表达式的结果"))

    def execute(self, script: str, names: dict[str, Any], *,
                extras: Mapping[str, Any] | None = None) -> None:
        """Run `script`; its top-level assignments and deletions land in `names`, and only
        if the whole script succeeds and `names` is then still plain data (no cycles, at
        most 10 × max_size elements+chars). `extras` are readable, never copied in."""
        tree = self._tree(script, "exec")
        work = dict(names)
        run = _Run(self, work, extras)

        def body() -> None:
            run.block(tree.body)
            # The whole data, not just assigned names: aliases reach anything.
            run.checked(work, "任务数据", factor=10)
        run.guarded(body)
        names.clear()
        names.update(work)

    @staticmethod
    def _tree(source: str, mode: str) -> Any:
        if mode not in ("eval", "exec"):
            raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
        if not isinstance(source, str):
            raise ExpressionRejected("表达式必须是文本")
        # Pretty-printed XML indents the text; dedent keeps script line numbers intact.
        return _parse(source.strip() if mode == "eval" else textwrap.dedent(source), mode)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow environment that runs every condition and script through a Sandbox;
    `external_context` (e.g. data objects) is readable but never written into task data."""

    def __init__(self, sandbox: Sandbox):
        super().__init__({})
        self.sandbox = sandbox

    def evaluate(self, expression: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        return self.sandbox.evaluate(expression, context, extras=external_context)

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        self.sandbox.execute(script, context, extras=external_context)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise ExpressionFailed("不支持服务任务")


class SandboxScriptEngine(PythonScriptEngine):
    """PythonScriptEngine whose conditions and scripts run in a Sandbox; sandbox errors
    become WorkflowTaskException carrying the Chinese message and the line number."""

    def __init__(self, sandbox: Sandbox | None = None):
        self.sandbox = sandbox or Sandbox()
        super().__init__(environment=SandboxEnvironment(self.sandbox))

    def validate(self, expression: str) -> None:
        self.sandbox.check(expression, "eval")

    def evaluate(self, task: Any, expression: str, external_context: Mapping | None = None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except ExpressionError as err:
            raise _task_error(task, expression, err) from err

    def execute(self, task: Any, script: str, external_context: Mapping | None = None) -> bool:
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except ExpressionError as err:
            raise _task_error(task, script, err) from err

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        try:
            return self.environment.call_service(task.data, **kwargs)
        except ExpressionError as err:
            raise _task_error(task, "", err) from err


def _task_error(task: Any, source: str, err: ExpressionError) -> WorkflowTaskException:
    lines = source.splitlines() if isinstance(source, str) else []
    line = err.lineno if err.lineno and err.lineno <= len(lines) else None
    return WorkflowTaskException(err.message, task=task, exception=err, line_number=line,
                                 error_line=lines[line - 1] if line else None)


def script_engine(sandbox: Sandbox | None = None) -> PythonScriptEngine:
    """A SpiffWorkflow script engine that validates and runs everything in `sandbox`
    (a default Sandbox when omitted)."""
    return SandboxScriptEngine(sandbox)
