"""The restricted evaluator: escapes fail cleanly, limits hold, ordinary code works."""
from __future__ import annotations

import datetime as dt
import random
import time
from decimal import Decimal

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.errors import ExpressionError, ExpressionFailed, ExpressionRejected
from engine.sandbox import DEFAULT_FUNCTIONS, Sandbox, SandboxEnvironment, script_engine

pytestmark = pytest.mark.usefixtures("raw_spiff_clock")

SANDBOX = Sandbox()


class Thing:
    """Stands in for an arbitrary Python object that found its way into task data."""
    secret = "s3cret"


def plain_data() -> dict:
    return {"x": 1, "d": {"a": 1}, "items": [1, 2, 3], "lists": [[1], [2]]}


def data() -> dict:
    return {**plain_data(), "obj": Thing()}


ESCAPE_EXPRESSIONS = [
    "().__class__.__bases__[0].__subclasses__()",
    "''.__class__.__mro__",
    "__import__('os')",
    "open('/etc/passwd')",
    "eval('1')",
    "exec('x=1')",
    "compile('1','','eval')",
    "getattr(x, '__class__')",
    "'{0.__class__}'.format(1)",
    "'{a.__init__.__globals__}'.format_map({'a': x})",
    "globals()",
    "locals()",
    "vars()",
    "dir()",
    "(x for x in []).gi_frame",
    "[x for x in ()].__class__",
    "type(1)",
    "object",
    "__builtins__",
    "9**9**9",
    "'a'*10**9",
    "[0]*10**9",
    "10**9*'a'",
    "1 << 10**9",
    "lambda: 1",
    "d.__class__",
    "f'{().__class__}'",
    "breakpoint()",
    "help()",
    "setattr(x, 'a', 1)",
    "delattr(x, 'a')",
    "super()",
    "memoryview(b'')",
    "bytearray(10**9)",
    "b'abc'",
    "obj.secret",
    "len.__self__",
    "str(len)",
    "sorted.__call__",
    "(x := 1)",
    "[*items]",
    "dict(**d)",
    "items[0]()",
    "'%s' % x",
    "'%999999999d' % 1",
    "f'{x:>999999999}'",
    "f'{x:{10**9}}'",
    "range(10**20)",
    "max(len, str, key=bool)",
    "max([1], key=len.__call__)",
    "sorted([1], key=lambda v: v)",
    "dict(f=len)",
    "x.real",
    "items.append(1)",
    "d.__getitem__('a')",
    "_x",
    "str.join",
    "'a'.join",
    "datetime.now()",
    "date.today()",
    "(-8) ** 0.5",
    "2.0 ** 10000",
    "int(decimal('1e9999')) ** 4",
    "decimal('1e99999')",
    "'x'.zfill(10**9)",
    "('a'*1000).replace('', 'b'*1000)",
    "'-'.join(['a'*60000, 'b'*60000])",
]

# Two equal but distinct lists whose naive comparison would visit 2**60 elements.
TWIN_TREES = "a = [0]\nb = [0]\nfor i in range(60):\n    a = [a, a]\n    b = [b, b]\n"

ESCAPE_SCRIPTS = [
    "import os",
    "from os import path",
    "def f(): f()",
    "class A: pass",
    "while True: pass",
    "for i in range(10**9): pass",
    "for i in range(10**6): pass",
    "with open('x') as f: pass",
    "try:\n    x = 1\nexcept Exception as e:\n    y = e",
    "raise ValueError('x')",
    "global x",
    "assert False",
    "x.y = 1",
    "del x.y",
    "x: int = 1",
    "a, *b = [1, 2]",
    "break",
    "x = [1]\nx.append(x)",
    "y = items\ny.append(y)\ndel y",
    "ok = [m.append(m) for m in lists]",
    "d['self'] = d",
    "x = []\nfor i in range(60):\n    x = [x]",
    "x = [0]\nfor i in range(40):\n    x = [x, x]",
    "s = 'ab'\nwhile True:\n    s = s + s",
    "x = [1]\nwhile True:\n    x.extend(x)",
    "x = [1]\nwhile True:\n    x[0:0] = x",
    "x = [1]\nwhile True:\n    x[0:0] += x",
    "t = ()\nfor i in range(60):\n    t = (t, t)\ns = {t}",
    "t = ()\nfor i in range(60):\n    t = (t, t)\nd = {}\nd[t] = 1",
    "t = ()\nfor i in range(60):\n    t = (t, t)\nok = {t: 1 for i in range(1)}",
    "t = ()\nfor i in range(60):\n    t = (t, t)\nok = contains({1}, t)",
    *(TWIN_TREES + tail for tail in ("ok = len(sorted([a, b]))", "ok = [a].index(b)",
                                     "c = [a, b]\nc.sort()", "ok = a == b", "ok = max(a, b)")),
    "n = 3\nwhile True:\n    n = n * n",
    "f = len",
    "items.append(len)",
    "async def f(): pass",
]


