"""`onething deploy` and `onething db upgrade` as an operator runs them.

The invalid BPMN files are written into tmp_path rather than tests/fixtures/: other tests
deploy every *.bpmn below tests/fixtures recursively, and these must never be among them.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select

from engine.store.db import Database
from engine.store.models import ProcessDefinition
from tests.conftest import FIXTURES, PROCESSES
from cli import main

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
        '    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"\n'
        '    id="defs" targetNamespace="http://onething.example/test">\n')

SEVERAL_PROBLEMS = HEAD + '''<bpmn:process id="broken" name="有问题的流程" isExecutable="true">
  <bpmn:laneSet id="ls"><bpmn:lane id="lane" name="审查科">
    <bpmn:flowNodeRef>task_in_lane</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
  <bpmn:startEvent id="start"/>
  <bpmn:userTask id="task_in_lane" name="受理"/>
  <bpmn:userTask id="task_without_lane" name="无人办理"/>
  <bpmn:exclusiveGateway id="gw_bare" name="去向不明"/>
  <bpmn:serviceTask id="svc_call" name="调接口"/>
  <bpmn:endEvent id="end_a"/><bpmn:endEvent id="end_b"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task_in_lane"/>
  <bpmn:sequenceFlow id="f2" sourceRef="task_in_lane" targetRef="task_without_lane"/>
  <bpmn:sequenceFlow id="f3" sourceRef="task_without_lane" targetRef="gw_bare"/>
  <bpmn:sequenceFlow id="f4" sourceRef="gw_bare" targetRef="svc_call"/>
  <bpmn:sequenceFlow id="f5" sourceRef="gw_bare" targetRef="end_b"/>
  <bpmn:sequenceFlow id="f6" sourceRef="svc_call" targetRef="end_a"/>
</bpmn:process>
</bpmn:definitions>
'''

XXE = ('<?xml version="1.0" encoding="UTF-8"?>\n'
       '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
       + HEAD.split("\n", 1)[1]
       + '<bpmn:process id="xxe" name="&e;" isExecutable="true">'
         '<bpmn:documentation>&e;</bpmn:documentation><bpmn:startEvent id="s"/></bpmn:process>\n'
         '</bpmn:definitions>\n')

BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">'
                            for i in range(1, 10)).replace("&lol0;", "&lol;")
                  + ']>\n' + HEAD.split("\n", 1)[1]
                  + '<bpmn:process id="lol" name="&lol9;" isExecutable="true"/>\n'
                    '</bpmn:definitions>\n')


@pytest.fixture
def cli_env(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ONETHING_INSTANCE", str(tmp_path / "instance"))
    return database_url


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def stored_definitions(database_url: str) -> list[tuple[str, int]]:
    db = Database(database_url)
    try:
        with db.reading() as session:
            return [(d.key, d.version) for d in session.scalars(
                select(ProcessDefinition).order_by(ProcessDefinition.key,
                                                   ProcessDefinition.version))]
    finally:
        db.dispose()


def output_lines(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.strip().splitlines()]


def passwd_fragments() -> list[str]:
    fragments = ["root:"]
    passwd = Path("/etc/passwd")
    if passwd.exists():
        fragments.append(passwd.read_text(errors="replace").splitlines()[0])
    return fragments


# -- deploy ---------------------------------------------------------------------------------

def test_deploy_prints_key_version_and_hash(cli_env, capsys):
    path = FIXTURES / "loop.bpmn"
    assert main(["deploy", str(path)]) == 0
    out = capsys.readouterr().out
    content_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    assert output_lines(out) == [["loop_review", "v1", content_hash, "deployed"]]
    assert stored_definitions(cli_env) == [("loop_review", 1)]


def test_deploying_the_same_file_again_reports_it_unchanged(cli_env, capsys):
    path = FIXTURES / "loop.bpmn"
    assert main(["deploy", str(path)]) == 0
    first = output_lines(capsys.readouterr().out)
    assert main(["deploy", str(path)]) == 0
    second = output_lines(capsys.readouterr().out)
    assert [line[:3] for line in second] == [line[:3] for line in first]
    assert second[0][3] == "unchanged"
    assert stored_definitions(cli_env) == [("loop_review", 1)]


def test_deploying_an_edited_file_prints_version_2(cli_env, capsys, tmp_path):
    path = write(tmp_path, "loop.bpmn", (FIXTURES / "loop.bpmn").read_text(encoding="utf-8"))
    assert main(["deploy", str(path)]) == 0
    capsys.readouterr()
    path.write_text(path.read_text(encoding="utf-8").replace('name="审查"', 'name="审查 "'),
                    encoding="utf-8")
    assert main(["deploy", str(path)]) == 0
    [[key, version, content_hash, state]] = output_lines(capsys.readouterr().out)
    assert (key, version, state) == ("loop_review", "v2", "deployed")
    assert content_hash == hashlib.sha256(path.read_bytes()).hexdigest()


def test_deploy_without_paths_deploys_all_of_processes(cli_env, capsys):
    assert main(["deploy"]) == 0
    lines = output_lines(capsys.readouterr().out)
    assert len(lines) == len(list(PROCESSES.rglob("*.bpmn")))
    assert all(version == "v1" and len(h) == 64 and state == "deployed"
               for _, version, h, state in lines)
    assert "onething_construction_permit" in {key for key, *_ in lines}


def test_deploy_of_an_invalid_file_exits_1_naming_each_element(cli_env, capsys, tmp_path):
    path = write(tmp_path, "broken.bpmn", SEVERAL_PROBLEMS)
    assert main(["deploy", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    for element_id in ("task_without_lane", "gw_bare", "svc_call"):
        assert element_id in captured.err
    assert "无人办理" in captured.err and "调接口" in captured.err
    assert "broken.bpmn" in captured.err
    assert "Traceback" not in captured.err
    assert stored_definitions(cli_env) == []


def test_one_invalid_file_in_a_batch_deploys_nothing(cli_env, capsys, tmp_path):
    good = FIXTURES / "loop.bpmn"
    bad = write(tmp_path, "broken.bpmn", SEVERAL_PROBLEMS)
    assert main(["deploy", str(good), str(bad)]) == 1
    assert "gw_bare" in capsys.readouterr().err
    assert stored_definitions(cli_env) == []


def test_deploy_of_an_xxe_file_exits_1_without_leaking_the_file(cli_env, capsys, tmp_path):
    path = write(tmp_path, "xxe.bpmn", XXE)
    assert main(["deploy", str(path)]) == 1
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    for fragment in passwd_fragments():
        assert fragment not in shown
    assert "DOCTYPE" in captured.err
    assert "Traceback" not in captured.err
    assert stored_definitions(cli_env) == []


def test_deploy_of_a_billion_laughs_file_exits_1(cli_env, capsys, tmp_path):
    path = write(tmp_path, "lol.bpmn", BILLION_LAUGHS)
    assert main(["deploy", str(path)]) == 1
    captured = capsys.readouterr()
    assert "lollol" not in captured.err + captured.out
    assert stored_definitions(cli_env) == []


def test_deploy_of_a_non_bpmn_file_exits_1(cli_env, capsys, tmp_path):
    path = write(tmp_path, "page.bpmn", "<html><body>不是流程</body></html>")
    assert main(["deploy", str(path)]) == 1
    assert "bpmn:definitions" in capsys.readouterr().err


def test_deploy_of_malformed_xml_exits_1_with_the_line(cli_env, capsys, tmp_path):
    text = HEAD + '<bpmn:process id="p">\n<oops>\n</bpmn:definitions>\n'
    path = write(tmp_path, "bad.bpmn", text)
    assert main(["deploy", str(path)]) == 1
    err = capsys.readouterr().err
    assert "第 " in err and " 行" in err
    assert "bad.bpmn" in err


def test_deploy_of_a_gbk_file_exits_1_without_a_traceback(cli_env, capsys, tmp_path):
    text = (FIXTURES / "loop.bpmn").read_text(encoding="utf-8").replace('encoding="UTF-8"',
                                                                        'encoding="GBK"')
    path = tmp_path / "gbk.bpmn"
    path.write_bytes(text.encode("gbk"))
    assert main(["deploy", str(path)]) == 1
    assert "UTF-8" in capsys.readouterr().err


def test_deploy_of_a_missing_path_exits_1(cli_env, capsys, tmp_path):
    assert main(["deploy", str(tmp_path / "nope.bpmn")]) == 1
    assert "nope.bpmn" in capsys.readouterr().err


# -- db upgrade -------------------------------------------------------------------------------

def test_db_upgrade_creates_the_schema_in_a_fresh_sqlite_file(monkeypatch, tmp_path, capsys):
    path = tmp_path / "fresh.sqlite3"
    url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ONETHING_INSTANCE", str(tmp_path / "instance"))
    assert not path.exists()
    assert main(["db", "upgrade"]) == 0
    assert "schema up to date" in capsys.readouterr().out
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"process_definition", "case_record", "human_task", "case_event",
            "alembic_version"} <= tables
    # running it again is harmless, and the fresh database takes a deployment
    assert main(["db", "upgrade"]) == 0
    assert main(["deploy", str(FIXTURES / "loop.bpmn")]) == 0
    assert stored_definitions(url) == [("loop_review", 1)]


def test_db_upgrade_without_database_url_uses_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    instance = tmp_path / "instance"
    monkeypatch.setenv("ONETHING_INSTANCE", str(instance))
    assert main(["db", "upgrade"]) == 0
    database = instance / "onething.sqlite3"
    assert database.exists()
    db = Database(f"sqlite:///{database}")
    try:
        with db.reading() as session:
            assert session.scalar(select(func.count()).select_from(ProcessDefinition)) == 0
    finally:
        db.dispose()


def test_a_command_on_a_database_never_upgraded_says_to_upgrade(monkeypatch, tmp_path,
                                                                  capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    monkeypatch.setenv("ONETHING_INSTANCE", str(tmp_path / "instance"))
    assert main(["calendar", "status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("错误：数据库无法使用（") and "onething db upgrade" in err
