"""The merged one-form (一表申请): shared fields asked once, strictest rules, fan-out, visibility."""
from __future__ import annotations

from decimal import Decimal

import pytest

from forms import (
    ONETHING_SOURCE,
    MergeConflict,
    fan_out,
    merge_forms,
    validate,
    visible_fields,
)


def dict_field(field_id: str, key: str, section: str | None = None, extra: str = "") -> str:
    props = f'<camunda:property id="dict" value="{key}" />'
    if section:
        props += f'<camunda:property id="section" value="{section}" />'
    return (f'<camunda:formField id="{field_id}"><camunda:properties>{props}'
            f'</camunda:properties>{extra}</camunda:formField>')


def plain(field_id: str, label: str, type_: str = "string", constraints: str = "",
          inner: str = "") -> str:
    validation = f"<camunda:validation>{constraints}</camunda:validation>" if constraints else ""
    return (f'<camunda:formField id="{field_id}" label="{label}" type="{type_}">'
            f'{validation}{inner}</camunda:formField>')


REQUIRED = '<camunda:constraint name="required" />'


@pytest.fixture
def construction(form_of):
    """施工许可一件事: three items' application forms, in the shape analysts draw them."""
    permit = form_of(
        dict_field("project_code", "project_code", extra=f"<camunda:validation>{REQUIRED}"
                   "</camunda:validation>")
        + dict_field("project_name", "project_name")
        + dict_field("builder_name", "company_name", "建设单位")
        + dict_field("builder_credit_code", "credit_code", "建设单位")
        + dict_field("contractor_name", "company_name", "施工单位")
        + dict_field("contractor_credit_code", "credit_code", "施工单位")
        + plain("contract_days", "合同工期（天）", "long",
                '<camunda:constraint name="min" config="1" />'))
    quality = form_of(
        dict_field("xmdm", "project_code")
        + dict_field("unit_credit_code", "credit_code", "建设单位",
                     f"<camunda:validation>{REQUIRED}</camunda:validation>")
        + plain("contract_days", "合同工期", "long",
                '<camunda:constraint name="min" config="30" />'
                '<camunda:constraint name="max" config="3650" />'))
    night = form_of(
        dict_field("project_code", "project_code")
        + plain("night_reason", "夜间施工理由", "textarea", REQUIRED)
        + plain("night_days", "夜间施工天数", "long"))
    return {"permit": permit, "quality": quality, "night": night}


def test_shared_fields_are_asked_once_with_their_sources(construction):
    merged = merge_forms(construction)
    assert merged.ids == ("project_code", "project_name", "builder_name", "builder_credit_code",
                          "contractor_name", "contractor_credit_code", "contract_days",
                          "night_reason", "night_days")
    assert merged.field("project_code").sources == ("permit", "quality", "night")
    assert merged.field("builder_credit_code").sources == ("permit", "quality")
    assert merged.field("contractor_credit_code").sources == ("permit",)
    assert merged.field("night_reason").sources == ("night",)
    assert merged.to_json()["fields"][0]["sources"] == ["permit", "quality", "night"]


def test_strictest_constraint_wins(construction):
    merged = merge_forms(construction)
    days = merged.field("contract_days")
    assert (days.min, days.max) == (30, 3650)
    assert merged.field("builder_credit_code").required is True  # only quality requires it
    assert merged.field("project_code").required is True
    assert merged.field("contractor_credit_code").required is False


def test_string_lengths_and_patterns_merge_strictly(form_of):
    a = form_of(plain("name", "名称", constraints='<camunda:constraint name="minlength" config="2" />'
                      '<camunda:constraint name="maxlength" config="50" />'
                      '<camunda:constraint name="pattern" config="[^&lt;&gt;]+" />'))
    b = form_of(plain("name", "名称", constraints='<camunda:constraint name="minlength" config="4" />'
                      '<camunda:constraint name="maxlength" config="30" />'
                      '<camunda:constraint name="pattern" config="[^&lt;&gt;]+" />'))
    name = merge_forms({"a": a, "b": b}).field("name")
    assert (name.minlength, name.maxlength, name.pattern) == (4, 30, "[^<>]+")


def test_different_patterns_conflict(form_of):
    a = form_of(plain("code", "编号", constraints='<camunda:constraint name="pattern" config="[A-Z]+" />'))
    b = form_of(plain("code", "编号", constraints='<camunda:constraint name="pattern" config="[0-9]+" />'))
    with pytest.raises(MergeConflict) as caught:
        merge_forms({"a": a, "b": b})
    assert "pattern" in caught.value.message and caught.value.field_id == "code"


def test_type_conflict_names_both_items_and_the_field(form_of):
    permit = form_of(plain("area", "建筑面积", "decimal"))
    fire = form_of(plain("area", "建筑面积", "long"))
    with pytest.raises(MergeConflict) as caught:
        merge_forms({"permit": permit, "fire_review": fire})
    message = caught.value.message
    assert "事项「permit」" in message and "事项「fire_review」" in message
    assert "建筑面积" in message and "类型冲突" in message
    assert caught.value.items == ("permit", "fire_review")
    assert caught.value.field_id == "area"


def test_bounds_without_overlap_conflict(form_of):
    a = form_of(plain("n", "N", "long", '<camunda:constraint name="max" config="10" />'))
    b = form_of(plain("n", "N", "long", '<camunda:constraint name="min" config="20" />'))
    with pytest.raises(MergeConflict, match="没有交集"):
        merge_forms({"a": a, "b": b})