@pytest.mark.parametrize("source", ESCAPE_EXPRESSIONS)
def test_escape_expressions_fail_cleanly(source):
    with pytest.raises(ExpressionError) as caught:
        SANDBOX.evaluate(source, data())
    assert caught.value.message and "Traceback" not in caught.value.message


@pytest.mark.parametrize("source", ESCAPE_SCRIPTS)
def test_escape_scripts_fail_cleanly(source):
    names = plain_data()
    started = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        SANDBOX.execute(source, names)
    assert time.monotonic() - started < 2
    assert caught.value.message and "Traceback" not in caught.value.message


@pytest.mark.parametrize("source, mode, message", [
    ("().__class__", "eval", "不允许访问以下划线开头的属性：__class__"),
    ("lambda: 1", "eval", "不支持的语法：lambda 表达式"),
    ("import os", "exec", "不支持的语法：import 导入"),
    ("def f(): pass", "exec", "不支持的语法：函数定义 def"),
    ("'{}'.format(1)", "eval", "不支持的方法：format（请使用 f-string）"),
    ("__import__('os')", "eval", "不允许使用以双下划线开头的名称：__import__"),
    ("x.append(1)", "eval", "条件表达式中不允许修改数据：append"),
    ("continue", "exec", "continue 只能用在循环中"),
    ("1 +", "eval", "语法错误"),
])
def test_check_rejects_with_chinese_message(source, mode, message):
    with pytest.raises(ExpressionRejected) as caught:
        SANDBOX.check(source, mode)
    assert message in caught.value.message


@pytest.mark.parametrize("source", [
    "(" * 500 + "1" + ")" * 500,
    "[" * 150 + "]" * 150,
    "-" * 19_999 + "1",
    "not " * 4_900 + "x",
    "a+" * 9_000 + "a",
    "x" * 20_001,
    "1\x00",
])
def test_deep_or_huge_source_is_rejected_statically(source):
    with pytest.raises(ExpressionRejected):
        SANDBOX.check(source)


@pytest.mark.parametrize("source, message", [
    ("foo + 1", "未定义的名称：foo"),
    ("eval('1')", "未定义的函数：eval"),
    ("'a' * 10**9", "结果过大：字符串长度超过 100000"),
    ("[0] * 10**9", "结果过大：列表长度超过 100000"),
    ("9**9**9", "结果过大：整数超过 100000 个二进制位"),
    ("1 / 0", "除数为零"),
    ("d['missing']", "键不存在：'missing'"),
    ("items[10]", "下标越界"),
    ("'a' + 1", "类型不匹配：不能计算 str + int"),
    ("'a' < 1", "类型不匹配：不能比较 str < int"),
    ("2.0 ** 10000", "数值溢出"),
    ("int('abc')", "调用 int 出错"),
    ("obj.secret", "不支持的属性：Thing.secret"),
    ("'a'.strip", "方法只能直接调用：str.strip"),
    ("d.missing", "字典中没有键：missing"),
    ("f'{x:>999999999}'", "结果过大：格式宽度 999999999 超过 100000"),
    ("range(10**6)", "结果过大：range 长度超过 100000"),
    ("sorted(items, key=len)", "调用 sorted 出错"),
    ("str(len)", "未定义的名称：len"),
    ("obj", "表达式的结果包含不允许的值类型：Thing"),
])
def test_runtime_failures_are_chinese(source, message):
    with pytest.raises(ExpressionFailed) as caught:
        SANDBOX.evaluate(source, data())
    assert message in caught.value.message
    assert caught.value.lineno == 1


def test_step_budget_stops_infinite_loop_quickly():
    started = time.monotonic()
    with pytest.raises(ExpressionFailed, match=r"运算步数超过上限（100000）"):
        SANDBOX.execute("while True:\n    pass", {})
    assert time.monotonic() - started < 1


def test_wall_time_budget_stops_loop():
    sandbox = Sandbox(max_steps=10**12, max_seconds=0.2)
    started = time.monotonic()
    with pytest.raises(ExpressionFailed, match="运行时间超过上限"):
        sandbox.execute("while True:\n    pass", {})
    assert time.monotonic() - started < 1


