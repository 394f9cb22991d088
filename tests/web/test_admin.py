"""/admin as an administrator uses it, through HTTP only (sign-in with the login page's CSRF
token), and the `onething users …` / `onething departments …` commands."""
from __future__ import annotations

import io
import logging
import re

import pytest

from engine.people.departments import Departments
from tests.conftest import PROCESSES, deploy_files
from cli import main

ZJJ = "住房和城乡建设局"
FRONT = "综合受理窗口"
ADMIN_PASSWORD = "admin-pass-1"


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(client, username: str, password: str):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


def text_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def hall(runtime):
    """An admin, two departments (one window), a clerk."""
    deps = Departments(runtime.db)
    deps.add(ZJJ)
    deps.add(FRONT, kind="window")
    runtime.users.create("admin", ADMIN_PASSWORD, display_name="系统管理员", roles=["admin"])
    runtime.users.create("fd", "fd-pass-123", display_name="王受理", roles=["frontdesk"],
                         groups=[FRONT])
    return runtime


@pytest.fixture
def admin(client, hall):
    assert login(client, "admin", ADMIN_PASSWORD).status_code == 302
    return client


def token(client, url: str = "/admin/users") -> str:
    return csrf_of(text_of(client.get(url)))


def secret_on(page: str) -> str:
    found = re.search(r'<p class="secret" id="secret">([^<]+)</p>', page)
    assert found, page
    return found.group(1)


# --- who may --------------------------------------------------------------------------------

ADMIN_GETS = ["/admin/", "/admin/users", "/admin/users/fd", "/admin/departments"]
ADMIN_POSTS = ["/admin/users", "/admin/users/fd", "/admin/users/fd/deactivate",
               "/admin/users/fd/activate", "/admin/users/fd/password", "/admin/users/fd/token",
               "/admin/departments", "/admin/departments/1/deactivate",
               "/admin/departments/1/activate"]


def test_only_admins(client, hall):
    for url in ADMIN_GETS:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location, url
    login(client, "fd", "fd-pass-123")
    csrf = csrf_of(text_of(client.get("/tasks")))
    for url in ADMIN_GETS:
        assert client.get(url).status_code == 403, url
    for url in ADMIN_POSTS:
        assert client.post(url, data={"csrf_token": csrf, "name": "x"}).status_code == 403, url
    assert "/admin/users" not in text_of(client.get("/tasks"))
    assert hall.users.view("fd").active and Departments(hall.db).get(ZJJ).active


def test_nav_shows_admin_to_admins(admin):
    page = text_of(admin.get("/tasks"))
    assert 'href="/admin/users"' in page


def test_posts_need_the_csrf_token(admin, hall):
    assert admin.post("/admin/users", data={"username": "x1"}).status_code == 400
    assert admin.post("/admin/users/fd/deactivate").status_code == 400
    assert admin.post("/admin/departments", data={"name": "水利局"}).status_code == 400
    assert hall.users.get("x1") is None and hall.users.view("fd").active
    assert Departments(hall.db).get("水利局") is None


# --- people ---------------------------------------------------------------------------------

def test_user_list_shows_roles_and_departments(admin):
    page = text_of(admin.get("/admin/users"))
    assert "王受理" in page and FRONT in page
    assert "综合受理窗口" in page and "管理员" in page  # role labels, in Chinese
    for role in ("frontdesk", "approver", "lead", "issuance", "analyst", "auditor", "admin"):
        assert f'value="{role}"' in page
    assert f'value="{ZJJ}"' in page  # department choices


def test_create_user_shows_the_password_once(admin, hall, client, app):
    response = admin.post("/admin/users", data={
        "csrf_token": token(admin), "username": "zjj", "display_name": "李审批",
        "roles": ["approver", "lead"], "groups": [ZJJ]})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    password = secret_on(text_of(response))
    user = hall.users.view("zjj")
    assert (user.roles, user.groups, user.display_name) == (("approver", "lead"), (ZJJ,), "李审批")
    fresh = app.test_client()
    assert login(fresh, "zjj", password).status_code == 302
    assert fresh.get("/tasks").status_code == 200
    assert password not in text_of(admin.get("/admin/users"))


def test_create_user_with_a_chosen_password(admin, hall):
    response = admin.post("/admin/users", data={
        "csrf_token": token(admin), "username": "aud", "password": "chosen-pass-1",
        "roles": ["auditor"]})
    assert response.status_code == 302
    assert hall.users.by_password("aud", "chosen-pass-1") is not None
    assert "aud" in text_of(admin.get(response.location))


