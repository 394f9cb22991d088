"""Materials belong to cases: `/materials/<id>` opens only for people who may read a case
the material is linked to (or, while unused, for its uploader); everyone else gets the
same 404 as for an id that does not exist.

Cases are accepted through the front desk's web form (the materials are real uploads),
then opened by clerks of different departments through the login form.
"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from engine.cases import canonical
from engine.cases.materials_access import link_uploads
from engine.store.models import CaseEvent
from engine.cases.dto import Actor
from tests.web.test_counter import (PDF, accept_with_deficiency, case_id_of, csrf, login,
                                    own_materials, post_application)

PASSWORD = "pass-2026-word"
HOUSING = "住房和城乡建设局"  # reviews the construction permit item of the one-thing
STATISTICS = "统计局"  # has no part in a construction permit


@pytest.fixture
def people(deployed):
    users = deployed.users
    users.create("fd", PASSWORD, display_name="王受理", roles=["frontdesk"],
                 groups=["综合受理窗口"])
    users.create("zjj", PASSWORD, roles=["approver"], groups=[HOUSING])
    users.create("zjj2", PASSWORD, roles=["approver"], groups=[HOUSING])
    users.create("tjj", PASSWORD, roles=["approver"], groups=[STATISTICS])
    users.create("auditor", PASSWORD, roles=["auditor"])
    users.create("analyst", PASSWORD, roles=["analyst"])
    return deployed


@pytest.fixture
def sign_in(app, people):
    def client_of(username: str):
        client = app.test_client()
        login(client, username, PASSWORD)
        return client
    return client_of


def application_materials(rt, case_id: int) -> dict[str, str]:
    """field id → upload id of the file fields recorded when the case was accepted."""
    with rt.db.reading() as session:
        payload = session.scalar(select(CaseEvent.payload).where(
            CaseEvent.case_id == case_id, CaseEvent.seq == 1))
    data = canonical.loads(payload)["data"]
    files = {f.id for f in own_materials(rt)}
    return {k: v for k, v in data.items() if k in files and isinstance(v, str)}


@pytest.fixture
def accepted(sign_in, people):
    """A one-thing accepted at the counter with every material the applicant brings."""
    response = post_application(sign_in("fd"), people, "accept")
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    case_id = case_id_of(response)
    materials = application_materials(people, case_id)
    assert materials, "the application recorded no material"
    return case_id, materials


def test_materials_of_a_case_open_only_for_those_who_may_read_it(sign_in, people, accepted):
    case_id, materials = accepted
    upload_id = next(iter(materials.values()))
    # Accepting the case linked every material to it, in the same transaction.
    assert all(people.uploads.cases_of(u) == [case_id] for u in materials.values())

    for username in ("fd", "zjj", "auditor"):  # the window, the reviewing department, audit
        response = sign_in(username).get(f"/materials/{upload_id}")
        assert response.status_code == 200, username
        assert response.data == PDF and response.mimetype == "application/pdf"

    # A clerk of a department with no task in the case: the same 404 as a made-up id.
    outsider = sign_in("tjj")
    denied = outsider.get(f"/materials/{upload_id}")
    unknown = outsider.get("/materials/00000000-0000-4000-8000-000000000000")
    assert denied.status_code == unknown.status_code == 404
    assert PDF not in denied.data
    assert sign_in("analyst").get(f"/materials/{upload_id}").status_code == 404


def test_a_fresh_upload_opens_only_for_its_uploader(sign_in, people):
    fresh = people.uploads.save(io.BytesIO(PDF), "草稿扫描件.pdf", "zjj")
    assert people.uploads.cases_of(fresh.id) == []
    assert sign_in("zjj").get(f"/materials/{fresh.id}").data == PDF
    for username in ("zjj2", "fd", "tjj"):  # even a colleague of the same department
        assert sign_in(username).get(f"/materials/{fresh.id}").status_code == 404, username
    # Admins and auditors read cases, not other people's unused drafts.
    assert sign_in("auditor").get(f"/materials/{fresh.id}").status_code == 404


def test_anonymous_download_is_sent_to_sign_in(app, accepted):
    _case_id, materials = accepted
    response = app.test_client().get(f"/materials/{next(iter(materials.values()))}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_deferred_material_supplied_later_belongs_to_the_case(sign_in, people):
    clerk = sign_in("fd")
    case_id = case_id_of(accept_with_deficiency(clerk, people))
    owed = own_materials(people, ("容缺后补",))[0]
    page = clerk.get(f"/counter/cases/{case_id}/materials")
    supplied = clerk.post(f"/counter/cases/{case_id}/materials",
                          data={"csrf_token": csrf(page), "field": owed.id,
                                "upload": (io.BytesIO(PDF), "监理合同.pdf")},
                          content_type="multipart/form-data")
    assert supplied.status_code in (200, 302), supplied.get_data(as_text=True)[:400]
    case = people.deficiencies.status(case_id, Actor("fd", frozenset({"frontdesk"})))[1]
    upload_id = next(d.upload for d in case if d.field == owed.id)
    assert upload_id and people.uploads.cases_of(upload_id) == [case_id]
    assert sign_in("zjj").get(f"/materials/{upload_id}").status_code == 200
    assert sign_in("tjj").get(f"/materials/{upload_id}").status_code == 404


def test_knowing_an_id_does_not_pull_a_material_into_another_case(people, accepted,
                                                                  sign_in):
    case_id, materials = accepted
    upload_id = next(iter(materials.values()))
    second = case_id_of(post_application(sign_in("fd"), people, "accept"))
    outsider = Actor("tjj", frozenset({"approver"}), frozenset({STATISTICS}))
    with people.db.transaction() as session:
        assert link_uploads(session, second, [upload_id], actor=outsider,
                            at=people.clock.now()) == []
    assert people.uploads.cases_of(upload_id) == [case_id]
    # Someone who may read it where it is may reuse it (a licence filed again).
    window = Actor("fd", frozenset({"frontdesk"}), frozenset({"综合受理窗口"}))
    with people.db.transaction() as session:
        assert link_uploads(session, second, [upload_id], actor=window,
                            at=people.clock.now()) == [upload_id]
        assert link_uploads(session, second, [upload_id], actor=window,
                            at=people.clock.now()) == []  # idempotent
    assert people.uploads.cases_of(upload_id) == sorted([case_id, second])


def test_a_correction_sent_through_the_portal_belongs_to_the_case(people, client, sign_in):
    from tests.scenarios.test_construction_permit import review, start, task
    from tests.web.test_portal import ACCEPT, FRONT, MOBILE_DIGITS
    from tests.web.test_portal import csrf as portal_csrf
    from tests.web.test_portal import look_up

    case = people.cases.complete(start(people).tasks[0].id, ACCEPT, FRONT)
    case = people.cases.complete(task(case, "night_construction_review").id,
                                 review("correct", "night_construction"),
                                 Actor("hbj", frozenset({"approver"}), frozenset({"生态环境局"})))
    correction = task(case, "night_construction_correction")
    look_up(client, case.number, MOBILE_DIGITS)
    sent = client.post("/portal/submit", data={
        "csrf_token": portal_csrf(client), "task_id": correction.id, "note": "补施工图审查合格书",
        "files": (io.BytesIO(PDF), "合格书.pdf")}, content_type="multipart/form-data")
    assert sent.status_code == 302
    upload_id = people.portal.submissions(correction.id)[0]["files"][0]["id"]
    assert people.uploads.cases_of(upload_id) == [case.id]
    assert sign_in("fd").get(f"/materials/{upload_id}").data == PDF
    assert sign_in("tjj").get(f"/materials/{upload_id}").status_code == 404


def test_the_migration_links_the_materials_of_existing_cases(people, accepted):
    """Cases filed before links existed keep their materials readable by their clerks."""
    from alembic import command

    from engine.store.db import alembic_config

    case_id, materials = accepted
    command.downgrade(alembic_config(people.db), "0007")  # as before this release
    people.db.upgrade()
    assert all(people.uploads.cases_of(u) == [case_id] for u in materials.values())
