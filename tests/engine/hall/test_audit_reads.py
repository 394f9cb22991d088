"""The auditor's service calls: hash chains verified, analytics and diagrams read — for
auditors and administrators only, as plain data."""
from __future__ import annotations

import pytest

from engine.audit import analytics
from engine.cases.dto import Actor
from engine.errors import NotAllowed, NotFound
from engine.hall import analytics as hall_analytics, audit

AUDITOR = Actor("auditor", frozenset({"auditor"}))
CLERK = Actor("fd", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
ADMIN = Actor("admin", frozenset({"admin"}))


def test_every_chain_is_verified_and_one_case_is_found_by_number(deployed):
    from demo import CONSTRUCTION_APPLICATION

    case = deployed.cases.start_case("onething_construction_permit",
                                     dict(CONSTRUCTION_APPLICATION), ADMIN)
    [result] = audit.verify_chains(deployed, AUDITOR)
    assert result.ok and (result.case_id, result.case_number) == (case.id, case.number)
    assert result.events >= 1 and result.head_hash
    assert [r.case_id for r in audit.verify_chains(deployed, AUDITOR, case=case.number)] == [
        case.id]
    assert audit.verify_chains(deployed, AUDITOR, case="nope") == []
    assert audit.case_id_of(deployed, AUDITOR, case.number) == case.id
    assert audit.case_id_of(deployed, AUDITOR, "nope") is None


def test_analytics_name_the_processes_and_draw_the_chosen_one(deployed):
    report = hall_analytics.analytics_report(deployed, AUDITOR, process=None, map_key=None,
                                             period=analytics.Period())
    assert report.key is not None and report.key.startswith("onething_")
    assert report.key in {p.key for p in report.processes}
    assert report.map_key == report.key and report.versions == [1]
    assert "<" in hall_analytics.diagram_xml(deployed, AUDITOR, report.key, None)
    with pytest.raises(NotFound):
        hall_analytics.diagram_xml(deployed, AUDITOR, "no_such_process", None)


def test_only_auditors_and_administrators_read_the_audit(runtime):
    with pytest.raises(NotAllowed):
        audit.verify_chains(runtime, CLERK)
    with pytest.raises(NotAllowed):
        audit.case_id_of(runtime, CLERK, "1")
    with pytest.raises(NotAllowed):
        hall_analytics.analytics_report(runtime, CLERK, process=None, map_key=None,
                                        period=analytics.Period())
    with pytest.raises(NotAllowed):
        hall_analytics.diagram_xml(runtime, CLERK, "x", None)
    assert audit.verify_chains(runtime, ADMIN) == []


def test_the_search_finds_a_case_by_number_and_names_the_processes(deployed):
    from demo import CONSTRUCTION_APPLICATION
    from engine.audit.search import CaseQuery

    case = deployed.cases.start_case("onething_construction_permit",
                                     dict(CONSTRUCTION_APPLICATION), ADMIN)
    found = audit.search_cases(deployed, AUDITOR, CaseQuery(number=case.number))
    assert [h.id for h in found.hits] == [case.id]
    assert "onething_construction_permit" in {p.key for p in found.processes}
    assert audit.search_cases(deployed, AUDITOR, None).hits == []
    with pytest.raises(NotAllowed):
        audit.search_cases(deployed, CLERK, None)
