"""The front desk's service (engine.hall.counter): one call per action, rules inside, the
case started with its decision in one transaction — or nothing written at all."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from engine.acceptance.connectors import data_sharing
from engine.acceptance.rules import Decision
from engine.cases.service import FirstStep
from engine.cases.dto import SYSTEM, Actor
from engine.errors import Conflict, NotAllowed
from engine.hall.counter import (DEFICIENCY_NOTICE, NOTICE, RECEIPT, ApplicationRefused,
    Counter, Filing)
from engine.store.models import CaseEvent, CaseRecord, HumanTask
from demo import CONSTRUCTION_APPLICATION

PROCESS = "onething_construction_permit"
FRONT = Actor("fd", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def desk(deployed) -> Counter:
    return Counter(deployed, data_sharing(None, local_flags=deployed.credit))


def brought(desk: Counter, necessities=("必要", "容缺后补")) -> dict[str, str]:
    """The application with the materials the applicant brings (one scan under each)."""
    upload = desk.runtime.uploads.save(io.BytesIO(PDF), "材料.pdf", "fd").id
    app = desk.application(PROCESS)
    return {**CONSTRUCTION_APPLICATION,
            **{r.field.id: upload for r in app.materials
               if r.field.source == "申请人自备" and r.necessity in necessities}}


def written(rt) -> tuple[int, int, int]:
    """(cases, events, task rows) in the database."""
    with rt.db.reading() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (CaseRecord, CaseEvent, HumanTask))


def test_accept_starts_the_case_with_its_decision_in_one_step(desk):
    filed = desk.accept(Filing(PROCESS, "accept", brought(desk)), FRONT)
    assert filed.notice == RECEIPT and filed.deferred == ()
    assert filed.number.endswith("-00001") and len(filed.case.tasks) == 12
    events = desk.runtime.cases.events(filed.case_id, SYSTEM)
    front = [e.kind for e in events if e.task_spec == "front_desk_acceptance"]
    assert front == ["task_created", "task_completed"]
    assert {e.actor for e in events if e.task_spec == "front_desk_acceptance"} == {"fd"}


def test_a_failure_in_the_decision_leaves_nothing_written(desk, monkeypatch):
    rt = desk.runtime
    before = written(rt)

    def broken(*args, **kwargs):
        raise Conflict("受理决定未能记录")

    monkeypatch.setattr(rt.cases, "_complete_row", broken)
    with pytest.raises(Conflict):
        desk.accept(Filing(PROCESS, "accept", brought(desk)), FRONT)
    assert written(rt) == before == (0, 0, 0)
    monkeypatch.undo()
    # not even a case number was used up
    assert desk.accept(Filing(PROCESS, "accept", brought(desk)), FRONT).number.endswith("-00001")


def test_a_start_whose_first_step_does_not_open_is_not_written(desk):
    from engine.hall import forms

    rt = desk.runtime
    app = desk.application(PROCESS)
    data = forms.clean_application(rt, app.definition, dict(CONSTRUCTION_APPLICATION))
    with pytest.raises(Conflict):
        rt.cases.start_case(PROCESS, data, FRONT, first_step=FirstStep("no_such_step", {}))
    assert written(rt) == (0, 0, 0)


def test_missing_required_materials_are_refused_and_nothing_is_written(desk):
    with pytest.raises(ApplicationRefused) as refused:
        desk.accept(Filing(PROCESS, "accept", dict(CONSTRUCTION_APPLICATION)), FRONT)
    assert "construction_contract_file" in refused.value.fields
    assert refused.value.values["planning_permit_file"]  # pulled by data sharing, kept
    assert written(desk.runtime) == (0, 0, 0)


def test_deficiency_acceptance_plans_each_deadline(desk):
    decision = Decision(deficiency_commitment="signed", deficiency_signer="李建设")
    filed = desk.accept(Filing(PROCESS, "accept", brought(desk, ("必要",)), decision), FRONT)
    assert filed.notice == DEFICIENCY_NOTICE
    assert filed.deferred and all(d["deadline"] == "2026-11-27T23:59:59+08:00"
                                  for d in filed.deferred)


def test_the_notice_is_given_with_everything_missing(desk):
    filed = desk.notify(Filing(PROCESS, "notify", dict(CONSTRUCTION_APPLICATION)), FRONT)
    assert filed.notice == NOTICE
    assert [t.task_spec for t in filed.case.tasks] == ["supplement_materials"]


@pytest.mark.parametrize("actor", [
    Actor("zjj", frozenset({"approver"}), frozenset({"住房和城乡建设局"})),
    Actor("other", frozenset({"frontdesk"}), frozenset({"统一出件窗口"})),
])
def test_only_the_front_desk_files(desk, actor):
    with pytest.raises(NotAllowed):
        desk.accept(Filing(PROCESS, "accept", brought(desk)), actor)
    assert written(desk.runtime) == (0, 0, 0)
