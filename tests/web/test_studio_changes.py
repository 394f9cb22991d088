"""The studio's version diff, migration and catalogue pages through HTTP: analysts only,
CSRF on every change, refusals shown with their reasons (never a 500)."""
from __future__ import annotations

import json
import re

import pytest
from engine.store.models import CaseRecord
from engine.cases.dto import Actor
from tests.studio_variants import V1, V2, deploy_text, review_gains_required_field

CLERK = Actor("clerk", frozenset({"frontdesk"}), frozenset({"综合受理窗口", "审查科"}))


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    return found.group(1)


def login(client, username: str, password: str):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_of(page)})


@pytest.fixture
def analyst(client, runtime):
    runtime.users.create("analyst", "analyst-pass-1", display_name="流程分析员", roles=["analyst"])
    login(client, "analyst", "analyst-pass-1")
    return client


@pytest.fixture
def waiting_case(runtime):
    deploy_text(runtime, V1)
    case = runtime.cases.start_case("simple_permit", {}, CLERK)
    return runtime.cases.complete(case.tasks[0].id, {"applicant": "张三"}, CLERK)


def token(client, url: str) -> str:
    return csrf_of(client.get(url).get_data(as_text=True))


@pytest.mark.parametrize("url", ["/studio/diff", "/studio/migrations", "/studio/catalogue",
                                 "/studio/catalogue/json"])
def test_only_analysts_see_the_pages(client, runtime, url):
    assert client.get(url).status_code == 302  # to the login page
    runtime.users.create("fd", "fd-pass-123", roles=["frontdesk"], groups=["综合受理窗口"])
    login(client, "fd", "fd-pass-123")
    assert client.get(url).status_code == 403


def test_diff_page_lists_changes_and_marks_the_diagram(analyst, runtime):
    deploy_text(runtime, V1)
    deploy_text(runtime, V2)
    page = analyst.get("/studio/diff?key=simple_permit").get_data(as_text=True)
    assert "v1 → v2" in page
    assert 'data-element="sign_off"' in page and "签发" in page
    markers = json.loads(re.search(r"data-markers='([^']+)'", page).group(1))
    assert markers["sign_off"] == "added" and markers["flow_review"] == "changed"
    assert "/studio/processes/simple_permit/versions/1.bpmn" in page
    assert "/studio/migrations?key=simple_permit&amp;version=1&amp;to=2" in page
    assert 'href="/studio"' in page  # back to the process list
    same = analyst.get("/studio/diff?key=simple_permit&old=2&new=2").get_data(as_text=True)
    assert "没有区别" in same
    assert analyst.get("/studio/diff?key=nope").status_code == 404
    assert analyst.get("/studio/diff?key=simple_permit&old=abc&new=99").status_code == 200


def test_migration_page_checks_each_case_and_migrates_one(analyst, runtime, waiting_case):
    deploy_text(runtime, V2)
    url = "/studio/migrations?key=simple_permit&version=1&to=2"
    page = analyst.get(url).get_data(as_text=True)
    assert waiting_case.number in page and "可以迁移" in page and "「审查」(review)" in page
    response = analyst.post("/studio/migrations/case", data={
        "csrf_token": csrf_of(page), "key": "simple_permit", "version": "1", "to": "2",
        "case": waiting_case.number})
    assert response.status_code == 302
    page = analyst.get(response.location).get_data(as_text=True)
    assert f"办件 {waiting_case.number} 已迁移到 v2" in page
    assert "撤销迁移" in page
    with runtime.db.reading() as session:
        pins = session.get(CaseRecord, waiting_case.id).pins
        assert runtime.definitions.by_hash(session, "simple_permit",
                                           pins["simple_permit"]).version == 2
    migration_id = re.search(r'/studio/migrations/(\d+)/revert', page).group(1)
    response = analyst.post(f"/studio/migrations/{migration_id}/revert",
                            data={"csrf_token": csrf_of(page), "key": "simple_permit"})
    assert response.status_code == 302
    page = analyst.get(response.location).get_data(as_text=True)
    assert "已撤销办件" in page and "撤销" in page