def test_budget_is_per_call():
    sandbox = Sandbox(max_steps=200)
    for _ in range(5):
        names: dict = {}
        sandbox.execute("n = 0\nfor i in range(20):\n    n += i", names)
        assert names["n"] == 190


def test_comparing_shared_structures_is_charged():
    script = TWIN_TREES + "ok = a == b"
    started = time.monotonic()
    with pytest.raises(ExpressionFailed, match=r"运算步数超过上限"):
        SANDBOX.execute(script, {})
    assert time.monotonic() - started < 1


def test_failed_script_leaves_names_untouched():
    names = {"x": 1}
    with pytest.raises(ExpressionFailed):
        SANDBOX.execute("x = 2\ny = 1 / 0", names)
    assert names == {"x": 1}


def test_error_line_number():
    with pytest.raises(ExpressionFailed) as caught:
        SANDBOX.execute("a = 1\nb = 2\nc = missing", {})
    assert caught.value.lineno == 3
    with pytest.raises(ExpressionRejected) as caught:
        SANDBOX.check("a = 1\nimport os", "exec")
    assert caught.value.lineno == 2


FUZZ_TOKENS = ["x", "d", "items", "obj", "1", "0", "-1", "'a'", "10**9", "[", "]", "(", ")",
               "{", "}", ",", ":", ".", "+", "-", "*", "**", "/", "//", "%", "<<", "==", "<",
               "not", "in", "is", "and", "if", "else", "for", "len", "str", "sorted", "range",
               "decimal", "__class__", "keys", "get", "strip", "f'{x}'", "f'{x:>{x}}'", "None"]


def test_random_token_soup_never_escapes_the_error_types():
    rng = random.Random(20240501)
    for _ in range(4000):
        source = " ".join(rng.choice(FUZZ_TOKENS) for _ in range(rng.randint(1, 9)))
        try:
            SANDBOX.evaluate(source, data())
        except ExpressionError as err:
            assert err.message
        try:
            SANDBOX.execute(f"y = {source}", data())
        except ExpressionError as err:
            assert err.message


# ---- positive cases -------------------------------------------------------------------

@pytest.mark.parametrize("source, names, expected", [
    ("investment >= 300 or area >= 300", {"investment": 100, "area": 400}, True),
    ("investment >= 300 or area >= 300", {"investment": 100, "area": 200}, False),
    ("decision == 'approve'", {"decision": "approve"}, True),
    ("len(materials) > 0 and all(m['ok'] for m in materials)",
     {"materials": [{"ok": True}, {"ok": True}]}, True),
    ("len(materials) > 0 and all(m['ok'] for m in materials)",
     {"materials": [{"ok": True}, {"ok": False}]}, False),
    ("x if y else z", {"x": 1, "y": False, "z": 2}, 2),
    ("f'{name}：{amount:.2f} 元'", {"name": "张三", "amount": 3.14159}, "张三：3.14 元"),
    ("f'{n:>5}|{s!r}'", {"n": 42, "s": "a"}, "   42|'a'"),
    ("applicant.name", {"applicant": {"name": "李四"}}, "李四"),
    ("applicant['id'][-4:]", {"applicant": {"id": "110101199001011234"}}, "1234"),
    ("1 < x <= 3 and x not in (2, 4) and y is None", {"x": 3, "y": None}, True),
    ("decimal('0.1') + decimal('0.2') == decimal('0.3')", {}, True),
    ("(decimal('2.675') * 1).quantize(decimal('0.01'))", {}, Decimal("2.68")),
    ("round(decimal('2.675'), 2)", {}, Decimal("2.68")),
    ("deadline > date(2024, 1, 1)", {"deadline": dt.date(2024, 3, 1)}, True),
    ("(deadline - date(2024, 1, 1)).days", {"deadline": dt.date(2024, 3, 1)}, 60),
    ("deadline + timedelta(days=1)", {"deadline": dt.date(2024, 2, 28)}, dt.date(2024, 2, 29)),
    ("d.strftime('%Y年%m月%d日')", {"d": dt.date(2024, 5, 1)}, "2024年05月01日"),
    ("sorted(names, key=len, reverse=True)[0]", {"names": ["a", "abc", "ab"]}, "abc"),
    ("{k: v * 2 for k, v in d.items() if v}", {"d": {"a": 1, "b": 0}}, {"a": 2}),
    ("{i % 3 for i in range(10)}", {}, {0, 1, 2}),
    ("[(i, c) for i, c in enumerate('ab', 1)]", {}, [(1, "a"), (2, "b")]),
    ("list(zip([1, 2], 'ab'))", {}, [(1, "a"), (2, "b")]),
    ("sum([decimal('1.5'), 2])", {}, Decimal("3.5")),
    ("contains(['a', 'b'], 'b') and 'b' in 'abc'", {}, True),
    ("' A-1 '.strip().lower().replace('-', '_')", {}, "a-1".replace("-", "_")),
    ("'、'.join(['甲', '乙'])", {}, "甲、乙"),
    ("str(12).zfill(4)", {}, "0012"),
    ("[1, 2, 3][::-1]", {}, [3, 2, 1]),
    ("2 ** 100 > 10 ** 30 and -7 // 2 == -4 and 7 % 3 == 1", {}, True),
    ("not x and ~1 == -2", {"x": 0}, True),
    ("data_object_value", {}, "from extras"),
])
def test_expressions(source, names, expected):
    result = SANDBOX.evaluate(source, names, extras={"data_object_value": "from extras"})
    assert result == expected
    assert type(result) is type(expected)


