"""Static check: parse a condition or script and refuse anything the interpreter does not run.

Promised: source is only ever given to `ast.parse`, never to eval/exec/compile; a tree that
`parse_checked` returns contains only whitelisted node types, no dunder names, no private
attributes, no attribute assignment, and (in conditions) no mutating method calls. Every
refusal is ExpressionRejected with a Chinese message and, where known, the line of the
problem that comes first in the source. Checked trees are cached per source and shared,
so callers must never mutate them.
"""
from __future__ import annotations

import ast
import functools
import textwrap

from engine.errors import ExpressionRejected

from engine.sandbox.functions import MUTATING
from engine.sandbox.limits import MAX_DEPTH, MAX_NODES, MAX_SOURCE

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


def parse_checked(source: str, mode: str) -> ast.AST:
    """The checked tree of a condition (mode "eval") or script ("exec"). Surrounding
    whitespace of a condition and common indentation of a script are ignored."""
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    if not isinstance(source, str):
        raise ExpressionRejected("表达式必须是文本")
    # Pretty-printed XML indents the text; dedent keeps script line numbers intact.
    return parse(source.strip() if mode == "eval" else textwrap.dedent(source), mode)


@functools.lru_cache(maxsize=2048)
def parse(source: str, mode: str) -> ast.AST:
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
        case ast.Call(func=ast.Attribute(attr=attr)) if mode == "eval" and attr in MUTATING:
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
