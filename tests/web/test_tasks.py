"""The clerk's task page: completing a task is one service call."""
from __future__ import annotations

from contextlib import contextmanager

import pytest

from engine.cases import state
from engine.cases.workflow_cache import WorkflowCache
from tests.web.test_case_page import (ACCEPT, FRONT, HOUSING, ONE_THING, login,
                                        people)  # noqa: F401
from tests.web.test_loops import csrf
from web import formsource
from demo import CONSTRUCTION_APPLICATION


@pytest.fixture
def review(people):  # noqa: F811
    """The construction-permit review task of a freshly accepted one-thing."""
    rt = people
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, ONE_THING)
    data = formsource.clean_application(rt, definition, dict(CONSTRUCTION_APPLICATION))
    case = rt.cases.start_case(ONE_THING, data, FRONT)
    case = rt.cases.complete(case.tasks[0].id, ACCEPT, FRONT)
    return next(t for t in case.tasks if t.task_spec == "construction_permit_review")


class Counted:
    """How many read sessions, write transactions and workflow deserialisations ran."""

    def __init__(self, rt, monkeypatch):
        self.reads = self.writes = self.loads = 0
        reading, writing, load = rt.db.reading, rt.db.transaction, state.load

        @contextmanager
        def counted_reading():
            self.reads += 1
            with reading() as session:
                yield session

        @contextmanager
        def counted_writing():
            self.writes += 1
            with writing() as session:
                yield session

        def counted_load(*args, **kwargs):
            self.loads += 1
            return load(*args, **kwargs)

        monkeypatch.setattr(rt.db, "reading", counted_reading)
        monkeypatch.setattr(rt.db, "transaction", counted_writing)
        monkeypatch.setattr(state, "load", counted_load)


def test_an_html_completion_is_one_write_transaction_loading_the_workflow_once(
        client, people, review, monkeypatch):  # noqa: F811
    rt = people
    # No workflow kept in memory from the steps above: every load is a deserialisation.
    rt.cases.workflows = rt.cases.step.workflows = WorkflowCache(0)
    login(client, "zjj")
    token = csrf(client, f"/tasks/{review.id}")
    counted = Counted(rt, monkeypatch)
    response = client.post(f"/tasks/{review.id}", data={
        "csrf_token": token, "construction_permit_decision": "approve",
        "construction_permit_opinion": "同意"})
    reads, writes, loads = counted.reads, counted.writes, counted.loads
    assert response.status_code == 302, response.get_data(as_text=True)
    assert rt.tasks.get(review.id, HOUSING).state == "completed"
    assert (writes, loads) == (1, 1)
    # Besides the write: signing the clerk in, and reading the task's form (an HTML
    # submission is read against it before the step: unticked boxes, files).
    assert reads <= 2, reads


def test_a_refused_completion_writes_nothing_and_shows_the_fields(
        client, people, review, monkeypatch):  # noqa: F811
    rt = people
    login(client, "zjj")
    token = csrf(client, f"/tasks/{review.id}")
    before = len(rt.cases.events(review.case_id, FRONT))
    response = client.post(f"/tasks/{review.id}", data={"csrf_token": token,
                                                         "construction_permit_decision": "x"})
    assert response.status_code == 422
    assert "construction_permit_decision" in response.get_data(as_text=True)
    assert len(rt.cases.events(review.case_id, FRONT)) == before


def test_an_api_completion_is_one_write_transaction_loading_the_workflow_once(
        client, people, review, monkeypatch):  # noqa: F811
    rt = people
    rt.cases.workflows = rt.cases.step.workflows = WorkflowCache(0)
    token = rt.users.issue_token("zjj")
    counted = Counted(rt, monkeypatch)
    response = client.post(f"/api/v1/tasks/{review.id}/complete",
                           headers={"Authorization": f"Bearer {token}"},
                           json={"data": {"construction_permit_decision": "approve",
                                          "construction_permit_opinion": "同意"}})
    writes, loads = counted.writes, counted.loads
    assert response.status_code == 200, response.get_json()
    assert (writes, loads) == (1, 1)