def test_enum_options_are_intersected(form_of):
    kinds = ('<camunda:value id="company" name="企业" /><camunda:value id="individual" '
             'name="个体工商户" /><camunda:value id="coop" name="农民专业合作社" />')
    a = form_of(plain("kind", "主体类型", "enum", inner=kinds))
    b = form_of(plain("kind", "主体类型", "enum",
                      inner='<camunda:value id="individual" name="个体" />'
                            '<camunda:value id="company" name="公司" />'))
    kind = merge_forms({"a": a, "b": b}).field("kind")
    assert [(o.id, o.label) for o in kind.options] == [("company", "企业"),
                                                        ("individual", "个体工商户")]
    c = form_of(plain("kind", "主体类型", "enum", inner='<camunda:value id="gov" name="机关" />'))
    with pytest.raises(MergeConflict, match="选项没有交集"):
        merge_forms({"a": a, "c": c})


def test_base_form_fields_have_the_onething_source(form_of, construction):
    base = form_of(dict_field("project_code", "project_code")
                   + plain("mail_result", "结果邮寄送达", "boolean"))
    merged = merge_forms(construction, base=base)
    assert merged.ids[:2] == ("project_code", "mail_result")
    assert merged.field("project_code").sources == (ONETHING_SOURCE, "permit", "quality", "night")
    assert merged.field("mail_result").sources == (ONETHING_SOURCE,)


def test_a_form_asking_one_key_twice_without_sections_conflicts(form_of):
    twice = form_of(dict_field("a_code", "credit_code") + dict_field("b_code", "credit_code"))
    with pytest.raises(MergeConflict, match="分组"):
        merge_forms({"x": twice})


def test_one_id_for_two_concepts_conflicts(form_of):
    with_dict = form_of(dict_field("code", "credit_code"))
    without = form_of(plain("code", "代码"))
    with pytest.raises(MergeConflict) as caught:
        merge_forms({"a": with_dict, "b": without})
    assert caught.value.items == ("a", "b") and "code" in caught.value.message


def test_material_necessity_strictest_wins(form_of):
    def material(necessity: str):
        return form_of(f'<camunda:formField id="licence" label="营业执照" type="file">'
                       f'<camunda:properties><camunda:property id="necessity" value="{necessity}" />'
                       f'</camunda:properties></camunda:formField>')
    merged = merge_forms({"a": material("非必要"), "b": material("必要"), "c": material("容缺后补")})
    assert merged.field("licence").necessity == "必要"


def test_fan_out_gives_each_item_exactly_its_own_fields(construction):
    merged = merge_forms(construction)
    values = validate(merged, {
        "project_code": "2017-371523-48-01-003521",
        "project_name": "茌平区第一中学教学楼",
        "builder_name": "茌平区教育和体育局",
        "builder_credit_code": "91350100M000100Y43",
        "contractor_name": "山东某建设集团有限公司",
        "contractor_credit_code": "91110000802100433b",
        "contract_days": "365",
        "night_reason": "混凝土连续浇筑",
    })
    items = fan_out(merged, values, construction)
    assert items["permit"] == {
        "project_code": "2017-371523-48-01-003521",
        "project_name": "茌平区第一中学教学楼",
        "builder_name": "茌平区教育和体育局",
        "builder_credit_code": "91350100M000100Y43",
        "contractor_name": "山东某建设集团有限公司",
        "contractor_credit_code": "91110000802100433B",
        "contract_days": 365,
    }
    assert items["quality"] == {"xmdm": "2017-371523-48-01-003521",
                                "unit_credit_code": "91350100M000100Y43",
                                "contract_days": 365}
    assert items["night"] == {"project_code": "2017-371523-48-01-003521",
                              "night_reason": "混凝土连续浇筑"}


def test_fan_out_values_pass_each_items_own_validation(construction):
    merged = merge_forms(construction)
    values = validate(merged, {"project_code": "2017-371523-48-01-003521",
                               "builder_credit_code": "91350100M000100Y43",
                               "contract_days": 30, "night_reason": "浇筑"})
    for item, item_values in fan_out(merged, values, construction).items():
        validate(construction[item], item_values)


@pytest.fixture
def restaurant(form_of):
    """开餐馆一件事 with the optional tobacco retail licence."""
    food = form_of(dict_field("name", "company_name") + dict_field("credit_code", "credit_code")
                   + plain("seats", "座位数", "long") + plain("area", "使用面积", "decimal"))
    sign = form_of(dict_field("shop_name", "company_name") + plain("sign_size", "招牌尺寸"))
    tobacco = form_of(dict_field("applicant_code", "credit_code")
                      + plain("tobacco_distance", "与最近零售点距离（米）", "decimal", REQUIRED))
    return {"food": food, "sign": sign, "tobacco": tobacco}


def test_conditional_fields_vanish_when_their_item_does_not_apply(restaurant):
    merged = merge_forms(restaurant)
    assert "tobacco_distance" in merged
    visible = visible_fields(merged, {"food", "sign"})
    assert visible.ids == ("name", "credit_code", "seats", "area", "sign_size")
    assert visible.field("credit_code").sources == ("food",)
    assert visible_fields(merged, {"tobacco"}).ids == ("credit_code", "tobacco_distance")


def test_visible_form_validates_and_fans_out_without_the_hidden_item(restaurant):
    visible = visible_fields(merge_forms(restaurant), {"food", "sign"})
    values = validate(visible, {"name": "张兴亮小吃店", "seats": "40", "area": "85.5"})
    items = fan_out(visible, values, restaurant)
    assert items["food"] == {"name": "张兴亮小吃店", "seats": 40, "area": Decimal("85.5")}
    assert items["sign"] == {"shop_name": "张兴亮小吃店"}
    assert items["tobacco"] == {}


def test_onething_fields_stay_visible(form_of, restaurant):
    base = form_of(plain("mail_result", "结果邮寄送达", "boolean"))
    visible = visible_fields(merge_forms(restaurant, base=base), set())
    assert visible.ids == ("mail_result",)
