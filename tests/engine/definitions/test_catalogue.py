"""The item catalogue (事项目录): its file loads, agrees with the diagrams, and a broken file
is refused with every problem named in Chinese."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from engine.definitions import catalogue
from engine.definitions.catalogue import CatalogueError
from engine.definitions.service import BPMN_NS, read_bpmn
from forms.dictionary import validate_credit_code
from forms.formdata import read_forms

ROOT = Path(__file__).resolve().parents[3]
ITEM_FILES = sorted((ROOT / "processes" / "items").glob("*.bpmn"))
ONETHING = ROOT / "processes" / "onethings" / "construction_permit.bpmn"
WINDOWS = {"综合受理窗口", "统一出件窗口", "后台审批"}


@pytest.fixture(scope="module")
def cat():
    return catalogue.load()


@pytest.fixture
def raw() -> dict:
    return json.loads(catalogue.DEFAULT_PATH.read_text(encoding="utf-8"))


def bpmn(path: Path):
    return read_bpmn(path.read_bytes(), path.name)


def department_of(document) -> str:
    names = [lane.get("name") for lane in document.process.iter(f"{{{BPMN_NS}}}lane")]
    departments = [n for n in names if n not in WINDOWS]
    assert len(departments) == 1, names
    return departments[0]


def test_the_catalogue_has_the_one_thing_and_its_twelve_items(cat):
    entry = cat["onething_construction_permit"]
    assert entry.is_onething and len(entry.items) == 12
    assert entry.code == "11371500MB1870526A-YJS-00001"
    assert [e.process for e in cat.items_of(entry.process)] == list(entry.items)
    assert len(cat.materials_of(entry.process)) == sum(len(cat[k].materials) for k in entry.items)
    assert cat.get("item_nope") is None and "item_nope" not in cat


def test_construction_permit_limits(cat):
    entry = cat["item_construction_permit"]
    assert (entry.statutory_limit.amount, entry.statutory_limit.unit) == (7, "工作日")
    assert (entry.promised_limit.amount, entry.promised_limit.unit) == (3, "工作日")
    assert str(entry.promised_limit) == "3 个工作日"
    assert entry.case_type == "承诺件" and entry.department == "住房和城乡建设局"
    assert str(cat["item_quality_supervision"].promised_limit) == "2 小时"


def test_codes_start_with_the_departments_valid_credit_code(cat):
    for entry in cat:
        department = cat.departments[entry.department]
        assert validate_credit_code(department["credit_code"]) == department["credit_code"]
        assert entry.code.startswith(department["credit_code"] + "-"), entry.code


@pytest.mark.parametrize("path", ITEM_FILES, ids=lambda p: p.stem)
def test_each_item_diagram_agrees_with_its_catalogue_entry(cat, path):
    document = bpmn(path)
    entry = cat[document.key]
    assert entry.department == department_of(document)
    start = read_forms(document.root)[f"{path.stem}_start"]
    files = {f.id: f for f in start.fields if f.type == "file"}
    assert set(files) == {m.field for m in entry.materials}
    for material in entry.materials:
        field = files[material.field]
        assert (material.material_code, material.necessity, material.source, material.name) == \
            (field.material_code, field.necessity, field.source, field.label)
        if material.shared:
            assert material.subject_field in start, material.subject_field


def test_the_one_thing_bundles_what_its_diagram_calls(cat):
    document = bpmn(ONETHING)
    # Common parts (processes/common, e.g. the 容缺 gate) are not catalogue items.
    common = {bpmn(p).key for p in (ROOT / "processes" / "common").glob("*.bpmn")}
    assert "deficiency_gate" in common and not any(key in cat for key in common)
    assert set(cat[document.key].items) == set(document.called) - common


def test_a_material_can_be_not_needed_for_one_answer(cat):
    design = cat.material("onething_construction_permit", "air_defense_design_file")
    assert design.needed({"basement_build_mode": "combined"})
    assert not design.needed({"basement_build_mode": "relocated"})


def test_every_problem_of_a_broken_file_is_named(raw):
    broken = copy.deepcopy(raw)
    permit = next(e for e in broken["entries"] if e["process"] == "item_construction_permit")
    permit["promised_limit"] = {"amount": 9, "unit": "工作日"}
    permit["code"] = permit["code"].replace("XK", "QT")
    night = next(e for e in broken["entries"] if e["process"] == "item_night_construction")
    night["statutory_limit"]["unit"] = "周"
    del night["department"]
    soil = next(e for e in broken["entries"] if e["process"] == "item_soil_water_conservation")
    soil["materials"][0]["necessity"] = "可选"
    soil["materials"].append({"name": "规划许可证", "field": "x_file", "material_code": "x-01",
                              "necessity": "必要", "source": "部门核发"})
    broken["entries"].append(copy.deepcopy(broken["entries"][1]))
    broken["entries"][0]["items"].append("item_unknown")
    with pytest.raises(CatalogueError) as caught:
        catalogue.parse(broken)
    text = caught.value.message
    for expected in ("承诺时限（9 个工作日）不能长于法定时限（7 个工作日）",
                     "事项编码类型 QT 与事项类型「行政许可」（XK）不一致",
                     "法定时限的单位「周」无效", "缺少「实施部门」(department)",
                     "必要性「可选」无效", "须注明核发部门（issuer）和查询依据字段（subject_field）",
                     "流程标识重复", "事项编码与", "所含事项 item_unknown 不在目录中"):
        assert expected in text, expected
    assert len(caught.value.problems) >= 9


def test_a_one_thing_cannot_promise_less_than_its_slowest_item(raw):
    raw["entries"][0]["promised_limit"] = {"amount": 1, "unit": "工作日"}
    with pytest.raises(CatalogueError, match="并联办理做不到"):
        catalogue.parse(raw)


def test_the_department_prefix_of_a_code_is_checked(raw):
    raw["entries"][1]["code"] = "11371500MB1563908B-XK-00101"
    with pytest.raises(CatalogueError, match="与实施部门「住房和城乡建设局」的统一社会信用代码"):
        catalogue.parse(raw)


def test_a_missing_or_unreadable_file_is_reported(tmp_path):
    with pytest.raises(CatalogueError, match="文件不存在"):
        catalogue.load(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CatalogueError, match="无法读取"):
        catalogue.load(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text("[]", encoding="utf-8")
    with pytest.raises(CatalogueError, match="entries"):
        catalogue.load(wrong)


# -- 开餐馆一件事, results and supervisors ------------------------------------------------------

RESTAURANT = ROOT / "processes" / "onethings" / "restaurant.bpmn"
COMMON = {"deficiency_gate"}  # shared steps a one-thing calls that are not catalogue items


def test_the_restaurant_one_thing_bundles_five_items_with_their_limits(cat):
    entry = cat["onething_restaurant"]
    assert entry.code == "11371500MB1870526A-YJS-00002" and entry.name == "开餐馆一件事"
    assert [e.name for e in cat.items_of(entry.process)] == [
        "营业执照核验", "食品经营许可", "户外招牌设置", "公众聚集场所投入使用、营业前消防安全检查",
        "烟草制品零售许可"]
    food = cat["item_food_business_permit"]
    assert (str(food.statutory_limit), str(food.promised_limit)) == ("20 个工作日", "10 个工作日")
    assert (food.department, food.result_name, food.validity) == (
        "市场监督管理局", "食品经营许可证", (5, "年"))
    assert str(cat["item_outdoor_signboard"].promised_limit) == "15 个工作日"
    fire = cat["item_fire_safety_inspection"]
    assert (fire.department, str(fire.promised_limit), fire.supervisor) == (
        "消防救援支队", "1 个工作日", "消防救援支队")
    assert cat["item_tobacco_retail"].department == "烟草专卖局"
    assert cat.departments["市场监督管理局"]["full_name"] == "聊城市市场监督管理局"


def test_the_restaurant_one_thing_calls_what_it_bundles(cat):
    document = bpmn(RESTAURANT)
    assert set(cat[document.key].items) == set(document.called) - COMMON


def test_licence_and_id_card_are_pulled_by_data_sharing_not_asked(cat):
    shared = {m.field: m for m in cat.materials_of("onething_restaurant") if m.shared}
    assert set(shared) == {"business_licence_file", "legal_person_id_card_file"}
    licence = cat.material("onething_restaurant", "business_licence_file")
    assert (licence.material_code, licence.issuer, licence.subject_field) == (
        "business_licence_verification-01", "市场监督管理局", "operator_credit_code")


def test_every_item_has_a_result_with_its_validity_and_a_supervisor(cat):
    for entry in cat:
        if entry.is_onething:
            continue
        assert entry.result_name, entry.process
        assert entry.supervisor in cat.departments, entry.process
        assert entry.validity is None or (entry.validity[0] > 0 and entry.validity[1] in "年月")
    assert cat["item_drainage_permit"].validity == (5, "年")
    assert cat["item_construction_permit"].validity is None  # 长期
    assert str(cat["item_construction_permit"].result) == "建筑工程施工许可证（长期有效）"
    assert cat["item_quality_supervision"].supervisor == "住房和城乡建设局"


def test_result_and_supervisor_problems_are_named_in_chinese(raw):
    food = next(e for e in raw["entries"] if e["process"] == "item_food_business_permit")
    food["result"]["validity"] = {"amount": 5, "unit": "周"}
    food["supervisor"] = "食药监局"
    fire = next(e for e in raw["entries"] if e["process"] == "item_fire_safety_inspection")
    del fire["result"], fire["supervisor"]
    drain = next(e for e in raw["entries"] if e["process"] == "item_drainage_permit")
    drain["result"] = {"name": " ", "validity": {"amount": 0, "unit": "年"}}
    with pytest.raises(CatalogueError) as caught:
        catalogue.parse(raw)
    text = caught.value.message
    for expected in ("有效期单位「周」无效，应为 年、月", "监管部门「食药监局」不在 departments 中",
                     "缺少「办理结果」(result)", "缺少「监管部门」(supervisor)",
                     "办理结果缺少「证照名称」", "有效期数值应为正整数"):
        assert expected in text, expected
    assert "item_fire_safety_inspection" in text


def test_a_one_thing_may_leave_result_and_supervisor_out(raw):
    restaurant = next(e for e in raw["entries"] if e["process"] == "onething_restaurant")
    del restaurant["result"], restaurant["supervisor"]
    entry = catalogue.parse(raw)["onething_restaurant"]
    assert (entry.result_name, entry.validity, entry.supervisor) == (None, None, None)