def test_refused_migration_shows_the_reason(analyst, runtime, waiting_case):
    deploy_text(runtime, review_gains_required_field())
    page = analyst.get("/studio/migrations?key=simple_permit&version=1&to=2").get_data(as_text=True)
    assert "不能迁移" in page and "风险等级" in page
    response = analyst.post("/studio/migrations/case", data={
        "csrf_token": csrf_of(page), "key": "simple_permit", "version": "1", "to": "2",
        "case": waiting_case.number})
    assert response.status_code == 409
    assert "新增了必填字段「风险等级」(risk)" in response.get_data(as_text=True)
    all_response = analyst.post("/studio/migrations/all", data={
        "csrf_token": csrf_of(page), "key": "simple_permit", "version": "1", "to": "2"})
    assert all_response.status_code == 302
    assert "已迁移 0 件，1 件不能迁移" in analyst.get(all_response.location).get_data(as_text=True)


def test_bad_input_and_missing_csrf_are_clean_errors(analyst, runtime, waiting_case):
    deploy_text(runtime, V2)
    assert analyst.post("/studio/migrations/case", data={
        "key": "simple_permit", "version": "1", "to": "2",
        "case": waiting_case.number}).status_code == 400
    csrf = token(analyst, "/studio/migrations")
    for data in ({"key": "simple_permit", "version": "x", "to": "2", "case": "1"},
                 {"key": "simple_permit", "version": "1", "to": "2", "case": "9" * 30},
                 {"key": "nope", "version": "1", "to": "2", "case": waiting_case.number},
                 {"key": "simple_permit", "version": "1", "to": "7", "case": waiting_case.number}):
        response = analyst.post("/studio/migrations/case", data={"csrf_token": csrf, **data})
        assert response.status_code == 404, data
    assert analyst.post("/studio/migrations/99999/revert",
                        data={"csrf_token": csrf}).status_code == 404
    assert analyst.get("/studio/migrations?key=nope").status_code == 404


