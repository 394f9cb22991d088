"""容缺受理 on the construction permit, end to end through the engine services on the frozen
clock: the deficiency planned at acceptance (deadline within the promised limit), materials
supplied later (before or while the case waits at the common 容缺 gate), issuance held until
they are, and the gate's timer ending the case as 退件 (outcome 5) when they never come."""
from __future__ import annotations

import io
from datetime import datetime

import pytest

from engine.cases import eventlog as audit, canonical
from engine.worktime.clock import SHANGHAI
from engine.acceptance.deficiency import GATE_TASK, MissingMaterial
from engine.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from engine.cases.dto import Actor

from tests.scenarios.test_construction_permit import (ACCEPT, ADMIN, FRONT, ITEMS, PROCESS,
                                                     audit_ok, issue, review_all, specs, task)

MISSING = [MissingMaterial("supervision_contract_file", "监理合同", "工程质量监督"),
           MissingMaterial("disposal_site_agreement_file", "消纳场地协议", "建筑垃圾处置核准")]
RESTAURANT_CLERK = Actor("somebody", frozenset({"approver"}), frozenset({"住房和城乡建设局"}))


def start_deficient(rt, missing=MISSING):
    from web import formsource
    from demo import CONSTRUCTION_APPLICATION

    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, PROCESS)
    data = formsource.clean_application(rt, definition, {**CONSTRUCTION_APPLICATION})
    for m in missing:
        data.pop(m.field, None)
    data.update(rt.deficiencies.plan(PROCESS, missing, signed_by="李建设",
                                     witnessed_by=FRONT.username))
    case = rt.cases.start_case(PROCESS, data, FRONT)
    return rt.cases.complete(case.tasks[0].id, {**ACCEPT, "materials_complete": False}, FRONT)


def upload(rt, name="补交.pdf"):
    return rt.uploads.save(io.BytesIO(b"%PDF-1.4 supplied"), name, "frontdesk").id


def test_the_deadline_is_within_the_promised_limit(deployed, clock):
    rt = deployed
    case = start_deficient(rt)
    data = rt.cases.get_case(case.id, ADMIN, with_data=True).data
    assert data["deficiency_outstanding"] is True
    assert [d["field"] for d in data["deficiency"]] == [m.field for m in MISSING]
    deadline = datetime.fromisoformat(data["deficiency_deadline"])
    # Friday 2026-11-20 + 5 working days = end of Friday 2026-11-27, the one-thing's promise.
    assert deadline == datetime(2026, 11, 27, 23, 59, 59, tzinfo=SHANGHAI)
    clocks = rt.clocks.summary_of(case.id)
    assert deadline <= datetime.fromisoformat(clocks["deadline"])
    assert data["deficiency_commitment"]["signed_by"] == "李建设"
    assert data["deficiency_commitment"]["witnessed_by"] == "frontdesk"


def test_a_commitment_is_required_to_defer(deployed):
    with pytest.raises(ValidationFailed) as err:
        deployed.deficiencies.plan(PROCESS, MISSING, signed_by=" ", witnessed_by="frontdesk")
    assert "承诺书" in err.value.message


def test_supplied_during_review_lets_issuance_follow_at_once(deployed):
    rt = deployed
    case = start_deficient(rt)
    case = rt.cases.complete(task(case, "quality_supervision_review").id,
                             {"quality_supervision_decision": "approve",
                              "quality_supervision_opinion": "同意"},
                             Actor("c", frozenset({"approver"}), frozenset({"住房和城乡建设局"})))
    for m in MISSING:
        rt.deficiencies.supply(case.id, m.field, upload(rt), FRONT)
    assert rt.deficiencies.outstanding(case.id, ADMIN) == []
    case = review_all(rt, rt.cases.get_case(case.id, ADMIN))
    assert specs(case) == ["issuance"]  # the gate did not wait
    final = issue(rt, case)
    assert final["outcome_code"] == "0" and final["deficiency_outstanding"] is False
    assert final["supervision_contract_file"]  # the supplied upload is the case's material
    audit_ok(rt, case)


