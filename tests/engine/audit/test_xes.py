"""XES export read back by an independent reader (pm4py, the reference Python
process-mining library): one trace per case named by its number, events with activity,
ISO timestamps with offset, resource, lifecycle transition; filters; streaming."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from lxml import etree

from engine.audit import xes
from engine.worktime.clock import SHANGHAI
from engine.cases.dto import Actor
from tests.conftest import FIXTURES, deploy_files

pm4py = pytest.importorskip("pm4py")  # in the test extra of setup.cfg

ADMIN = Actor("admin", frozenset({"admin"}))
CLERK_A = Actor("clerk-a", frozenset({"approver"}), frozenset({"甲科"}))
XES = "{http://www.xes-standard.org/}"


@pytest.fixture
def cases(runtime, clock):
    deploy_files(runtime, FIXTURES / "parallel_loop.bpmn", FIXTURES / "loop.bpmn")
    first = runtime.cases.start_case("parallel_loop", {"limit": 1}, ADMIN)
    clock.advance(hours=2)
    a = next(t for t in first.tasks if t.task_spec == "task_a")
    runtime.cases.complete(a.id, {"note": "<甲> & \"乙\""}, CLERK_A)
    clock.advance(days=3)
    second = runtime.cases.start_case("parallel_loop", {"limit": 1}, ADMIN)
    return runtime, first, second


def read_back(tmp_path, runtime, selection=None):
    path = tmp_path / "log.xes"
    summary = xes.write_xes(runtime.db, path, selection)
    return summary, path, pm4py.read_xes(str(path))


def test_pm4py_reads_every_case_and_event_with_the_standard_attributes(cases, tmp_path):
    runtime, first, second = cases
    summary, path, frame = read_back(tmp_path, runtime)
    assert (summary.traces, summary.events) == (2, len(frame))
    assert sorted(frame["case:concept:name"].unique()) == [first.number, second.number]
    mine = frame[frame["case:concept:name"] == first.number].reset_index()
    assert list(mine["onething:seq"]) == list(range(1, len(mine) + 1))
    started = mine.iloc[0]
    assert (started["concept:name"], started["lifecycle:transition"],
            started["org:resource"]) == ("收件", "complete", "admin")
    assert started["time:timestamp"].to_pydatetime() == datetime(2026, 11, 20, 9, 0,
                                                                 tzinfo=SHANGHAI)
    done = mine[mine["onething:kind"] == "task_completed"].iloc[0]
    assert (done["concept:name"], done["org:resource"], done["org:group"],
            done["lifecycle:transition"]) == ("甲审查", "clerk-a", "甲科", "complete")
    assert done["time:timestamp"].to_pydatetime() == datetime(2026, 11, 20, 11, 0,
                                                              tzinfo=SHANGHAI)
    scheduled = mine[mine["lifecycle:transition"] == "schedule"]
    assert sorted(scheduled["concept:name"]) == ["乙审查", "甲审查"]
    assert set(mine["case:onething:process"]) == {"parallel_loop"}
    assert set(mine["case:onething:process_version"]) == {1}
    # pm4py's own event-log object agrees
    log = pm4py.convert_to_event_log(frame)
    assert sorted(trace.attributes["concept:name"] for trace in log) == sorted(
        [first.number, second.number])


def test_the_document_declares_the_standard_extensions_and_offsets(cases, tmp_path):
    runtime, first, _ = cases
    _, path, _ = read_back(tmp_path, runtime)
    root = etree.parse(str(path)).getroot()
    assert root.tag == f"{XES}log" and root.get("xes.version") == "1849-2016"
    assert {e.get("prefix") for e in root.findall(f"{XES}extension")} == {
        "concept", "time", "org", "lifecycle"}
    stamps = [d.get("value") for d in root.iter(f"{XES}date")
              if d.get("key") == "time:timestamp" and not d.getparent().tag.endswith("global")]
    assert stamps and all(s.endswith("+08:00") for s in stamps)
    assert stamps[0] == "2026-11-20T09:00:00.000+08:00"


def test_filters_by_case_process_and_start_date(cases, tmp_path):
    runtime, first, second = cases
    only = xes.XesFilter(case_numbers=[second.number])
    _, _, frame = read_back(tmp_path, runtime, only)
    assert set(frame["case:concept:name"]) == {second.number}
    early = xes.XesFilter(until=datetime(2026, 11, 21, tzinfo=SHANGHAI))
    _, _, frame = read_back(tmp_path, runtime, early)
    assert set(frame["case:concept:name"]) == {first.number}
    late = xes.XesFilter(since=datetime(2026, 11, 21, tzinfo=SHANGHAI),
                         process_keys=["parallel_loop"])
    _, _, frame = read_back(tmp_path, runtime, late)
    assert set(frame["case:concept:name"]) == {second.number}
    nothing = xes.write_xes(runtime.db, tmp_path / "none.xes", xes.XesFilter(process_keys=["x"]))
    assert (nothing.traces, nothing.events) == (0, 0)
    root = etree.parse(str(tmp_path / "none.xes")).getroot()
    assert root.findall(f"{XES}trace") == []


def test_the_export_streams_case_by_case(cases, monkeypatch):
    runtime, first, second = cases
    monkeypatch.setattr(xes, "_CASES_PER_QUERY", 1)  # page through cases one at a time
    chunks = list(xes.iter_xes(runtime.db))
    assert len(chunks) == 4  # header, two traces, footer
    assert first.number in chunks[1] and second.number in chunks[2]
    buffer = io.BytesIO()
    summary = xes.write_xes(runtime.db, buffer)
    assert summary.traces == 2
    assert etree.fromstring(buffer.getvalue()).tag == f"{XES}log"
