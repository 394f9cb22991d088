"""Validating and deploying definitions: every problem names its element, deployments are
content-addressed versions, running cases stay on the version they started on."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.definitions.service import read_bpmn
from engine.errors import InvalidDefinition, Problem
from engine.store.models import (CASE_COMPLETED, CASE_RUNNING, CaseRecord, HumanTask,
    ProcessDefinition)
from engine.cases.dto import Actor

from tests.conftest import FIXTURES, PROCESSES, deploy_files

ADMIN = Actor("x", frozenset({"admin"}))

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
        '    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"\n'
        '    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
        '    id="defs" targetNamespace="http://onething.example/test">\n')


def bpmn(body: str, *, key: str = "p", name: str = "测试流程", lane: tuple[str, ...] = ("task",)
         ) -> bytes:
    """A one-process BPMN document; `lane` lists the flow nodes of its single lane
    (an empty tuple: no lane set at all)."""
    lanes = ""
    if lane:
        refs = "".join(f"<bpmn:flowNodeRef>{ref}</bpmn:flowNodeRef>" for ref in lane)
        lanes = (f'<bpmn:laneSet id="ls_{key}"><bpmn:lane id="lane_{key}" name="审查科">{refs}'
                 '</bpmn:lane></bpmn:laneSet>')
    return (f'{HEAD}<bpmn:process id="{key}" name="{name}" isExecutable="true">\n{lanes}\n'
            f'{body}\n</bpmn:process>\n</bpmn:definitions>\n').encode("utf-8")


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
            '</bpmn:conditionExpression></bpmn:sequenceFlow>')


def around(middle: str, first: str, last: str) -> str:
    """start → first … last → end, around `middle` (which links first to last)."""
    return ('<bpmn:startEvent id="start" name="开始"/>'
            f'{middle}'
            '<bpmn:endEvent id="end" name="结束"/>'
            + flow("f_start", "start", first) + flow("f_end", last, "end"))


USER_TASK = '<bpmn:userTask id="task" name="审查"/>'
SIMPLE = around(USER_TASK, "task", "task")


def gateway_diagram(gateway_attrs: str, cond_a: str | None, cond_b: str | None,
                    kind: str = "exclusiveGateway") -> bytes:
    """task → gateway → (flow_a → end_a | flow_b → end_b)."""
    body = ('<bpmn:startEvent id="start"/>' + USER_TASK
            + f'<bpmn:{kind} id="gw" name="是否通过" {gateway_attrs}/>'
            '<bpmn:endEvent id="end_a"/><bpmn:endEvent id="end_b"/>'
            + flow("f1", "start", "task") + flow("f2", "task", "gw")
            + flow("flow_a", "gw", "end_a", cond_a) + flow("flow_b", "gw", "end_b", cond_b))
    return bpmn(body)


def read(data: bytes, name: str = "test.bpmn"):
    return read_bpmn(data, name)


def validate(runtime, *documents: bytes) -> list[Problem]:
    files = [read(d, f"file{i}.bpmn") for i, d in enumerate(documents)]
    with runtime.db.reading() as session:
        return runtime.definitions.validate(session, files)


def deploy(runtime, *files):
    files = [f if not isinstance(f, bytes) else read(f, f"file{i}.bpmn")
             for i, f in enumerate(files)]
    with runtime.db.transaction() as session:
        return runtime.definitions.deploy(session, files, actor="tester", at=runtime.clock.now())


def only_problem(problems: list[Problem], element_id: str) -> Problem:
    matching = [p for p in problems if p.element_id == element_id]
    assert matching, f"no problem names {element_id}: {problems}"
    return matching[0]


def count_definitions(runtime) -> int:
    with runtime.db.reading() as session:
        return session.scalar(select(func.count()).select_from(ProcessDefinition))


# -- validation: the happy path ------------------------------------------------------------

def test_simple_process_in_a_lane_has_no_problems(runtime):
    assert validate(runtime, bpmn(SIMPLE)) == []


def test_every_shipped_process_validates(runtime):
    files = [read(p.read_bytes(), p.name) for p in sorted(PROCESSES.rglob("*.bpmn"))]
    with runtime.db.reading() as session:
        assert runtime.definitions.validate(session, files) == []


# -- lanes ---------------------------------------------------------------------------------

def test_user_task_outside_lane_is_refused_naming_the_task(runtime):
    body = around('<bpmn:userTask id="task" name="审查"/><bpmn:userTask id="stray" name="复核"/>'
                  + flow("f_mid", "task", "stray"), "task", "stray")
    problems = validate(runtime, bpmn(body, lane=("task",)))
    problem = only_problem(problems, "stray")
    assert problem.element_name == "复核"
    assert "泳道" in problem.message
    assert problem.file == "file0.bpmn"
    assert [p.element_id for p in problems] == ["stray"]


def test_process_without_lanes_reports_every_user_task(runtime):
    body = around('<bpmn:userTask id="a" name="受理"/><bpmn:userTask id="b" name="审批"/>'
                  + flow("f_mid", "a", "b"), "a", "b")
    problems = validate(runtime, bpmn(body, lane=()))
    assert {(p.element_id, p.element_name) for p in problems} == {("a", "受理"), ("b", "审批")}


# -- gateways ------------------------------------------------------------------------------

def test_exclusive_gateway_with_two_bare_flows_and_no_default_is_refused_naming_it(runtime):
    problems = validate(runtime, gateway_diagram("", None, None))
    problem = only_problem(problems, "gw")
    assert problem.element_name == "是否通过"
    assert "flow_a" in problem.message and "flow_b" in problem.message


def test_inclusive_gateway_with_bare_flows_is_refused_too(runtime):
    problems = validate(runtime, gateway_diagram("", None, None, kind="inclusiveGateway"))
    assert only_problem(problems, "gw").element_name == "是否通过"


def test_exclusive_gateway_with_a_default_flow_is_accepted(runtime):
    assert validate(runtime, gateway_diagram('default="flow_b"', "approved == True", None)) == []


def test_exclusive_gateway_with_a_default_and_no_conditions_names_the_bare_flow(runtime):
    problems = validate(runtime, gateway_diagram('default="flow_b"', None, None))
    problem = only_problem(problems, "gw")
    assert "flow_a" in problem.message and "flow_b" not in problem.message


def test_exclusive_gateway_with_conditions_on_all_flows_is_accepted(runtime):
    assert validate(runtime, gateway_diagram("", "approved == True",
                                             "approved == False")) == []


def test_default_pointing_to_a_flow_that_is_not_outgoing_is_refused(runtime):
    problems = validate(runtime, gateway_diagram('default="f1"', "approved == True",
                                                 "approved == False"))
    problem = only_problem(problems, "gw")
    assert "f1" in problem.message
    assert problem.element_name == "是否通过"


# -- expressions and scripts ------------------------------------------------------------------

@pytest.mark.parametrize("condition", ["approved ==", "approved = = 1", "(("])
def test_condition_that_does_not_parse_is_refused_naming_the_flow(runtime, condition):
    problems = validate(runtime, gateway_diagram('default="flow_b"', condition, None))
    problem = only_problem(problems, "flow_a")
    assert "条件表达式" in problem.message


@pytest.mark.parametrize("condition", [
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "__import__('os').system('id')",
    "'{0.__class__}'.format(approved)",
])
def test_condition_reaching_for_python_internals_is_refused_statically(runtime, condition):
    escaped = condition.replace("'", "&apos;")
    problems = validate(runtime, gateway_diagram('default="flow_b"', escaped, None))
    problem = only_problem(problems, "flow_a")
    assert "沙箱" in problem.message


def script_task(script: str, script_format: str = "python") -> bytes:
    body = around(USER_TASK + '<bpmn:scriptTask id="calc" name="计算" '
                  f'scriptFormat="{script_format}"><bpmn:script>{script}</bpmn:script>'
                  '</bpmn:scriptTask>'
                  + flow("f_mid", "task", "calc"), "task", "calc")
    return bpmn(body)


@pytest.mark.parametrize("script", [
    "import os\nos.system('id')",
    "from os import system",
    "x = __import__('os')",
    "x = ().__class__.__bases__[0]",
])
def test_script_task_with_dangerous_code_is_refused_naming_the_task(runtime, script):
    problems = validate(runtime, script_task(script.replace("'", "&apos;")))
    problem = only_problem(problems, "calc")
    assert problem.element_name == "计算"
    assert "脚本" in problem.message


def test_plain_python_script_is_accepted(runtime):
    assert validate(runtime, script_task("total = 1 + 2\nok = total &gt; 2")) == []


@pytest.mark.parametrize("script_format", ["javascript", "JavaScript", "groovy"])
def test_non_python_script_format_is_refused(runtime, script_format):
    problems = validate(runtime, script_task("var x = 1;", script_format))
    problem = only_problem(problems, "calc")
    assert script_format.lower() in problem.message


def test_timer_expression_is_checked_by_the_sandbox(runtime):
    body = around(USER_TASK + '<bpmn:intermediateCatchEvent id="wait" name="等待">'
                  '<bpmn:timerEventDefinition id="td"><bpmn:timeDuration>__import__("os")'
                  '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
                  + flow("f_mid", "task", "wait"), "task", "wait")
    problem = only_problem(validate(runtime, bpmn(body)), "wait")
    assert problem.element_name == "等待"


# -- call activities --------------------------------------------------------------------------

def caller(target: str | None = "sub") -> bytes:
    called = f' calledElement="{target}"' if target is not None else ""
    body = around(USER_TASK + f'<bpmn:callActivity id="call_sub" name="调用子项"{called}/>'
                  + flow("f_mid", "task", "call_sub"), "task", "call_sub")
    return bpmn(body, key="main", name="一件事")


def callee() -> bytes:
    return bpmn(SIMPLE, key="sub", name="子事项")


def test_call_activity_to_undeployed_process_is_refused_naming_the_call(runtime):
    problems = validate(runtime, caller("sub"))
    problem = only_problem(problems, "call_sub")
    assert problem.element_name == "调用子项"
    assert "sub" in problem.message


def test_call_activity_without_called_element_is_refused(runtime):
    problem = only_problem(validate(runtime, caller(None)), "call_sub")
    assert problem.element_name == "调用子项"


def test_call_activity_to_process_in_the_same_batch_is_accepted(runtime):
    assert validate(runtime, caller("sub"), callee()) == []
    results = deploy(runtime, caller("sub"), callee())
    assert {(r.key, r.version, r.created) for r in results} == {("main", 1, True),
                                                                ("sub", 1, True)}


def test_call_activity_to_already_deployed_process_is_accepted(runtime):
    deploy(runtime, callee())
    assert validate(runtime, caller("sub")) == []
    [result] = deploy(runtime, caller("sub"))
    assert (result.key, result.version, result.created) == ("main", 1, True)


# -- unsupported elements ---------------------------------------------------------------------

UNSUPPORTED = {
    "link-event": ('<bpmn:intermediateThrowEvent id="bad" name="跳转">'
                   '<bpmn:linkEventDefinition id="bad_def" name="L"/>'
                   '</bpmn:intermediateThrowEvent>'),
    "compensation-event": ('<bpmn:intermediateThrowEvent id="bad" name="补偿">'
                           '<bpmn:compensateEventDefinition id="bad_def"/>'
                           '</bpmn:intermediateThrowEvent>'),
    "complex-gateway": '<bpmn:complexGateway id="bad" name="复杂"/>',
    "service-task": '<bpmn:serviceTask id="bad" name="调接口" camunda:class="com.x.Y"/>',
    "business-rule-task": ('<bpmn:businessRuleTask id="bad" name="查规则" '
                           'camunda:decisionRef="rules"/>'),
}


@pytest.mark.parametrize("kind", sorted(UNSUPPORTED))
def test_unsupported_element_is_refused_naming_it(runtime, kind):
    body = around(USER_TASK + UNSUPPORTED[kind] + flow("f_mid", "task", "bad"), "task", "bad")
    problems = validate(runtime, bpmn(body))
    problem = only_problem(problems, "bad")
    assert problem.element_name == {"link-event": "跳转", "compensation-event": "补偿",
                                    "complex-gateway": "复杂", "service-task": "调接口",
                                    "business-rule-task": "查规则"}[kind]
    assert "不支持" in problem.message


# -- forms (the hook web.formsource.form_check provides) -------------------------------------

def form_task(field_attrs: str) -> bytes:
    task = ('<bpmn:userTask id="task" name="审查"><bpmn:extensionElements><camunda:formData>'
            f'<camunda:formField {field_attrs}/></camunda:formData></bpmn:extensionElements>'
            '</bpmn:userTask>')
    return bpmn(around(task, "task", "task"))


@pytest.mark.parametrize("attrs", [
    'id="x" label="某字段" type="weird"',
    'id="x" label="某字段"',
    'id="1x" label="某字段" type="string"',
    'id="x" label="某字段" type="enum"',
])
def test_malformed_form_data_is_refused_naming_the_element(runtime, attrs):
    problems = validate(runtime, form_task(attrs))
    problem = only_problem(problems, "task")
    assert problem.element_name == "审查"
    assert "表单" in problem.message


def test_unknown_field_type_is_named_in_the_message(runtime):
    problem = only_problem(validate(runtime, form_task('id="x" label="某字段" type="weird"')), "task")
    assert "weird" in problem.message


def test_well_formed_form_data_is_accepted(runtime):
    assert validate(runtime, form_task('id="note" label="意见" type="textarea"')) == []


def test_form_problem_on_an_element_whose_id_has_a_quote_is_reported_not_a_crash(runtime):
    task = ('<bpmn:userTask id="ta\'sk" name="审查"><bpmn:extensionElements><camunda:formData>'
            '<camunda:formField id="x" label="某字段" type="weird"/></camunda:formData>'
            '</bpmn:extensionElements></bpmn:userTask>')
    problems = validate(runtime, bpmn(around(task, "ta'sk", "ta'sk"), lane=("ta'sk",)))
    assert only_problem(problems, "ta'sk").element_name == "审查"


# -- several problems at once ---------------------------------------------------------------

def test_several_problems_in_one_file_are_all_reported(runtime):
    body = ('<bpmn:startEvent id="start"/>'
            '<bpmn:userTask id="task" name="审查"><bpmn:extensionElements><camunda:formData>'
            '<camunda:formField id="x" label="某字段" type="weird"/></camunda:formData>'
            '</bpmn:extensionElements></bpmn:userTask>'
            '<bpmn:userTask id="stray" name="无泳道"/>'
            '<bpmn:exclusiveGateway id="gw" name="是否通过"/>'
            '<bpmn:serviceTask id="svc" name="调接口"/>'
            '<bpmn:scriptTask id="calc" name="计算" scriptFormat="python">'
            '<bpmn:script>import os</bpmn:script></bpmn:scriptTask>'
            '<bpmn:callActivity id="call_x" name="调用" calledElement="nowhere"/>'
            '<bpmn:endEvent id="end_a"/><bpmn:endEvent id="end_b"/>'
            + flow("f1", "start", "task") + flow("f2", "task", "stray") + flow("f3", "stray", "gw")
            + flow("flow_a", "gw", "svc", "approved ==") + flow("flow_b", "gw", "calc")
            + flow("f4", "svc", "call_x") + flow("f5", "call_x", "end_a")
            + flow("f6", "calc", "end_b"))
    problems = validate(runtime, bpmn(body, lane=("task",)))
    named = {p.element_id for p in problems}
    assert {"task", "stray", "gw", "svc", "calc", "flow_a", "call_x"} <= named
    assert only_problem(problems, "stray").element_name == "无泳道"
    assert only_problem(problems, "svc").element_name == "调接口"
    assert only_problem(problems, "calc").element_name == "计算"
    assert only_problem(problems, "call_x").element_name == "调用"


def test_problems_of_every_file_in_a_batch_are_reported(runtime):
    body = around('<bpmn:userTask id="t2" name="复核"/>', "t2", "t2")
    problems = validate(runtime, gateway_diagram("", None, None), bpmn(body, key="q", lane=()))
    assert {(p.file, p.element_id) for p in problems} >= {("file0.bpmn", "gw"),
                                                           ("file1.bpmn", "t2")}


def test_two_files_defining_the_same_process_in_a_batch_are_refused(runtime):
    problems = validate(runtime, bpmn(SIMPLE), bpmn(SIMPLE, name="另一个"))
    assert any(p.element_id == "p" for p in problems)


def test_deploying_an_invalid_batch_stores_nothing(runtime):
    with pytest.raises(InvalidDefinition) as caught:
        deploy(runtime, bpmn(SIMPLE, key="good"), gateway_diagram("", None, None))
    assert any(p.element_id == "gw" for p in caught.value.problems)
    assert f"{len(caught.value.problems)} 个问题" in caught.value.message
    assert count_definitions(runtime) == 0


@pytest.mark.parametrize("encoding", ["GBK", "UTF-16"])
def test_non_utf8_file_is_refused_cleanly_not_a_crash(runtime, encoding):
    data = bpmn(SIMPLE).decode("utf-8").replace('encoding="UTF-8"', f'encoding="{encoding}"')
    with pytest.raises(InvalidDefinition) as caught:
        deploy(runtime, data.encode(encoding.lower()))
    assert "UTF-8" in caught.value.message
    assert count_definitions(runtime) == 0


# -- versioning -------------------------------------------------------------------------------

def test_deploying_processes_twice_is_a_noop(runtime):
    first = deploy_files(runtime, PROCESSES)
    assert first and all(r.created and r.version == 1 for r in first)
    stored = count_definitions(runtime)
    second = deploy_files(runtime, PROCESSES)
    assert [(r.key, r.version, r.content_hash) for r in second] == \
        [(r.key, r.version, r.content_hash) for r in first]
    assert not any(r.created for r in second)
    assert count_definitions(runtime) == stored


def copy_fixtures(tmp_path: Path) -> Path:
    folder = tmp_path / "bpmn"
    folder.mkdir()
    for name in ("loop.bpmn", "script_divide.bpmn"):
        shutil.copy(FIXTURES / name, folder / name)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_changed_file_becomes_version_2_while_unchanged_files_stay_v1(runtime, tmp_path):
    folder = copy_fixtures(tmp_path)
    v1 = {r.key: r for r in deploy_files(runtime, folder)}
    assert {k: r.version for k, r in v1.items()} == {"loop_review": 1, "divide": 1}

    edit(folder / "loop.bpmn", 'name="审查"', 'name="审查 "')
    v2 = {r.key: r for r in deploy_files(runtime, folder)}
    assert (v2["loop_review"].version, v2["loop_review"].created) == (2, True)
    assert v2["loop_review"].content_hash != v1["loop_review"].content_hash
    assert (v2["divide"].version, v2["divide"].created) == (1, False)
    assert v2["divide"].content_hash == v1["divide"].content_hash

    with runtime.db.reading() as session:
        latest = runtime.definitions.latest(session, "loop_review")
        assert (latest.version, latest.content_hash) == (2, v2["loop_review"].content_hash)
        old = runtime.definitions.by_hash(session, "loop_review", v1["loop_review"].content_hash)
        assert old.version == 1


def test_reverting_a_file_is_a_noop_not_a_new_version(runtime, tmp_path):
    folder = copy_fixtures(tmp_path)
    deploy_files(runtime, folder / "loop.bpmn")
    original = (folder / "loop.bpmn").read_text(encoding="utf-8")
    edit(folder / "loop.bpmn", 'name="审查"', 'name="审查 "')
    deploy_files(runtime, folder / "loop.bpmn")
    (folder / "loop.bpmn").write_text(original, encoding="utf-8")
    [again] = deploy_files(runtime, folder / "loop.bpmn")
    assert (again.version, again.created) == (1, False)


def open_tasks(runtime, case_id: int) -> list[HumanTask]:
    with runtime.db.reading() as session:
        return list(session.scalars(select(HumanTask).where(
            HumanTask.case_id == case_id, HumanTask.state == "open")))


def test_case_started_on_v1_keeps_running_on_v1_and_a_new_case_uses_v2(runtime, tmp_path):
    folder = copy_fixtures(tmp_path)
    [v1] = deploy_files(runtime, folder / "loop.bpmn")
    old_case = runtime.cases.start_case("loop_review", {}, ADMIN)
    assert old_case.definition_version == 1
    [task] = old_case.tasks
    assert (task.definition_hash, task.name) == (v1.content_hash, "审查")

    edit(folder / "loop.bpmn", 'name="审查"', 'name="审查 "')
    [v2] = deploy_files(runtime, folder / "loop.bpmn")
    assert (v2.version, v2.created) == (2, True)

    # The old case loops once more: the new task still comes from v1.
    after = runtime.cases.complete(task.id, {"again": True}, ADMIN)
    assert after.status == CASE_RUNNING and after.definition_version == 1
    [task_again] = after.tasks
    assert task_again.id != task.id
    assert (task_again.definition_hash, task_again.name) == (v1.content_hash, "审查")
    with runtime.db.reading() as session:
        assert session.get(CaseRecord, old_case.id).pins == {"loop_review": v1.content_hash}

    new_case = runtime.cases.start_case("loop_review", {}, ADMIN)
    assert new_case.definition_version == 2
    [new_task] = new_case.tasks
    assert (new_task.definition_hash, new_task.name) == (v2.content_hash, "审查 ")
    with runtime.db.reading() as session:
        assert session.get(CaseRecord, new_case.id).pins == {"loop_review": v2.content_hash}

    done = runtime.cases.complete(task_again.id, {"again": False}, ADMIN)
    assert done.status == CASE_COMPLETED and done.definition_version == 1
    assert open_tasks(runtime, old_case.id) == []
    assert [t.definition_hash for t in open_tasks(runtime, new_case.id)] == [v2.content_hash]


# -- spec cache -------------------------------------------------------------------------------

def test_cases_on_the_same_pins_share_one_parsed_spec(runtime, tmp_path):
    folder = copy_fixtures(tmp_path)
    deploy_files(runtime, folder / "loop.bpmn")
    first = runtime.cases.start_case("loop_review", {}, ADMIN)
    second = runtime.cases.start_case("loop_review", {}, ADMIN)
    with runtime.db.reading() as session:
        pins_a = session.get(CaseRecord, first.id).pins
        pins_b = session.get(CaseRecord, second.id).pins
        assert pins_a == pins_b
        spec_a, subs_a = runtime.definitions.specs_for(session, "loop_review", pins_a)
        spec_b, subs_b = runtime.definitions.specs_for(session, "loop_review", dict(pins_b))
    assert spec_a is spec_b
    assert subs_a is subs_b


def test_a_new_version_gets_its_own_parsed_spec(runtime, tmp_path):
    folder = copy_fixtures(tmp_path)
    [v1] = deploy_files(runtime, folder / "loop.bpmn")
    edit(folder / "loop.bpmn", 'name="审查"', 'name="审查 "')
    [v2] = deploy_files(runtime, folder / "loop.bpmn")
    with runtime.db.reading() as session:
        spec_1, _ = runtime.definitions.specs_for(session, "loop_review",
                                                  {"loop_review": v1.content_hash})
        spec_2, _ = runtime.definitions.specs_for(session, "loop_review",
                                                  {"loop_review": v2.content_hash})
    assert spec_1 is not spec_2
    assert spec_1.task_specs["review"].bpmn_name == "审查"
    assert spec_2.task_specs["review"].bpmn_name == "审查 "


def test_process_that_calls_itself_through_another_is_refused(runtime, tmp_path):
    from engine.definitions.service import read_bpmn
    from engine.errors import InvalidDefinition

    def calling(key, target):
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d_{key}" targetNamespace="t">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="s" /><bpmn:callActivity id="call" name="调用" calledElement="{target}" />
    <bpmn:endEvent id="e" />
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call" /><bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""".encode()

    files = [read_bpmn(calling("ping", "pong"), "ping.bpmn"), read_bpmn(calling("pong", "ping"), "pong.bpmn")]
    with runtime.db.reading() as session:
        problems = runtime.definitions.validate(session, files)
    assert any("循环调用" in p.message for p in problems)
    with pytest.raises(InvalidDefinition):
        with runtime.db.transaction() as session:
            runtime.definitions.deploy(session, files, actor="t", at=runtime.clock.now())