def test_issuance_waits_at_the_gate_until_the_last_material_arrives(deployed):
    rt = deployed
    case = review_all(rt, start_deficient(rt))
    assert [(t.task_spec, t.name, t.lane) for t in case.tasks] == [
        (GATE_TASK, "容缺材料补齐", "综合受理窗口")]
    case = rt.cases.get_case(case.id, ADMIN)
    first = rt.deficiencies.supply(case.id, MISSING[0].field, upload(rt), FRONT)
    assert specs(first) == [GATE_TASK]  # one still missing: no issuance yet
    left = rt.deficiencies.outstanding(case.id, ADMIN)
    assert [d.field for d in left] == [MISSING[1].field]
    done = rt.deficiencies.supply(case.id, MISSING[1].field, upload(rt), FRONT,
                                  source="网上提交")
    assert specs(done) == ["issuance"]
    events = rt.cases.events(case.id, ADMIN)
    supplied = [canonical.loads(e.payload) for e in events if e.kind == audit.MATERIAL_SUPPLIED]
    assert [(p["field"], p["source"]) for p in supplied] == [
        (MISSING[0].field, "窗口上传"), (MISSING[1].field, "网上提交")]
    assert supplied[-1]["outstanding"] == []
    final = issue(rt, done)
    assert final["outcome_code"] == "0" and final["approved_count"] == 12
    audit_ok(rt, case)


def test_not_supplied_in_time_the_timer_withdraws_the_case(deployed, clock):
    rt = deployed
    case = review_all(rt, start_deficient(rt))
    assert specs(case) == [GATE_TASK]
    rt.deficiencies.supply(case.id, MISSING[0].field, upload(rt), FRONT)
    assert rt.timers.run_once().fired == 0  # not due yet
    clock.advance(days=8)  # past the end of Friday 2026-11-27
    assert rt.timers.run_once().fired >= 1  # the gate's deadline (and any other due timers)
    ended = rt.cases.get_case(case.id, ADMIN, with_data=True)
    assert ended.status == "completed" and not ended.tasks
    assert ended.data["outcome_code"] == "5" and ended.data["case_withdrawn"] is True
    assert "未在承诺期限内补齐" in ended.data["withdrawn_reason"]
    assert "issuance" not in {e.task_spec for e in rt.cases.events(case.id, ADMIN)}
    with pytest.raises(Conflict):
        rt.deficiencies.supply(case.id, MISSING[1].field, upload(rt), FRONT)
    audit_ok(rt, case)
    from engine.audit import replay

    assert replay.reexecute(rt, case.id).conformant  # supply and timer replay from the log


def test_supply_refuses_what_it_cannot_record(deployed):
    rt = deployed
    case = start_deficient(rt)
    with pytest.raises(NotFound):
        rt.deficiencies.supply(999999, MISSING[0].field, upload(rt), FRONT)
    with pytest.raises(NotAllowed):
        rt.deficiencies.supply(case.id, MISSING[0].field, upload(rt), RESTAURANT_CLERK)
    with pytest.raises(ValidationFailed):
        rt.deficiencies.supply(case.id, "builder_licence_file", upload(rt), FRONT)
    with pytest.raises(ValidationFailed):
        rt.deficiencies.supply(case.id, MISSING[0].field, "no-such-upload", FRONT)
    rt.deficiencies.supply(case.id, MISSING[0].field, upload(rt), FRONT)
    with pytest.raises(Conflict):
        rt.deficiencies.supply(case.id, MISSING[0].field, upload(rt), FRONT)


def test_a_case_without_deficiency_passes_the_gate(deployed):
    rt = deployed
    case = start_deficient(rt, missing=[])
    assert rt.deficiencies.outstanding(case.id, ADMIN) == []
    assert specs(review_all(rt, case)) == ["issuance"]
    with pytest.raises(Conflict):
        rt.deficiencies.supply(case.id, MISSING[0].field, upload(rt), FRONT)
    assert len(ITEMS) == 12


def test_completing_the_gate_by_hand_does_not_skip_what_is_owed(deployed):
    rt = deployed
    case = review_all(rt, start_deficient(rt))
    gate = task(case, GATE_TASK)
    case = rt.cases.complete(gate.id, {"deficiency_supply_note": "申请人说已交"}, FRONT)
    again = task(case, GATE_TASK)  # checked again: still owed, so it waits again
    assert again.id != gate.id and specs(case) == [GATE_TASK]
    for m in MISSING:
        case = rt.deficiencies.supply(case.id, m.field, upload(rt), FRONT)
    assert specs(case) == ["issuance"]


def test_a_case_with_materials_supplied_later_re_executes_from_its_log(deployed):
    from engine.audit import replay

    rt = deployed
    case = review_all(rt, start_deficient(rt))
    for m in MISSING:
        case = rt.deficiencies.supply(case.id, m.field, upload(rt), FRONT)
    issue(rt, case)
    result = replay.reexecute(rt, case.id)
    assert result.conformant, result.to_dict()