@pytest.mark.parametrize("data, status, message", [
    ({"username": "zjj2", "roles": ["approver"], "groups": ["人民防空办公室"]}, 422,
     "部门/窗口不存在或已停用：人民防空办公室"),
    ({"username": "zjj2", "roles": ["superuser"]}, 422, "未知角色：superuser"),
    ({"username": "", "roles": ["approver"]}, 422, "请填写用户名"),
    ({"username": "中文", "roles": ["approver"]}, 422, "用户名须为"),
    ({"username": "zjj2", "password": "short"}, 422, "密码至少 8 个字符"),
    ({"username": "fd", "roles": ["frontdesk"]}, 409, "用户 fd 已存在"),
])
def test_create_user_refusals_are_shown_on_the_form(admin, hall, data, status, message):
    response = admin.post("/admin/users", data={"csrf_token": token(admin), **data})
    assert response.status_code == status
    page = text_of(response)
    assert message in page
    assert 'class="field invalid"' in page or 'class="invalid"' in page
    assert hall.users.get("zjj2") is None


def test_a_deactivated_department_cannot_be_given(admin, hall):
    Departments(hall.db).deactivate(ZJJ)
    page = text_of(admin.get("/admin/users"))
    assert f'value="{ZJJ}"' not in page  # not offered
    response = admin.post("/admin/users", data={"csrf_token": token(admin), "username": "zjj",
                                                "roles": ["approver"], "groups": [ZJJ]})
    assert response.status_code == 422 and hall.users.get("zjj") is None


def test_edit_roles_and_departments(admin, hall, caplog):
    with caplog.at_level(logging.INFO, logger="onething.admin"):
        response = admin.post("/admin/users/fd", data={
            "csrf_token": token(admin, "/admin/users/fd"), "display_name": "王受理（组长）",
            "roles": ["frontdesk", "lead"], "groups": [FRONT, ZJJ]})
    assert response.status_code == 302
    user = hall.users.view("fd")
    assert (set(user.roles), set(user.groups)) == ({"frontdesk", "lead"}, {FRONT, ZJJ})
    assert user.display_name == "王受理（组长）"
    assert any("admin" in r.getMessage() and "fd" in r.getMessage() for r in caplog.records)
    assert "已保存用户 fd" in text_of(admin.get(response.location))


def test_edit_keeps_a_deactivated_department_but_does_not_add_one(admin, hall):
    deps = Departments(hall.db)
    deps.add("水利局")
    deps.deactivate(FRONT)
    deps.deactivate("水利局")
    page = text_of(admin.get("/admin/users/fd"))
    assert f'value="{FRONT}"' in page and "已停用或未建立" in page  # still held: still shown
    assert 'value="水利局"' not in page
    csrf = csrf_of(page)
    response = admin.post("/admin/users/fd", data={"csrf_token": csrf, "display_name": "王受理",
                                                   "roles": ["frontdesk", "lead"], "groups": [FRONT]})
    assert response.status_code == 302 and hall.users.view("fd").roles == ("frontdesk", "lead")
    response = admin.post("/admin/users/fd", data={"csrf_token": csrf, "display_name": "王受理",
                                                   "roles": ["frontdesk"], "groups": [FRONT, "水利局"]})
    assert response.status_code == 422 and hall.users.view("fd").groups == (FRONT,)


def test_unknown_user_is_404(admin):
    csrf = token(admin)
    assert admin.get("/admin/users/nobody").status_code == 404
    for action in ("deactivate", "activate", "password", "token"):
        assert admin.post(f"/admin/users/nobody/{action}",
                          data={"csrf_token": csrf}).status_code == 404


def test_deactivate_ends_sign_in_session_and_token(admin, hall, app):
    api_token = hall.users.issue_token("fd")
    clerk = app.test_client()
    login(clerk, "fd", "fd-pass-123")
    assert clerk.get("/tasks").status_code == 200
    bearer = {"Authorization": f"Bearer {api_token}"}
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 200

    response = admin.post("/admin/users/fd/deactivate", data={"csrf_token": token(admin)})
    assert response.status_code == 302
    assert "已停用用户 fd" in text_of(admin.get(response.location))
    assert not hall.users.view("fd").active
    assert clerk.get("/tasks").status_code == 302  # signed out on the next request
    assert login(app.test_client(), "fd", "fd-pass-123").status_code == 200  # refused
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 401

    response = admin.post("/admin/users/fd/activate", data={"csrf_token": token(admin)})
    assert response.status_code == 302 and hall.users.view("fd").active
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 401


