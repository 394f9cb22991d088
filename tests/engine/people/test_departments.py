"""Departments and windows (engine/departments.py) and the user management around them
(engine/users.py): names are lane names, people may only be given active ones, and the
admin finds the lanes of deployed processes that no department has yet."""
from __future__ import annotations

import logging

import pytest
from alembic import command
from sqlalchemy import inspect

from engine.people.departments import Departments, task_lanes
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.store.db import alembic_config
from engine.people.users import ROLES
from tests.conftest import PROCESSES, deploy_files
from demo import DEMO_USERS, seed

ZJJ = "住房和城乡建设局"
FRONT = "综合受理窗口"


@pytest.fixture
def departments(runtime):
    return Departments(runtime.db)


# --- departments --------------------------------------------------------------------------

def test_add_list_and_get(departments):
    added = departments.add(f"  {ZJJ} ", code="11371500MB0000001X")
    window = departments.add(FRONT, kind="window")
    assert (added.name, added.kind, added.active) == (ZJJ, "department", True)
    assert departments.get(ZJJ) == added
    assert departments.by_id(window.id) == window
    assert [d.name for d in departments.list()] == [FRONT, ZJJ]  # windows first
    assert window.kind_label == "窗口" and added.kind_label == "部门"
    assert departments.active_names() == {ZJJ, FRONT}
    assert departments.get("不存在的局") is None


def test_names_and_codes_are_unique(departments):
    departments.add(ZJJ, code="A1")
    with pytest.raises(Conflict, match="已存在"):
        departments.add(ZJJ)
    with pytest.raises(Conflict, match="编码 A1"):
        departments.add("水利局", code="A1")
    departments.add("水利局")  # no code: several departments may have none
    departments.add("城市管理局", code="")
    assert len(departments.list()) == 3


@pytest.mark.parametrize("name, field", [
    ("", "name"), ("   ", "name"), ("局" * 201, "name"), ("住建\n局", "name"),
    ("住建局,水利局", "name"), ("住建局，水利局", "name"), (None, "name"),
])
def test_bad_names_are_refused_in_chinese(departments, name, field):
    with pytest.raises(ValidationFailed) as caught:
        departments.add(name)
    assert field in caught.value.fields
    assert any("\u4e00" <= ch <= "\u9fff" for ch in caught.value.message)


def test_bad_kind_and_code(departments):
    with pytest.raises(ValidationFailed, match="类型"):
        departments.add(ZJJ, kind="bureau")
    with pytest.raises(ValidationFailed, match="编码"):
        departments.add(ZJJ, code="x" * 51)
    assert departments.list() == []


def test_deactivate_and_reactivate(departments):
    departments.add(ZJJ)
    assert departments.deactivate(ZJJ).active is False
    assert departments.active_names() == set()
    assert [d.name for d in departments.list(active_only=True)] == []
    with pytest.raises(Conflict, match="已停用"):
        departments.add(ZJJ)
    assert departments.activate(ZJJ).active is True
    with pytest.raises(NotFound):
        departments.deactivate("没有这个局")
    with pytest.raises(NotFound):
        departments.by_id(999)


def test_changes_are_logged_with_the_actor(departments, caplog):
    with caplog.at_level(logging.INFO, logger="onething.admin"):
        departments.add(ZJJ, actor="boss")
        departments.deactivate(ZJJ, actor="boss")
    lines = [r.getMessage() for r in caplog.records if r.name == "onething.admin"]
    assert len(lines) == 2 and all("boss" in line and ZJJ in line for line in lines)


# --- people and departments -----------------------------------------------------------------

def test_a_person_may_only_be_given_active_departments(runtime, departments):
    departments.add(ZJJ)
    departments.add("水利局")
    departments.deactivate("水利局")
    with pytest.raises(ValidationFailed, match="不存在或已停用：人防办") as caught:
        runtime.users.add("rfb", roles=["approver"], groups=["人防办"])
    assert "groups" in caught.value.fields
    with pytest.raises(ValidationFailed, match="水利局"):
        runtime.users.add("slj", roles=["approver"], groups=["水利局"])
    user, password = runtime.users.add("zjj", roles=["approver", "lead"], groups=[ZJJ],
                                       display_name="李审批")
    assert (user.roles, user.groups, user.display_name) == (("approver", "lead"), (ZJJ,), "李审批")
    assert runtime.users.by_password("zjj", password).groups == frozenset({ZJJ})
    with pytest.raises(ValidationFailed, match="人防办"):
        runtime.users.update("zjj", groups=[ZJJ, "人防办"])


