"""The auditor's commands as an operator runs them: audit verify (chains and against a
signed checkpoint), audit checkpoint, audit public-key, audit export-xes, replay."""
from __future__ import annotations

import json
import stat

import pytest
from lxml import etree

from engine.audit import checkpoints
from engine.cases.dto import Actor
from tests.conftest import FIXTURES, deploy_files
from tests.engine.audit.test_checkpoints import edit_payload, rewrite_chain
from cli import main

ADMIN = Actor("admin", frozenset({"admin"}))


@pytest.fixture
def cli(runtime, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ONETHING_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv(checkpoints.KEY_ENV, raising=False)
    deploy_files(runtime, FIXTURES / "parallel_loop.bpmn")
    cases = []
    for _ in range(2):
        case = runtime.cases.start_case("parallel_loop", {"limit": 1}, ADMIN)
        while case.tasks:
            case = runtime.cases.complete(case.tasks[0].id, {}, ADMIN)
        cases.append(case)
    return runtime, cases


def test_checkpoint_then_verify_detects_a_recomputed_history(cli, tmp_path, capsys):
    runtime, (good, bad) = cli
    out = tmp_path / "cp.json"
    assert main(["audit", "checkpoint", "--out", str(out)]) == 0
    key_file = tmp_path / "instance" / checkpoints.KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    doc = json.loads(out.read_text())
    assert doc["format"] == checkpoints.FORMAT and len(doc["cases"]) == 2
    assert "checkpoint #1: 2 case(s)" in capsys.readouterr().err

    assert main(["audit", "public-key"]) == 0
    pem = tmp_path / "public.pem"
    pem.write_text(capsys.readouterr().out)
    assert main(["audit", "verify", "--checkpoint", str(out), "--public-key", str(pem)]) == 0
    assert "2 case(s) checked, 0 not as signed" in capsys.readouterr().out

    edit_payload(runtime, bad.id, 5, lambda p: p["data"].update(forged=True))
    rewrite_chain(runtime, bad.id)
    assert main(["audit", "verify"]) == 0  # the chains alone look fine
    capsys.readouterr()
    assert main(["audit", "verify", "--checkpoint", str(out), "--public-key", str(pem)]) == 1
    text = capsys.readouterr().out
    assert f"HEAD_MISMATCH {bad.number}" in text and good.number not in text
    # The copy stored in the database verifies the same way, by id, with the local key.
    assert main(["audit", "verify", "--checkpoint", "1", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [c["status"] for c in report["cases"]] == ["ok", "head_mismatch"]


def test_verify_names_the_broken_event(cli, capsys):
    runtime, (good, bad) = cli
    edit_payload(runtime, bad.id, 5, lambda p: p["data"].update(forged=True))
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN {bad.number}" in out and "event #5" in out and "1 broken" in out
    assert main(["audit", "verify", good.number]) == 0


def test_bad_checkpoint_input_is_a_clear_error(cli, tmp_path, capsys):
    assert main(["audit", "verify", "--checkpoint", str(tmp_path / "nope.json")]) == 2
    assert "不存在" in capsys.readouterr().err
    junk = tmp_path / "junk.json"
    junk.write_text("{}")
    assert main(["audit", "verify", "--checkpoint", str(junk)]) == 2
    assert "检查点" in capsys.readouterr().err
    assert main(["audit", "checkpoint", "--key", str(junk)]) == 2
    assert "私钥" in capsys.readouterr().err


def test_export_xes_writes_the_selected_cases(cli, tmp_path, capsys):
    _, (first, second) = cli
    path = tmp_path / "all.xes"
    assert main(["audit", "export-xes", str(path)]) == 0
    assert "2 trace(s)" in capsys.readouterr().err
    ns = "{http://www.xes-standard.org/}"
    traces = etree.parse(str(path)).getroot().findall(f"{ns}trace")
    assert [t.find(f"{ns}string").get("value") for t in traces] == [first.number, second.number]
    assert main(["audit", "export-xes", str(path), "--case", second.number,
                 "--since", "2026-11-20", "--until", "2026-11-20"]) == 0
    assert "1 trace(s)" in capsys.readouterr().err
    assert main(["audit", "export-xes", str(path), "--since", "20.11.2026"]) == 2
    assert "日期格式无效" in capsys.readouterr().err


def test_replay_one_case_and_all_cases_with_a_report(cli, tmp_path, capsys):
    runtime, (good, bad) = cli
    assert main(["replay", good.number]) == 0
    assert capsys.readouterr().out.startswith(f"CONFORMANT {good.number}：一致")
    ending = 7
    edit_payload(runtime, bad.id, ending, lambda p: p["data"].update(rounds=5))
    rewrite_chain(runtime, bad.id)
    assert main(["replay", str(bad.id), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["deviation"]["seq"] == ending and result["deviation"]["kind"] == "data_differs"
    report = tmp_path / "replay.json"
    assert main(["replay", "--all", "--report", str(report)]) == 1
    assert "2 case(s) re-executed, 1 deviating" in capsys.readouterr().out
    doc = json.loads(report.read_text())
    assert [c["conformant"] for c in doc["cases"]] == [True, False]
    assert main(["replay", "no-such-case"]) == 1
    assert main(["replay"]) == 2