def test_an_admin_cannot_deactivate_themselves(admin, hall):
    response = admin.post("/admin/users/admin/deactivate", data={"csrf_token": token(admin)})
    assert response.status_code == 302
    assert "不能停用自己的账号" in text_of(admin.get(response.location))
    assert hall.users.view("admin").active
    response = admin.post("/admin/users/admin", data={
        "csrf_token": token(admin), "display_name": "系统管理员", "roles": ["auditor"]})
    assert response.status_code == 409 and "不能取消自己的管理员角色" in text_of(response)
    assert hall.users.view("admin").roles == ("admin",)


def test_reset_password(admin, hall, app):
    response = admin.post("/admin/users/fd/password", data={"csrf_token": token(admin)})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = secret_on(text_of(response))
    assert login(app.test_client(), "fd", "fd-pass-123").status_code == 200  # old one refused
    assert login(app.test_client(), "fd", password).status_code == 302


def test_issue_api_token(admin, hall, app):
    response = admin.post("/admin/users/fd/token", data={"csrf_token": token(admin)})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    api_token = secret_on(text_of(response))
    assert api_token.startswith("ot_")
    headers = {"Authorization": f"Bearer {api_token}"}
    assert app.test_client().get("/api/v1/tasks", headers=headers).status_code == 200
    assert "已签发" in text_of(admin.get("/admin/users"))
    hall.users.deactivate("fd", actor="admin")
    response = admin.post("/admin/users/fd/token", data={"csrf_token": token(admin)})
    assert response.status_code == 302 and "ot_" not in text_of(admin.get(response.location))


# --- departments ----------------------------------------------------------------------------

def test_department_list_add_deactivate(admin, hall, caplog):
    page = text_of(admin.get("/admin/departments"))
    assert ZJJ in page and FRONT in page
    with caplog.at_level(logging.INFO, logger="onething.admin"):
        response = admin.post("/admin/departments", data={
            "csrf_token": csrf_of(page), "name": "水利局", "code": "SLJ", "kind": "department"})
    assert response.status_code == 302
    assert "已添加 水利局" in text_of(admin.get(response.location))
    assert Departments(hall.db).get("水利局").code == "SLJ"
    assert any("水利局" in r.getMessage() and "admin" in r.getMessage() for r in caplog.records)

    response = admin.post("/admin/departments", data={
        "csrf_token": csrf_of(page), "name": "水利局", "kind": "department"})
    assert response.status_code == 409 and "已存在" in text_of(response)
    response = admin.post("/admin/departments", data={
        "csrf_token": csrf_of(page), "name": "", "kind": "department"})
    assert response.status_code == 422 and "请填写名称" in text_of(response)
    response = admin.post("/admin/departments", data={
        "csrf_token": csrf_of(page), "name": "某局", "kind": "bureau"})
    assert response.status_code == 422 and "类型须为" in text_of(response)
    assert Departments(hall.db).get("某局") is None

    department = Departments(hall.db).get("水利局")
    response = admin.post(f"/admin/departments/{department.id}/deactivate",
                          data={"csrf_token": csrf_of(page)})
    assert response.status_code == 302 and not Departments(hall.db).get("水利局").active
    response = admin.post(f"/admin/departments/{department.id}/activate",
                          data={"csrf_token": csrf_of(page)})
    assert response.status_code == 302 and Departments(hall.db).get("水利局").active
    assert admin.post("/admin/departments/9999/deactivate",
                      data={"csrf_token": csrf_of(page)}).status_code == 404


def test_lanes_without_department_are_listed_and_can_be_created(admin, hall):
    deploy_files(hall, PROCESSES)
    page = text_of(admin.get("/admin/departments"))
    missing = page[page.index('id="missing"'):page.index("</section>", page.index('id="missing"'))]
    assert "人民防空办公室" in missing and "统一出件窗口" in missing
    assert ZJJ not in missing and "后台审批" not in missing
    response = admin.post("/admin/departments", data={
        "csrf_token": csrf_of(page), "name": "统一出件窗口", "kind": "window"})
    assert response.status_code == 302
    assert Departments(hall.db).get("统一出件窗口").kind == "window"
    page = text_of(admin.get("/admin/departments"))
    missing = page[page.index('id="missing"'):page.index("</section>", page.index('id="missing"'))]
    assert "统一出件窗口" not in missing


# --- the calendar and incidents --------------------------------------------------------------