def test_a_department_already_held_may_stay_after_deactivation(runtime, departments):
    departments.add(ZJJ)
    departments.add("水利局")
    runtime.users.add("zjj", roles=["approver"], groups=[ZJJ])
    departments.deactivate(ZJJ)
    # Changing roles (and re-sending the groups the person has) still works.
    user = runtime.users.update("zjj", roles=["approver", "lead"], groups=[ZJJ, "水利局"])
    assert set(user.groups) == {"水利局", ZJJ}
    assert runtime.users.update("zjj", groups=["水利局"]).groups == ("水利局",)
    with pytest.raises(ValidationFailed):  # once gone, it cannot come back while inactive
        runtime.users.update("zjj", groups=["水利局", ZJJ])


def test_roles_come_from_one_list(runtime):
    assert list(ROLES)[:7] == ["frontdesk", "approver", "lead", "issuance", "analyst",
                               "auditor", "admin"]
    assert ROLES["frontdesk"] == "综合受理窗口" and ROLES["admin"] == "管理员"
    with pytest.raises(ValidationFailed, match="未知角色：boss") as caught:
        runtime.users.add("x1", roles=["boss"])
    assert "roles" in caught.value.fields
    runtime.users.add("x1", roles=["auditor"])
    with pytest.raises(ValidationFailed, match="未知角色"):
        runtime.users.update("x1", roles=["auditor", "root"])


@pytest.mark.parametrize("username", ["", "a", "has space", "中文名", "-lead", "x" * 101, "a/b"])
def test_usernames_are_checked(runtime, username):
    with pytest.raises(ValidationFailed) as caught:
        runtime.users.add(username)
    assert "username" in caught.value.fields


def test_add_generates_or_checks_the_password(runtime):
    _user, generated = runtime.users.add("clerk")
    assert len(generated) >= 12 and runtime.users.by_password("clerk", generated)
    with pytest.raises(ValidationFailed, match="至少 8"):
        runtime.users.add("clerk2", "short")
    _user, chosen = runtime.users.add("clerk2", "long-enough-1")
    assert chosen == "long-enough-1"
    with pytest.raises(Conflict, match="已存在"):
        runtime.users.add("clerk2")


def test_deactivate_ends_sign_in_and_token(runtime):
    runtime.users.create("root", "root-pw-123", roles=["admin"])
    runtime.users.add("fd", "fd-pw-1234", roles=["frontdesk"])
    token = runtime.users.issue_token("fd")
    assert runtime.users.by_token(token) is not None
    runtime.users.deactivate("fd", actor="root")
    assert runtime.users.by_password("fd", "fd-pw-1234") is None
    assert runtime.users.by_token(token) is None
    assert runtime.users.view("fd").has_token is False
    # Reactivating does not bring the old token back.
    runtime.users.activate("fd", actor="root")
    assert runtime.users.by_token(token) is None
    assert runtime.users.by_password("fd", "fd-pw-1234") is not None
    with pytest.raises(NotFound):
        runtime.users.deactivate("nobody", actor="root")


def test_reset_password(runtime):
    runtime.users.add("fd", "old-password", roles=["frontdesk"])
    new = runtime.users.reset_password("fd", actor="root")
    assert new != "old-password"
    assert runtime.users.by_password("fd", "old-password") is None
    assert runtime.users.by_password("fd", new) is not None
    assert runtime.users.reset_password("fd", "chosen-pass-1") == "chosen-pass-1"
    with pytest.raises(ValidationFailed):
        runtime.users.reset_password("fd", "short")


def test_the_last_admin_stays(runtime):
    runtime.users.add("root", roles=["admin"])
    runtime.users.add("other", roles=["frontdesk"])
    with pytest.raises(Conflict, match="不能停用自己"):
        runtime.users.deactivate("root", actor="root")
    with pytest.raises(Conflict, match="至少须保留一名"):
        runtime.users.deactivate("root", actor="other")
    with pytest.raises(Conflict, match="不能取消自己的管理员角色"):
        runtime.users.update("root", roles=["frontdesk"], actor="root")
    with pytest.raises(Conflict, match="至少须保留一名"):
        runtime.users.update("root", roles=["frontdesk"], actor="other")
    runtime.users.add("root2", roles=["admin"])
    assert runtime.users.update("root", roles=["auditor"], actor="root2").roles == ("auditor",)
    assert runtime.users.view("root").active