def test_script_sets_variables_and_leaves_nothing_else():
    names = {"price": 10, "qty": 3, "items": [{"n": "a", "ok": True}, {"n": "b", "ok": False}]}
    SANDBOX.execute(
        "total = price * qty\n"
        "names_ok = [i['n'] for i in items if i['ok']]\n"
        "summary = {'total': total, 'count': len(items)}\n"
        "summary['flag'] = total > 20\n"
        "a, (b, c) = 1, [2, 3]\n"
        "total += 1\n"
        "found = None\n"
        "for i, item in enumerate(items):\n"
        "    if not item['ok']:\n"
        "        found = i\n"
        "        break\n"
        "else:\n"
        "    found = -1\n"
        "n = 0\n"
        "while True:\n"
        "    n += 1\n"
        "    if n < 5:\n"
        "        continue\n"
        "    break\n"
        "tmp = 1\n"
        "del tmp\n"
        "items.append({'n': 'c', 'ok': True})\n"
        "del items[0]\n",
        names,
        extras={"helper_data": 1},
    )
    assert names["total"] == 31
    assert names["names_ok"] == ["a"]
    assert names["summary"] == {"total": 30, "count": 2, "flag": True}
    assert (names["a"], names["b"], names["c"]) == (1, 2, 3)
    assert names["found"] == 1
    assert names["n"] == 5
    assert [i["n"] for i in names["items"]] == ["b", "c"]
    assert set(names) == {"price", "qty", "items", "total", "names_ok", "summary",
                          "a", "b", "c", "found", "n", "i", "item"}
    assert not any(callable(v) for v in names.values())


def test_indentation_from_pretty_printed_xml_is_ignored():
    assert SANDBOX.evaluate("\n      x > 0\n    ", {"x": 1}) is True
    names = {"x": 1}
    SANDBOX.execute("\n        y = x + 1\n        if y:\n            z = 2\n      ", names)
    assert names == {"x": 1, "y": 2, "z": 2}
    with pytest.raises(ExpressionFailed) as caught:
        SANDBOX.execute("\n    a = 1\n    b = nope", {})
    assert caught.value.lineno == 3


def test_comprehension_variables_do_not_leak():
    names: dict = {}
    SANDBOX.execute("y = [k for k in range(3)]\nz = {k: 1 for k in 'ab'}\n"
                    "w = any(m > 1 for m in y)", names)
    assert names == {"y": [0, 1, 2], "z": {"a": 1, "b": 1}, "w": True}


def test_evaluate_does_not_modify_names():
    names = {"items": [3, 1]}
    assert SANDBOX.evaluate("[i for i in sorted(items)]", names) == [1, 3]
    assert names == {"items": [3, 1]}


def test_self_referential_list_cannot_be_left_in_data():
    with pytest.raises(ExpressionFailed, match="结果过大"):
        SANDBOX.execute("x = [1]\nx.append(x)", {})


def test_scripts_refuse_task_data_that_is_not_plain():
    with pytest.raises(ExpressionFailed, match="任务数据包含不允许的值类型：Thing"):
        SANDBOX.execute("y = 1", data())


def test_with_functions_adds_vetted_functions():
    sandbox = SANDBOX.with_functions(double=lambda v: v * 2, today=lambda: dt.date(2024, 1, 2))
    assert sandbox.evaluate("double(21) == 42 and today().year == 2024", {}) is True
    assert sandbox.max_steps == SANDBOX.max_steps
    with pytest.raises(ExpressionFailed, match="未定义的函数：double"):
        SANDBOX.evaluate("double(1)", {})


