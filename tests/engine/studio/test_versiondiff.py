"""The version diff is a pure comparison of two BPMN documents: elements added, removed
and changed (and in what), form fields added, removed and changed, in Chinese words."""
from __future__ import annotations

from engine.studio.versiondiff import ADDED, CHANGED, REMOVED, diff_documents
from tests.conftest import PROCESSES
from tests.studio_variants import (V1, V2, intake_gains_required_field, precheck_inserted,
                                   review_moves_department, review_relabelled, review_removed)


def diff(old: str, new: str):
    return diff_documents(old.encode(), new.encode())


def test_same_document_has_no_differences():
    result = diff(V1, V1)
    assert result.empty and result.describe() == []


def test_layout_only_changes_are_not_differences():
    moved = V1.replace('<dc:Bounds x="430" y="215"', '<dc:Bounds x="450" y="225"')
    assert moved != V1 and diff(V1, moved).empty


def test_added_task_and_its_connections():
    result = diff(V1, V2)
    assert {(e.id, e.status) for e in result.added} == {("sign_off", ADDED),
                                                        ("flow_sign_off", ADDED)}
    changed = {e.id: e for e in result.changed}
    assert changed["flow_review"].changes[0].aspect == "target"
    assert (changed["flow_review"].changes[0].old, changed["flow_review"].changes[0].new) == (
        "end", "sign_off")
    assert "end" not in changed  # rewiring is reported on the flow, not on its ends
    words = result.describe()
    assert words[0] == "新增人工任务「签发」(sign_off)，泳道「审查科」"
    assert "修改连线「flow_review」：终点由「end」改为「sign_off」" in words
    assert result.markers()["sign_off"] == ADDED


def test_removed_task():
    result = diff(V1, review_removed())
    assert [(e.id, e.status) for e in result.removed if not e.element.is_flow] == [
        ("review", REMOVED)]
    assert "删除人工任务「审查」(review)" in result.describe()


def test_form_field_added_with_its_type_and_required():
    result = diff(V1, intake_gains_required_field())
    [intake] = [e for e in result.changed if e.id == "intake"]
    [field] = intake.fields
    assert (field.id, field.status, field.new.type, field.new.required) == (
        "phone", ADDED, "string", True)
    assert intake.describe() == "修改人工任务「受理」(intake)：表单新增字段「联系电话」(phone)（string，必填）"


def test_name_label_and_lane_changes_are_named():
    relabelled = diff(V1, review_relabelled()).get("review")
    assert relabelled.status == CHANGED
    assert [c.aspect for c in relabelled.changes] == ["name"]
    [label] = relabelled.fields
    assert [(c.aspect, c.old, c.new) for c in label.changes] == [("label", "审查意见", "审查结论")]
    assert "名称由「审查」改为「实质审查」" in relabelled.describe()
    assert "标签由「审查意见」改为「审查结论」" in relabelled.describe()
    moved = diff(V1, review_moves_department()).get("review")
    assert [(c.aspect, c.old, c.new) for c in moved.changes] == [("lane", "审查科", "综合受理窗口")]


def test_conditions_scripts_constraints_and_options():
    old = (PROCESSES / "items" / "night_construction.bpmn").read_text(encoding="utf-8")
    new = old.replace("night_construction_decision == 'correct'",
                      "night_construction_decision == 'correct' and True")
    new = new.replace('<camunda:value id="refuse" name="不予许可"',
                      '<camunda:value id="refuse" name="不予批准"', 1)
    opinion = new.index('id="night_construction_opinion"')
    new = new[:opinion] + new[opinion:].replace('name="maxlength" config="500"',
                                                'name="maxlength" config="800"', 1)
    result = diff(old, new)
    flow = result.get("night_construction_flow_correct")
    assert [c.aspect for c in flow.changes] == ["condition"]
    review = result.get("night_construction_review")
    aspects = {f.id: [c.aspect for c in f.changes] for f in review.fields}
    assert aspects["night_construction_decision"] == ["options"]
    assert aspects["night_construction_opinion"] == ["constraints"]
    assert "选项由" in review.describe() and "校验约束由" in review.describe()


def test_script_and_timer_changes():
    old = (PROCESSES / "onethings" / "construction_permit.bpmn").read_text(encoding="utf-8")
    marker = "approved_count"
    assert marker in old
    new = old.replace("approved_count", "approved_total", 1)
    result = diff(old, new)
    assert [c.aspect for c in result.get("summarise_results").changes] == ["script"]


def test_inserted_task_changes_connections_around_it():
    result = diff(V1, precheck_inserted())
    assert result.get("precheck").status == ADDED
    assert result.get("flow_precheck").status == ADDED
    assert result.get("intake") is None  # its outgoing flow keeps its id, with a new target
    assert [c.aspect for c in result.get("flow_intake").changes] == ["target"]


def test_timer_and_lane_of_a_boundary_event():
    from tests.conftest import FIXTURES

    old = (FIXTURES / "timed_review.bpmn").read_text(encoding="utf-8")
    new = old.replace("workdays_after(2)", "workdays_after(3)")
    [change] = diff(old, new).elements
    assert (change.id, [c.aspect for c in change.changes]) == ("too_late", ["timer"])
    assert change.describe() == ("修改边界事件「两个工作日未办」(too_late)：定时由「timeDate=workdays_after(2)」"
                                 "改为「timeDate=workdays_after(3)」")


def test_hostile_documents_are_refused_before_comparing():
    import pytest

    from engine.errors import UnsafeXML

    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&a;'
            '</bpmn:definitions>')
    with pytest.raises(UnsafeXML):
        diff(V1, bomb)
