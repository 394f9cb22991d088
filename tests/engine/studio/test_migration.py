"""Migrating running cases between versions: allowed only when the change lies ahead of
the case, refused with reasons naming the elements otherwise, audited, and revertible
until the case moves on. Runs on SQLite and PostgreSQL with real cases."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.cases import eventlog as audit
from engine.errors import Conflict, NotFound
from engine.studio.migration import MigrationRefused, Migrations
from engine.store.models import CaseEvent, CaseRecord, HumanTask, Timer
from engine.cases.dto import Actor
from tests.conftest import FIXTURES
from tests.studio_variants import VERSIONS
from tests.studio_variants import (V1, V2, deploy_text, intake_gains_required_field,
                                   precheck_inserted, review_gains_required_field,
                                   review_moves_department, review_relabelled, review_removed)

CLERK = Actor("clerk", frozenset({"frontdesk"}), frozenset({"综合受理窗口", "审查科", "督办科"}))


@pytest.fixture
def v1(runtime):
    return deploy_text(runtime, V1)


@pytest.fixture
def migrations(runtime):
    return Migrations(runtime.cases)


def start(runtime):
    return runtime.cases.start_case("simple_permit", {}, CLERK)


def at_review(runtime):
    case = start(runtime)
    return runtime.cases.complete(case.tasks[0].id, {"applicant": "张三"}, CLERK)


def open_tasks(runtime, case_id):
    with runtime.db.reading() as session:
        return list(session.scalars(select(HumanTask).where(
            HumanTask.case_id == case_id, HumanTask.state == "open")))


def case_row(runtime, case_id):
    with runtime.db.reading() as session:
        return session.get(CaseRecord, case_id)


def kinds(runtime, case_id):
    with runtime.db.reading() as session:
        return list(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id)
                                    .order_by(CaseEvent.seq)))


def test_case_waiting_at_a_task_moves_on_to_a_new_downstream_task(runtime, v1, migrations):
    case = at_review(runtime)
    v2 = deploy_text(runtime, V2)
    check = migrations.check(case.id, "simple_permit", 2)
    assert check.allowed and check.at == ("「审查」(review)",)

    done = migrations.migrate(case.number, "simple_permit", 2, "analyst")
    assert (done.from_version, done.to_version, done.revertible) == (1, 2, True)
    assert any("签发" in line for line in done.changes)
    row = case_row(runtime, case.id)
    assert row.pins == {"simple_permit": v2.content_hash}
    assert runtime.cases.get_case(case.id, CLERK).definition_version == 2
    [task] = open_tasks(runtime, case.id)
    assert (task.id, task.task_spec, task.definition_hash) == (case.tasks[0].id, "review",
                                                                v2.content_hash)
    assert runtime.cases.task_data(task.id)["applicant"] == "张三"

    after = runtime.cases.complete(task.id, {"opinion": "同意"}, CLERK)
    assert [t.task_spec for t in after.tasks] == ["sign_off"]
    final = runtime.cases.complete(after.tasks[0].id, {"licence_no": "XK-1"}, CLERK)
    assert final.status == "completed"
    assert audit.CASE_MIGRATED in kinds(runtime, case.id)
    with runtime.db.reading() as session:
        assert audit.verify_case(session, session.get(CaseRecord, case.id)).ok


def test_a_case_not_yet_at_a_changed_task_may_move(runtime, v1, migrations):
    case = start(runtime)  # waiting at 受理; 审查 gains a required field further on
    deploy_text(runtime, review_gains_required_field())
    migrations.migrate(case.id, "simple_permit", 2, "analyst")
    after = runtime.cases.complete(case.tasks[0].id, {"applicant": "李四"}, CLERK)
    assert after.tasks[0].definition_hash == case_row(runtime, case.id).pins["simple_permit"]


def test_labels_only_change_at_the_open_task_is_allowed(runtime, v1, migrations):
    case = at_review(runtime)
    deploy_text(runtime, review_relabelled())
    migrations.migrate(case.id, "simple_permit", 2, "analyst")
    [task] = open_tasks(runtime, case.id)
    assert task.name == "实质审查"


@pytest.mark.parametrize("variant, words", [
    (review_gains_required_field, ["办件正在「审查」(review)", "新增了必填字段「风险等级」(risk)"]),
    (intake_gains_required_field, ["办件已经办理过「受理」(intake)", "表单"]),
    (precheck_inserted, ["新增的人工任务「预审」(precheck)", "不在办件当前位置之后"]),
    (review_moves_department, ["「审查科」", "「综合受理窗口」"]),
    (review_removed, ["办件正在「审查」(review)，新版本删除了该环节"]),
])
def test_unsafe_changes_are_refused_with_the_reason_and_change_nothing(
        runtime, v1, migrations, variant, words):
    case = at_review(runtime)
    deploy_text(runtime, variant())
    check = migrations.check(case.id, "simple_permit", 2)
    assert not check.allowed
    text = "；".join(check.reasons)
    assert all(w in text for w in words), text
    with pytest.raises(MigrationRefused) as refused:
        migrations.migrate(case.id, "simple_permit", 2, "analyst")
    assert refused.value.reasons == list(check.reasons)
    assert case_row(runtime, case.id).pins == {"simple_permit": v1.content_hash}
    assert audit.CASE_MIGRATED not in kinds(runtime, case.id)
    assert migrations.history(key="simple_permit") == []


def test_only_newer_versions_and_known_cases(runtime, v1, migrations):
    case = at_review(runtime)
    assert "只能迁移到更新的版本" in migrations.check(case.id, "simple_permit", 1).reasons[0]
    with pytest.raises(NotFound):
        migrations.check(case.id, "simple_permit", 7)
    with pytest.raises(NotFound):
        migrations.check("371500-20000101-99999", "simple_permit", 1)
    with pytest.raises(NotFound):
        migrations.check(case.id, "other_process", 1)


def test_revert_puts_back_pins_state_and_task_rows(runtime, v1, migrations):
    case = at_review(runtime)
    deploy_text(runtime, V2)
    done = migrations.migrate(case.id, "simple_permit", 2, "analyst")
    reverted = migrations.revert(done.id, "analyst2")
    assert reverted.reverted_by == "analyst2" and not reverted.revertible
    row = case_row(runtime, case.id)
    assert row.pins == {"simple_permit": v1.content_hash}
    [task] = open_tasks(runtime, case.id)
    assert task.definition_hash == v1.content_hash
    assert kinds(runtime, case.id)[-1] == audit.MIGRATION_REVERTED
    final = runtime.cases.complete(task.id, {"opinion": "同意"}, CLERK)
    assert final.status == "completed"  # v1 again: no 签发
    with pytest.raises(Conflict):
        migrations.revert(done.id, "analyst")


def test_revert_is_refused_once_the_case_moved_on(runtime, v1, migrations):
    case = at_review(runtime)
    deploy_text(runtime, V2)
    done = migrations.migrate(case.id, "simple_permit", 2, "analyst")
    runtime.cases.claim(case.tasks[0].id, CLERK)
    assert not migrations.history(case_ref=case.id)[0].revertible
    with pytest.raises(Conflict, match="新的办理记录"):
        migrations.revert(done.id, "analyst")
    assert case_row(runtime, case.id).pins["simple_permit"] != v1.content_hash


def test_all_cases_of_a_version_at_once(runtime, v1, migrations):
    waiting_at_intake = start(runtime)
    waiting_at_review = at_review(runtime)
    deploy_text(runtime, review_gains_required_field())
    assert {c.number for c in migrations.cases_on("simple_permit", 1)} == {
        waiting_at_intake.number, waiting_at_review.number}
    result = migrations.migrate_all("simple_permit", 1, 2, "analyst")
    assert [m.case_number for m in result.migrated] == [waiting_at_intake.number]
    assert [c.case.number for c in result.refused] == [waiting_at_review.number]
    assert "风险等级" in result.refused[0].reasons[0]
    assert [c.number for c in migrations.cases_on("simple_permit", 2)] == [waiting_at_intake.number]


def test_a_called_process_is_migrated_inside_the_case_that_calls_it(runtime, v1, migrations):
    deploy_text(runtime, (VERSIONS / "migrate_parent.bpmn").read_text(encoding="utf-8"),
                name="parent.bpmn")
    case = runtime.cases.start_case("permit_parent", {}, CLERK)
    at = runtime.cases.complete(case.tasks[0].id, {"applicant": "王五"}, CLERK)
    assert at.tasks[0].task_spec == "review"
    v2 = deploy_text(runtime, V2)
    pins_before = case_row(runtime, case.id).pins
    migrations.migrate(case.id, "simple_permit", 2, "analyst")
    pins = case_row(runtime, case.id).pins
    assert pins == {**pins_before, "simple_permit": v2.content_hash}
    after = runtime.cases.complete(at.tasks[0].id, {"opinion": "同意"}, CLERK)
    assert [t.task_spec for t in after.tasks] == ["sign_off"]
    final = runtime.cases.complete(after.tasks[0].id, {"licence_no": "XK-2"}, CLERK)
    assert final.status == "completed"


def test_a_waiting_timer_keeps_its_due_time(runtime, migrations):
    text = (FIXTURES / "timed_review.bpmn").read_text(encoding="utf-8")
    deploy_text(runtime, text, name="timed.bpmn")
    case = runtime.cases.start_case("timed_review", {}, CLERK)
    with runtime.db.reading() as session:
        [due] = session.scalars(select(Timer.due_at).where(Timer.case_id == case.id))
    runtime.clock.advance(hours=5)
    changed = text.replace('<bpmn:endEvent id="done" />',
                           '<bpmn:userTask id="archive" name="归档" />\n    <bpmn:endEvent id="done" />')
    changed = changed.replace('<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="done" />',
                              '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="archive" />\n'
                              '    <bpmn:sequenceFlow id="f5" sourceRef="archive" targetRef="done" />')
    changed = changed.replace('<bpmn:flowNodeRef>review</bpmn:flowNodeRef>',
                              '<bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>archive</bpmn:flowNodeRef>')
    deploy_text(runtime, changed, name="timed.bpmn")
    migrations.migrate(case.id, "timed_review", 2, "analyst")
    with runtime.db.reading() as session:
        timers = list(session.scalars(select(Timer).where(Timer.case_id == case.id,
                                                          Timer.state == "waiting")))
    assert [t.due_at for t in timers] == [due]
    after = runtime.cases.complete(case.tasks[0].id, {}, CLERK)
    assert [t.task_spec for t in after.tasks] == ["archive"]


def test_a_migrated_and_reverted_case_replays_from_its_audit_log(runtime, v1, migrations):
    from engine.audit.replay import reexecute

    moved = at_review(runtime)
    back = at_review(runtime)
    deploy_text(runtime, V2)
    migrations.migrate(moved.id, "simple_permit", 2, "analyst")
    undo = migrations.migrate(back.id, "simple_permit", 2, "analyst")
    migrations.revert(undo.id, "analyst")
    after = runtime.cases.complete(moved.tasks[0].id, {"opinion": "同意"}, CLERK)
    runtime.cases.complete(after.tasks[0].id, {"licence_no": "XK-3"}, CLERK)
    runtime.cases.complete(back.tasks[0].id, {"opinion": "同意"}, CLERK)
    for case in (moved, back):
        result = reexecute(runtime, case.id)
        assert result.conformant and result.chain_ok, result.summary()


def night_construction_with_notice() -> str:
    """Item v2: after the decision, a 夜间施工公示 task before the item ends."""
    from tests.conftest import PROCESSES

    text = (PROCESSES / "items" / "night_construction.bpmn").read_text(encoding="utf-8")
    old_flow = ('<bpmn:sequenceFlow id="night_construction_flow_done" name="作出决定" '
                'sourceRef="night_construction_review_outcome" targetRef="night_construction_end"/>')
    assert old_flow in text
    text = text.replace(old_flow, old_flow.replace(
        'targetRef="night_construction_end"', 'targetRef="night_construction_notice"') +
        '\n    <bpmn:sequenceFlow id="night_construction_flow_noticed" '
        'sourceRef="night_construction_notice" targetRef="night_construction_end"/>')
    text = text.replace('    <bpmn:endEvent id="night_construction_end"',
                        '    <bpmn:userTask id="night_construction_notice" name="夜间施工公示" />\n'
                        '    <bpmn:endEvent id="night_construction_end"', 1)
    return text.replace("<bpmn:flowNodeRef>night_construction_end</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>night_construction_notice</bpmn:flowNodeRef>"
                        "<bpmn:flowNodeRef>night_construction_end</bpmn:flowNodeRef>", 1)


def test_an_item_inside_running_one_things_is_migrated(deployed):
    from tests.scenarios.test_construction_permit import ACCEPT, FRONT, clerk, review, start

    rt, key = deployed, "item_night_construction"
    migrations = Migrations(rt.cases)

    def accepted():
        case = start(rt)
        return rt.cases.complete(case.tasks[0].id, ACCEPT, FRONT)

    reviewing, decided = accepted(), accepted()
    night = next(t for t in decided.tasks if t.task_spec == "night_construction_review")
    decided = rt.cases.complete(night.id, review("approve", "night_construction"),
                                clerk(night.lane))
    deploy_text(rt, night_construction_with_notice(), name="night_construction.bpmn")
    assert {c.number for c in migrations.cases_on(key, 1)} == {reviewing.number, decided.number}
    checks = {c.case.number: c for c in migrations.check_all(key, 1, 2)}
    assert checks[reviewing.number].allowed
    assert checks[reviewing.number].at == ("「夜间施工许可审批」(night_construction_review)",)
    assert checks[decided.number].allowed and checks[decided.number].at == ()

    result = migrations.migrate_all(key, 1, 2, "analyst")
    assert len(result.migrated) == 2 and not result.refused
    row = case_row(rt, reviewing.id)
    assert row.pins["onething_construction_permit"] == reviewing_pins_top(rt, reviewing.id)
    night = next(t for t in open_tasks(rt, reviewing.id)
                 if t.task_spec == "night_construction_review")
    after = rt.cases.complete(night.id, review("approve", "night_construction"),
                              clerk(night.lane))
    assert "night_construction_notice" in {t.task_spec for t in after.tasks}
    assert len(after.tasks) == 12  # the eleven other reviews still open, plus the notice
    with rt.db.reading() as session:
        assert audit.verify_case(session, session.get(CaseRecord, reviewing.id)).ok


def reviewing_pins_top(rt, case_id):
    """The one-thing itself stays on its version: only the item moved."""
    with rt.db.reading() as session:
        return rt.definitions.latest(session, "onething_construction_permit").content_hash
