"""The item catalogue as versioned data: validated as a whole (every problem in Chinese),
stored as numbered immutable versions with who and when, a no-op when nothing changed,
refused when someone else saved in between, and picked up by the running runtime (and by
other workers after the short check interval) without a restart."""
from __future__ import annotations

import copy
import json

import pytest

from engine.definitions import catalogue
from engine.definitions.catalogue_store import CatalogueInvalid, CatalogueStore, decode
from engine.errors import Conflict, NotFound

SHIPPED = json.loads(catalogue.DEFAULT_PATH.read_text(encoding="utf-8"))
NIGHT = "item_night_construction"


def edited(**changes):
    data = copy.deepcopy(SHIPPED)
    entry = next(e for e in data["entries"] if e["process"] == NIGHT)
    entry.update(changes)
    return data


def test_the_runtime_uses_the_file_until_a_version_is_saved(runtime):
    store = runtime.catalogues
    assert store.history() == [] and runtime.catalogue.version_number is None
    assert runtime.catalogue.get(NIGHT).promised_limit.amount == \
        catalogue.load().get(NIGHT).promised_limit.amount
    number, document = store.document()
    assert number is None and document["entries"][0]["process"] == SHIPPED["entries"][0]["process"]


def test_saving_makes_the_next_version_and_the_runtime_uses_it(runtime):
    store = runtime.catalogues
    first = store.save(edited(promised_limit={"amount": 2, "unit": "工作日"}), "analyst",
                       base_version=None)
    assert (first.version, first.created_by, first.created) == (1, "analyst", True)
    assert first.created_at == runtime.clock.now()
    assert "「夜间施工许可」" in first.summary or "首个版本" in first.summary
    runtime.catalogue.refresh()
    assert runtime.catalogue.version_number == 1
    assert runtime.catalogue.get(NIGHT).promised_limit.amount == 2
    assert NIGHT in runtime.catalogue and runtime.catalogue[NIGHT].name
    assert len(list(runtime.catalogue)) == len(SHIPPED["entries"])

    second = store.save(edited(promised_limit={"amount": 1, "unit": "工作日"}), "analyst2",
                        base_version=1)
    assert second.version == 2 and "修改「夜间施工许可」" in second.summary
    assert [v.version for v in store.history()] == [2, 1]
    assert store.load(1)[1]["entries"] == edited(
        promised_limit={"amount": 2, "unit": "工作日"})["entries"]


def test_saving_the_same_content_again_changes_nothing(runtime):
    store = runtime.catalogues
    store.save(SHIPPED, "analyst")
    again = store.save(copy.deepcopy(SHIPPED), "analyst", base_version=1)
    assert (again.version, again.created) == (1, False)
    assert len(store.history()) == 1


def test_every_problem_is_reported_and_nothing_is_saved(runtime):
    bad = edited(code="nonsense", promised_limit={"amount": 90, "unit": "工作日"},
                 case_type="加急件")
    with pytest.raises(CatalogueInvalid) as refused:
        runtime.catalogues.save(bad, "analyst")
    text = "；".join(refused.value.problems)
    assert "事项编码「nonsense」格式应为" in text
    assert "办件类型「加急件」无效" in text
    assert "承诺时限（90 个工作日）不能长于法定时限" in text
    assert runtime.catalogues.history() == []


def test_broken_json_says_where(runtime):
    with pytest.raises(CatalogueInvalid) as refused:
        decode('{"entries": [}')
    assert refused.value.problems[0].startswith("JSON 格式错误：第 1 行第 14 列")
    with pytest.raises(CatalogueInvalid):
        decode(b"\xff\xfe")
    with pytest.raises(CatalogueInvalid):
        runtime.catalogues.save({"entries": "no"}, "analyst")


def test_a_save_based_on_an_old_version_is_refused(runtime):
    store = runtime.catalogues
    store.save(SHIPPED, "analyst", base_version=None)
    store.save(edited(note="改一"), "analyst", base_version=1)
    with pytest.raises(Conflict, match="已被他人保存为 v2"):
        store.save(edited(note="改二"), "other", base_version=1)
    with pytest.raises(NotFound):
        store.load(9)


def test_another_worker_picks_up_a_new_version_after_its_check_interval(runtime):
    other_worker = CatalogueStore(runtime.db, runtime.clock,
                                  fallback=lambda: catalogue.load()).live(ttl=3600)
    assert other_worker.get(NIGHT).note == catalogue.load().get(NIGHT).note
    runtime.catalogues.save(edited(note="夜间施工须公示"), "analyst")
    assert other_worker.get(NIGHT).note != "夜间施工须公示"  # within its interval
    fresh = CatalogueStore(runtime.db, runtime.clock, fallback=lambda: None).live(ttl=0)
    assert fresh.get(NIGHT).note == "夜间施工须公示"
    other_worker.refresh()
    assert other_worker.get(NIGHT).note == "夜间施工须公示"


def test_warnings_name_what_the_deployed_diagrams_do_not_have(deployed):
    store = deployed.catalogues
    assert store.warnings(deployed.definitions) == []
    data = copy.deepcopy(SHIPPED)
    entry = next(e for e in data["entries"] if e["materials"])
    entry["materials"][0]["field"] = "no_such_upload"
    data["entries"].append({**copy.deepcopy(entry), "process": "item_not_deployed",
                            "code": entry["code"][:-5] + "99999", "materials": []})
    warnings = store.warnings(deployed.definitions, data)
    assert f"「{entry['name']}」的材料「{entry['materials'][0]['name']}」：流程图的表单中没有文件字段" \
           " no_such_upload" in warnings
    assert f"「{entry['name']}」(item_not_deployed)：流程尚未部署" in warnings