def test_the_calendar_page_imports_a_year_and_lists_it(admin, hall):
    page = text_of(admin.get("/admin/calendar"))
    assert "2027 年的法定节假日安排尚未导入" in page
    response = admin.post("/admin/calendar", data={
        "schedule": "2027-01-01 休 元旦\n2027-02-06 班 春节", "csrf_token": csrf_of(page)})
    assert response.status_code == 302
    page = text_of(admin.get("/admin/calendar"))
    assert "已导入 2027 年放假安排（2 天）" in page and "尚未导入" not in page
    assert "<td>2027</td>" in page and "2027-02-06" in page and "调休上班" in page
    refused = admin.post("/admin/calendar", data={"schedule": "gibberish",
                                                  "csrf_token": csrf_of(page)})
    assert refused.status_code == 422


def test_the_incidents_page_lists_nothing_to_do(admin):
    assert "没有待处理的故障" in text_of(admin.get("/admin/incidents"))


# --- the command line -----------------------------------------------------------------------

@pytest.fixture
def cli(runtime, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ONETHING_INSTANCE", str(tmp_path / "cli-instance"))

    def run(*argv, stdin: str | None = None):
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return main(list(argv))
    return run


def test_cli_departments(cli, runtime, capsys):
    assert cli("departments", "add", ZJJ, "--code", "ZJJ") == 0
    assert cli("departments", "add", FRONT) == 0
    assert cli("departments", "add", ZJJ) == 1
    assert "已存在" in capsys.readouterr().err
    assert cli("departments", "list") == 0
    out = capsys.readouterr().out
    assert f"{ZJJ}\tdepartment\tZJJ\tactive" in out and f"{FRONT}\twindow\t-\tactive" in out
    assert cli("departments", "deactivate", ZJJ) == 0
    assert not Departments(runtime.db).get(ZJJ).active
    deploy_files(runtime, PROCESSES)
    capsys.readouterr()
    assert cli("departments", "list") == 0
    assert "人民防空办公室" in capsys.readouterr().err  # lanes that have no department yet


def test_cli_users(cli, runtime, capsys):
    Departments(runtime.db).add(ZJJ)
    runtime.users.create("root", "root-pass-1", roles=["admin"])
    assert cli("users", "add", "zjj", "--name", "李审批", "--roles", "approver,lead",
               "--departments", ZJJ) == 0
    password = re.search(r"初始密码（只显示这一次）：(\S+)", capsys.readouterr().out).group(1)
    assert runtime.users.by_password("zjj", password) is not None

    assert cli("users", "add", "rfb", "--roles", "approver", "--departments", "人民防空办公室") == 1
    assert "不存在或已停用" in capsys.readouterr().err
    assert cli("users", "add", "x1", "--roles", "boss") == 1
    assert "未知角色" in capsys.readouterr().err
    assert cli("users", "add", "typed", "--roles", "auditor", "--password-stdin",
               stdin="typed-pass-1\n") == 0
    assert "typed-pass-1" not in capsys.readouterr().out
    assert runtime.users.by_password("typed", "typed-pass-1") is not None

    assert cli("users", "set-roles", "zjj", "approver") == 0
    assert runtime.users.view("zjj").roles == ("approver",)
    assert cli("users", "set-roles", "zjj", "--departments", "") == 0
    assert runtime.users.view("zjj").groups == () and runtime.users.view("zjj").roles == ("approver",)
    assert cli("users", "set-roles", "zjj", "--no-roles") == 0
    assert runtime.users.view("zjj").roles == ()
    assert cli("users", "set-roles", "zjj") == 2

    assert cli("users", "reset-password", "zjj") == 0
    new = re.search(r"新密码（只显示这一次）：(\S+)", capsys.readouterr().out).group(1)
    assert runtime.users.by_password("zjj", new) and not runtime.users.by_password("zjj", password)

    assert cli("users", "list") == 0
    out = capsys.readouterr().out
    assert "zjj\t李审批\tactive" in out and "root\troot\tactive\tadmin(管理员)" in out
    assert cli("users", "deactivate", "zjj") == 0
    assert runtime.users.by_password("zjj", new) is None
    assert cli("users", "deactivate", "root") == 1  # the last admin
    assert "至少须保留一名" in capsys.readouterr().err
    assert cli("users", "deactivate", "nobody") == 1


def test_cli_calendar_import_and_status(cli, runtime, capsys):
    assert cli("calendar", "import", "-", stdin="2027-01-01 休 元旦\n2027-02-06 班 春节\n") == 0
    assert "2027: 2 天已导入" in capsys.readouterr().out
    cli("calendar", "status")
    assert "2027\t国务院办公厅通知（cli）" in capsys.readouterr().out