def test_list_users(runtime, departments):
    departments.add(FRONT, kind="window")
    runtime.users.add("bb", roles=["frontdesk"], groups=[FRONT])
    runtime.users.add("aa", roles=["auditor"])
    runtime.users.add("root", roles=["admin"])
    runtime.users.deactivate("bb", actor="root")
    listed = runtime.users.list()
    assert [u.username for u in listed] == ["aa", "root", "bb"]  # active first
    assert listed[2].active is False and listed[2].groups == (FRONT,)
    assert listed[0].role_labels == ["审计员"]


# --- lanes ----------------------------------------------------------------------------------

def test_lanes_without_department(deployed):
    deps = Departments(deployed.db)
    missing = deps.lanes_without_department(deployed.definitions)
    assert {ZJJ, "人民防空办公室", "城市管理局", "生态环境局", "水利局", FRONT, "统一出件窗口"} <= set(missing)
    assert "后台审批" not in missing  # a lane of call activities only: no queue, no department
    assert any("施工许可" in p for p in missing[ZJJ])
    deps.add(ZJJ)
    deps.add(FRONT, kind="window")
    missing = deps.lanes_without_department(deployed.definitions)
    assert ZJJ not in missing and FRONT not in missing
    deps.deactivate(ZJJ)
    assert ZJJ in deps.lanes_without_department(deployed.definitions)


def test_deploy_does_not_need_departments(runtime):
    assert Departments(runtime.db).list() == []
    results = deploy_files(runtime, PROCESSES)
    assert results and all(r.created for r in results)


def test_task_lanes_of_a_document(deployed):
    with deployed.db.reading() as session:
        top = deployed.definitions.latest(session, "onething_construction_permit")
        document = deployed.definitions.document(session, top.key, top.content_hash)
    assert task_lanes(document) == [FRONT, "统一出件窗口"]


def test_lanes_of_open_tasks_count_too(runtime):
    from datetime import datetime, timezone

    from engine.store.models import CaseRecord, HumanTask, ProcessDefinition

    now = datetime(2026, 11, 20, tzinfo=timezone.utc)
    with runtime.db.transaction() as session:
        definition = ProcessDefinition(key="old", version=1, name="旧流程", content_hash="0" * 64,
                                       file_name="old.bpmn", bpmn_xml="", called_keys=[],
                                       deployed_at=now)
        session.add(definition)
        session.flush()
        case = CaseRecord(number="N1", process_key="old", definition_id=definition.id, pins={},
                          status="running", created_at=now, updated_at=now, version=1)
        session.add(case)
        session.flush()
        session.add(HumanTask(id="t1", case_id=case.id, process_key="old", task_spec="t",
                              name="审查", lane="旧科室", definition_hash="0" * 64, state="open",
                              created_at=now))
    # The old definition has an empty document: only the open task names the lane.
    missing = Departments(runtime.db).lanes_without_department(_NoDocuments())
    assert missing == {"旧科室": ["old"]}


class _NoDocuments:
    @staticmethod
    def all_latest(session):
        return []


# --- demo seed and migration ------------------------------------------------------------------

def test_demo_seed_creates_the_demo_departments(runtime):
    seed(runtime)
    seed(runtime)  # again: nothing new, nothing refused
    deps = Departments(runtime.db)
    expected = {g for *_, groups in DEMO_USERS for g in groups}
    assert {d.name for d in deps.list()} == expected
    assert deps.get(FRONT).kind == "window" and deps.get(ZJJ).kind == "department"
    # And the demo people can now be managed through the checked path.
    assert runtime.users.update("zjj", groups=[ZJJ, "水利局"]).groups == ("住房和城乡建设局", "水利局")


def test_migration_0002_goes_down_and_up(runtime):
    config = alembic_config(runtime.db)
    assert "department" in inspect(runtime.db.engine).get_table_names()
    command.downgrade(config, "0001")
    assert "department" not in inspect(runtime.db.engine).get_table_names()
    command.upgrade(config, "head")
    columns = {c["name"]: c for c in inspect(runtime.db.engine).get_columns("department")}
    assert set(columns) == {"id", "name", "code", "kind", "active"}
    assert columns["code"]["nullable"] and not columns["name"]["nullable"]
    Departments(runtime.db).add(ZJJ)