def test_vetted_function_returning_non_plain_value_fails():
    sandbox = SANDBOX.with_functions(leak=lambda: Thing())
    with pytest.raises(ExpressionFailed, match="不允许的值类型：Thing"):
        sandbox.evaluate("leak()", {})


def test_default_functions_exclude_dangerous_ones():
    for name in ("eval", "exec", "open", "getattr", "type", "isinstance", "today", "now"):
        assert name not in DEFAULT_FUNCTIONS
    assert {"len", "decimal", "date", "range", "contains"} <= set(DEFAULT_FUNCTIONS)


def test_parsed_trees_are_cached():
    from engine import sandbox as module
    module._parse.cache_clear()
    for _ in range(3):
        SANDBOX.evaluate("x + 1", {"x": 1})
    assert module._parse.cache_info().hits == 2


def test_environment_keeps_external_context_out_of_task_data():
    env = SandboxEnvironment(SANDBOX)
    context = {"a": 1}
    assert env.execute("b = a + extra", context, {"extra": 2}) is True
    assert context == {"a": 1, "b": 3}
    assert env.evaluate("b == 3 and extra == 2", context, {"extra": 2}) is True
    with pytest.raises(ExpressionFailed, match="不支持服务任务"):
        env.call_service(context, operation_name="x")


# ---- SpiffWorkflow integration --------------------------------------------------------

def _diagram(script: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="proc" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="calc" name="计算" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>big</bpmn:outgoing><bpmn:outgoing>small</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="end_big"><bpmn:incoming>big</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_small"><bpmn:incoming>small</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="gw"/>
    <bpmn:sequenceFlow id="big" sourceRef="gw" targetRef="end_big">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">total &gt; 100
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="small" sourceRef="gw" targetRef="end_small">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">total &lt;= 100
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>""".encode()


def _workflow(script: str, **task_data) -> BpmnWorkflow:
    parser = CamundaParser()
    parser.add_bpmn_str(_diagram(script))
    workflow = BpmnWorkflow(parser.get_spec("proc"), script_engine=script_engine())
    workflow.get_tasks(spec_name="start")[0].data.update(task_data)
    return workflow


def _finished(workflow: BpmnWorkflow) -> set[str]:
    return {t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED)}


@pytest.mark.parametrize("price, qty, end", [(30, 4, "end_big"), (10, 2, "end_small")])
def test_workflow_takes_path_chosen_by_sandboxed_condition(price, qty, end):
    workflow = _workflow("total = price * qty", price=price, qty=qty)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    other = ({"end_big", "end_small"} - {end}).pop()
    assert end in _finished(workflow) and other not in _finished(workflow)
    assert workflow.last_task.data["total"] == price * qty


def test_workflow_script_escape_errors_the_task():
    workflow = _workflow("total = ().__class__.__bases__[0].__subclasses__()")
    with pytest.raises(WorkflowException) as caught:
        workflow.do_engine_steps()
    assert isinstance(caught.value, WorkflowTaskException)
    assert "不允许访问以下划线开头的属性：__class__" in str(caught.value)
    assert isinstance(caught.value.__cause__, ExpressionRejected)
    assert workflow.get_tasks(spec_name="calc")[0].state == TaskState.ERROR
    assert not workflow.is_completed()


def test_workflow_condition_failure_carries_chinese_message():
    workflow = _workflow("totl = 1")
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert "未定义的名称：total" in str(caught.value)


def test_workflow_script_error_reports_line():
    workflow = _workflow("total = 1\nx = missing_value")
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert "未定义的名称：missing_value" in str(caught.value)
    assert (caught.value.line_number, caught.value.error_line) == (2, "x = missing_value")
    assert workflow.get_tasks(spec_name="calc")[0].state == TaskState.ERROR


def test_engine_validate_uses_sandbox_check():
    engine = script_engine()
    engine.validate("a > 1")
    with pytest.raises(ExpressionRejected):
        engine.validate("().__class__")


@pytest.mark.parametrize("source, mode", [("open('/etc/passwd')", "eval"),
                                          ("x = eval('1')", "exec"),
                                          ("y = workdays_aftr(3)", "exec")])
def test_calling_an_unregistered_function_is_refused_before_deploy(source, mode):
    with pytest.raises(ExpressionRejected, match="未登记的函数"):
        Sandbox().check(source, mode)
