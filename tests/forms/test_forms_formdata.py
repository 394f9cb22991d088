"""Reading camunda:formData from BPMN into the form model, and refusing malformed forms."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from forms import FIELD_TYPES, FormDefinitionError, Option, read_forms

REVIEW = """
<camunda:formField id="builder_credit_code" label="统一社会信用代码" type="string" defaultValue="">
  <camunda:properties>
    <camunda:property id="dict" value="credit_code" />
    <camunda:property id="section" value="建设单位" />
  </camunda:properties>
  <camunda:validation>
    <camunda:constraint name="required" />
    <camunda:constraint name="maxlength" config="18" />
  </camunda:validation>
</camunda:formField>
<camunda:formField id="decision" label="审批结论" type="enum">
  <camunda:value id="approve" name="准予许可" /><camunda:value id="refuse" name="不予许可" />
</camunda:formField>
"""


def test_reads_the_example_from_the_design(form_of):
    form = form_of(REVIEW, tag="userTask", element_id="review")
    credit = form.field("builder_credit_code")
    assert (credit.label, credit.type, credit.required, credit.maxlength) == \
        ("统一社会信用代码", "string", True, 18)
    assert (credit.dict, credit.section, credit.default) == ("credit_code", "建设单位", None)
    decision = form.field("decision")
    assert decision.options == (Option("approve", "准予许可"), Option("refuse", "不予许可"))
    assert form.ids == ("builder_credit_code", "decision")


def test_every_type_and_constraint_is_read(form_of):
    form = form_of("""
      <camunda:formField id="name" label="名称" type="string">
        <camunda:validation><camunda:constraint name="minlength" config="2" />
          <camunda:constraint name="pattern" config="[\\u4e00-\\u9fa5]+" /></camunda:validation>
        <camunda:properties><camunda:property id="pattern_message" value="请填写中文" />
          <camunda:property id="placeholder" value="与营业执照一致" />
          <camunda:property id="help" value="见营业执照" /></camunda:properties>
      </camunda:formField>
      <camunda:formField id="scope" label="经营范围" type="textarea" />
      <camunda:formField id="seats" label="座位数" type="long" defaultValue="20">
        <camunda:validation><camunda:constraint name="min" config="0" />
          <camunda:constraint name="max" config="2000" /></camunda:validation>
      </camunda:formField>
      <camunda:formField id="area" label="使用面积" type="decimal">
        <camunda:validation><camunda:constraint name="min" config="0.01" /></camunda:validation>
      </camunda:formField>
      <camunda:formField id="mail" label="邮寄送达" type="boolean" defaultValue="false" />
      <camunda:formField id="start" label="开工日期" type="date" defaultValue="2026-11-20">
        <camunda:validation><camunda:constraint name="min" config="2026-01-01" /></camunda:validation>
      </camunda:formField>
      <camunda:formField id="kind" label="主体类型" type="enum" defaultValue="company">
        <camunda:value id="company" name="企业" /><camunda:value id="individual" name="个体工商户" />
      </camunda:formField>
      <camunda:formField id="licence" label="营业执照" type="file">
        <camunda:properties><camunda:property id="necessity" value="容缺后补" />
          <camunda:property id="source" value="部门核发" />
          <camunda:property id="material_code" value="M-0001" />
          <camunda:property id="print_copies" value="1" /></camunda:properties>
      </camunda:formField>
      <camunda:formField id="ro" label="办件编号" type="string">
        <camunda:validation><camunda:constraint name="readonly" /></camunda:validation>
      </camunda:formField>""")
    assert [f.type for f in form] == ["string", "textarea", "long", "decimal", "boolean", "date",
                                      "enum", "file", "string"]
    name = form.field("name")
    assert (name.minlength, name.pattern, name.pattern_message, name.placeholder, name.help) == \
        (2, "[\\u4e00-\\u9fa5]+", "请填写中文", "与营业执照一致", "见营业执照")
    assert (form.field("seats").min, form.field("seats").max, form.field("seats").default) == \
        (0, 2000, 20)
    assert form.field("area").min == Decimal("0.01")
    assert form.field("mail").default is False
    assert form.field("start").default == dt.date(2026, 11, 20)
    assert form.field("start").min == dt.date(2026, 1, 1)
    assert form.field("kind").default == "company"
    licence = form.field("licence")
    assert (licence.necessity, licence.source, licence.material_code) == \
        ("容缺后补", "部门核发", "M-0001")
    assert licence.extras == {"print_copies": "1"}
    assert form.field("ro").readonly is True


def test_material_codes_from_the_national_tables_are_normalised(form_of):
    form = form_of("""<camunda:formField id="m" label="材料" type="file"><camunda:properties>
        <camunda:property id="necessity" value="3" /><camunda:property id="source" value="20" />
        </camunda:properties></camunda:formField>""")
    assert (form.field("m").necessity, form.field("m").source) == ("容缺后补", "部门核发")


def test_dictionary_field_inherits_label_type_and_maxlength(form_of):
    form = form_of("""<camunda:formField id="legal"><camunda:properties>
        <camunda:property id="dict" value="legal_person" /></camunda:properties></camunda:formField>
        <camunda:formField id="cc" type="string"><camunda:properties>
        <camunda:property id="dict" value="credit_code" /></camunda:properties>
        <camunda:validation><camunda:constraint name="maxlength" config="100" /></camunda:validation>
        </camunda:formField>""")
    legal = form.field("legal")
    assert (legal.label, legal.type, legal.maxlength, legal.dict) == \
        ("法定代表人", "string", 30, "legal_person")
    assert form.field("cc").label == "统一社会信用代码"
    assert form.field("cc").maxlength == 18  # the dictionary is stricter than the diagram


def test_form_data_without_form_key_is_read(document, element_xml):
    root = document(element_xml('<camunda:formField id="a" label="A" type="string" />',
                                tag="userTask", element_id="t1", form_key=False))
    assert read_forms(root)["t1"].ids == ("a",)


def test_read_forms_maps_every_form_element(document, element_xml):
    root = document(
        element_xml('<camunda:formField id="a" label="A" type="string" />')
        + element_xml('<camunda:formField id="b" label="B" type="long" />',
                      tag="userTask", element_id="review")
        + element_xml("", tag="userTask", element_id="empty")
        + '<bpmn:userTask id="plain" name="无表单" /><bpmn:endEvent id="end" />')
    forms = read_forms(root)
    assert set(forms) == {"start", "review", "empty"}
    assert forms["review"].ids == ("b",)
    assert len(forms["empty"]) == 0
    assert read_forms(root.getroottree()) == forms


def test_field_types_constant_is_the_contract_list():
    assert FIELD_TYPES == ("string", "textarea", "long", "decimal", "boolean", "date", "enum",
                           "file")


@pytest.mark.parametrize("fields_xml, words", [
    ('<camunda:formField id="a" label="A" type="color" />', "不支持的字段类型「color」"),
    ('<camunda:formField id="a" label="A" />', "缺少字段类型"),
    ('<camunda:formField label="A" type="string" />', "缺少标识"),
    ('<camunda:formField id="1a" label="A" type="string" />', "字段标识"),
    ('<camunda:formField id="__class__" label="A" type="string" />', "字段标识"),
    (('<camunda:formField id="a" label="A" type="long"><camunda:validation>'
      '<camunda:constraint name="min" config="abc" /></camunda:validation></camunda:formField>'),
     "约束 min 应为整数"),
    (('<camunda:formField id="a" label="A" type="decimal"><camunda:validation>'
      '<camunda:constraint name="max" config="NaN" /></camunda:validation></camunda:formField>'),
     "约束 max 应为数字"),
    (('<camunda:formField id="a" label="A" type="long"><camunda:validation>'
      '<camunda:constraint name="min" config="10" /><camunda:constraint name="max" config="1" />'
     '</camunda:validation></camunda:formField>'), "min (10) 大于 max (1)"),
    (('<camunda:formField id="a" label="A" type="string"><camunda:validation>'
      '<camunda:constraint name="min" config="1" /></camunda:validation></camunda:formField>'),
     "string 类型的字段不能设置 min"),
    (('<camunda:formField id="a" label="A" type="string"><camunda:validation>'
      '<camunda:constraint name="maxlength" config="-1" /></camunda:validation></camunda:formField>'),
     "约束 maxlength 应为非负整数"),
    (('<camunda:formField id="a" label="A" type="string"><camunda:validation>'
      '<camunda:constraint name="validator" config="com.example.X" /></camunda:validation>'
     '</camunda:formField>'), "不支持的校验约束「validator」"),
    ('<camunda:formField id="a" label="A" type="enum" />', "至少需要一个选项"),
    (('<camunda:formField id="a" label="A" type="enum"><camunda:value id="x" name="X" />'
      '<camunda:value id="x" name="Y" /></camunda:formField>'), "选项「x」重复"),
    (('<camunda:formField id="a" label="A" type="string" />'
      '<camunda:formField id="a" label="B" type="long" />'), "字段标识「a」重复"),
    ('<camunda:formField id="a" label="A" type="long" defaultValue="abc" />', "默认值「abc」无效"),
    ('<camunda:formField id="a" label="A" type="date" defaultValue="2026-02-30" />', "默认值"),
    (('<camunda:formField id="a" label="A" type="enum" defaultValue="maybe">'
      '<camunda:value id="yes" name="是" /></camunda:formField>'), "请选择有效的选项"),
    ('<camunda:formField id="a" label="A" type="boolean" defaultValue="perhaps" />', "默认值"),
    (('<camunda:formField id="a" type="string" defaultValue="91110000802100433C">'
      '<camunda:properties><camunda:property id="dict" value="credit_code" />'
     '</camunda:properties></camunda:formField>'), "统一社会信用代码校验位不正确"),
    (('<camunda:formField id="a" label="A" type="long"><camunda:properties>'
      '<camunda:property id="dict" value="credit_code" /></camunda:properties></camunda:formField>'),
     "类型 long 与共享字段字典「credit_code」"),
    (('<camunda:formField id="a" label="A" type="string"><camunda:properties>'
      '<camunda:property id="dict" value="passport" /></camunda:properties></camunda:formField>'),
     "共享字段字典中没有「passport」"),
    (('<camunda:formField id="a" label="A" type="string"><camunda:validation>'
      '<camunda:constraint name="pattern" config="([a-z]" /></camunda:validation>'
     '</camunda:formField>'), "正则表达式无效"),
    (('<camunda:formField id="a" label="A" type="string"><camunda:properties>'
      '<camunda:property id="necessity" value="必要" /></camunda:properties></camunda:formField>'),
     "只适用于材料 (file) 字段"),
    (('<camunda:formField id="a" label="A" type="file"><camunda:properties>'
      '<camunda:property id="necessity" value="可有可无" /></camunda:properties>'
     '</camunda:formField>'), "材料必要性"),
])
def test_malformed_form_data_is_refused_at_the_element(form_of, fields_xml, words):
    with pytest.raises(FormDefinitionError) as caught:
        form_of(fields_xml, tag="userTask", element_id="review")
    assert caught.value.element_id == "review"
    assert words in caught.value.message
    assert str(caught.value).startswith("review: ")


def test_error_names_the_field(form_of):
    with pytest.raises(FormDefinitionError) as caught:
        form_of('<camunda:formField id="seats" label="座位数" type="long"><camunda:validation>'
                '<camunda:constraint name="max" config="many" /></camunda:validation>'
                '</camunda:formField>')
    assert caught.value.field_id == "seats"
    assert "字段「seats」" in caught.value.message


def test_read_forms_reports_the_failing_element(document, element_xml):
    root = document(element_xml('<camunda:formField id="a" label="A" type="string" />')
                    + element_xml('<camunda:formField id="b" label="B" type="money" />',
                                  tag="userTask", element_id="pay"))
    with pytest.raises(FormDefinitionError) as caught:
        read_forms(root)
    assert caught.value.element_id == "pay"