def test_catalogue_entry_form_saves_a_new_version(analyst, runtime):
    process = "item_night_construction"
    page = analyst.get(f"/studio/catalogue/entries/{process}").get_data(as_text=True)
    form = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))
    form.update({"promised_limit-amount": "2", "promised_limit-unit": "工作日",
                 "statutory_limit-unit": "工作日", "department": "生态环境局",
                 "type": "行政许可", "case_type": "承诺件"})
    form.update({k: v for k, v in re.findall(
        r'<select name="([^"]+)"[^>]*>(?:<option value=""></option>)?.*?<option value="([^"]*)" selected',
        page, re.S)})
    response = analyst.post(f"/studio/catalogue/entries/{process}", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    page = analyst.get("/studio/catalogue").get_data(as_text=True)
    assert "事项目录已保存为 v1" in page and "正在使用 v1" in page
    assert runtime.catalogue.get(process).promised_limit.amount == 2

    form["base_version"] = "1"
    form["promised_limit-amount"] = "99"
    form["code"] = "bad-code"
    response = analyst.post(f"/studio/catalogue/entries/{process}", data=form)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "事项编码「bad-code」格式应为" in text and "不能长于法定时限" in text
    assert 'value="bad-code"' in text  # what was typed is kept
    form["base_version"] = ""
    assert analyst.post(f"/studio/catalogue/entries/{process}", data=form).status_code == 409
    assert analyst.get("/studio/catalogue/entries/nope").status_code == 404
    assert len(runtime.catalogues.history()) == 1


def test_catalogue_json_editor(analyst, runtime):
    page = analyst.get("/studio/catalogue/json").get_data(as_text=True)
    response = analyst.post("/studio/catalogue/json", data={
        "csrf_token": csrf_of(page), "base_version": "", "content": '{"entries": [}'})
    assert response.status_code == 422
    assert "JSON 格式错误：第 1 行" in response.get_data(as_text=True)
    document = runtime.catalogues.document()[1]
    document["entries"][0]["note"] = "由 JSON 编辑器修改"
    response = analyst.post("/studio/catalogue/json", data={
        "csrf_token": csrf_of(page), "base_version": "",
        "content": json.dumps(document, ensure_ascii=False)})
    assert response.status_code == 302
    assert runtime.catalogues.history()[0].created_by == "analyst"
    download = analyst.get("/studio/catalogue/versions/1.json")
    assert download.status_code == 200 and "由 JSON 编辑器修改" in download.get_data(as_text=True)
    assert analyst.get("/studio/catalogue/versions/5.json").status_code == 404


# --- the command line -----------------------------------------------------------------------

@pytest.fixture
def cli(runtime, database_url, monkeypatch, tmp_path):
    from cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ONETHING_INSTANCE", str(tmp_path / "cli-instance"))
    return lambda *argv: main(list(argv))


def test_cli_diff_migrate_and_revert(cli, runtime, waiting_case, capsys):
    deploy_text(runtime, review_gains_required_field())
    assert cli("studio", "diff", "simple_permit", "1", "2") == 0
    out = capsys.readouterr().out
    assert "修改人工任务「审查」(review)：表单新增字段「风险等级」(risk)（long，必填）" in out
    assert cli("studio", "migrate", "simple_permit", "--from", "1", "--to", "2", "--dry-run") == 1
    assert f"{waiting_case.number}（位于 「审查」(review)）：不能迁移" in capsys.readouterr().out
    assert cli("studio", "migrate", "simple_permit", "--from", "1", "--to", "2",
               "--case", waiting_case.number) == 1
    assert "新增了必填字段「风险等级」" in capsys.readouterr().err

    deploy_text(runtime, V2.replace('name="签发"', 'name="签发办证"'))  # v3: only downstream
    assert cli("studio", "migrate", "simple_permit", "--from", "1", "--to", "3") == 0
    assert f"已迁移 {waiting_case.number}" in capsys.readouterr().out
    assert cli("studio", "migrations") == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert "v1→v3" in line and "可撤销" in line
    assert cli("studio", "revert", line.split("\t")[0], "--as", "chen") == 0
    assert "回到 simple_permit v1" in capsys.readouterr().out
    assert cli("studio", "revert", line.split("\t")[0]) == 1
    assert cli("studio", "diff", "simple_permit", "1", "9") == 1


def test_cli_catalogue(cli, runtime, tmp_path, capsys):
    assert cli("catalogue", "validate") == 0
    assert "有效" in capsys.readouterr().out
    broken = tmp_path / "items.json"
    broken.write_text('{"entries": [{"process": "x"}]}', encoding="utf-8")
    assert cli("catalogue", "validate", str(broken)) == 1
    assert "缺少「事项编码」(code)" in capsys.readouterr().err
    assert cli("catalogue", "import", str(broken)) == 1
    assert cli("catalogue", "history") == 0
    assert "尚未保存过版本" in capsys.readouterr().out
    from engine.definitions.catalogue import DEFAULT_PATH
    assert cli("catalogue", "import", str(DEFAULT_PATH), "--as", "chen") == 0
    assert "已保存为事项目录 v1" in capsys.readouterr().out
    assert cli("catalogue", "import", str(DEFAULT_PATH)) == 0
    assert "与 v1 相同" in capsys.readouterr().out
    assert cli("catalogue", "history") == 0
    assert "\tchen\t" in capsys.readouterr().out
    assert cli("catalogue", "export", "--version", "1") == 0
    assert json.loads(capsys.readouterr().out)["entries"]
    assert cli("catalogue", "import", str(tmp_path / "missing.json")) == 1
