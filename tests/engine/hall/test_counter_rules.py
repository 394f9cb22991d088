"""The front desk's legal rules as pure functions (engine.acceptance.rules): no database,
no clock, no platform — an application, the answers given and the clerk's decision."""
from __future__ import annotations

from engine.acceptance import rules
from engine.acceptance.rules import (ACCEPT, NOTIFY, Application, Decision, MaterialRow,
    ProcessRef)
from forms.model import Field, Form, Option

CODE = "91371500MA3C8QLX1K"
APPLICATION = Form((
    Field("builder_credit_code", "建设单位统一社会信用代码", "string", dict="credit_code"),
    Field("contract_file", "施工合同", "file", necessity="必要", source="申请人自备"),
    Field("supervision_file", "监理合同", "file", necessity="容缺后补", source="申请人自备"),
    Field("photo_file", "现场照片", "file", necessity="非必要", source="申请人自备"),
))
ACCEPTANCE = Form((
    Field("acceptance_decision", "受理决定", "enum", required=True,
          options=(Option(ACCEPT, "受理"), Option(NOTIFY, "一次性告知"))),
    Field("missing_materials", "需补齐的材料", "textarea", maxlength=2000),
    Field("materials_complete", "材料齐全", "boolean"),
    Field("acceptance_note", "受理意见", "textarea", maxlength=500),
))
APP = Application(ProcessRef("p", "施工许可", 1, "h", ()), None, APPLICATION, ACCEPTANCE,
                  "综合受理窗口", tuple(MaterialRow(f, "施工许可", None)
                                   for f in APPLICATION.fields if f.type == "file"))
VISIBLE = set(APPLICATION.ids)
DATA = {"builder_credit_code": CODE}
SIGNED = Decision(deficiency_commitment="signed", deficiency_signer="李建设")


def trusted(code: str) -> None:
    return None


def decide(values, decision=None, action=ACCEPT, refusal_of=trusted):
    return rules.decide(APP, action, DATA, values, VISIBLE, decision or Decision(), refusal_of)


def test_everything_brought_is_accepted_as_complete():
    data, errors = decide({"contract_file": "u1", "supervision_file": "u2"})
    assert errors == {}
    assert data == {"acceptance_decision": ACCEPT, "materials_complete": True}


def test_a_missing_required_material_refuses_acceptance_on_that_material():
    data, errors = decide({"supervision_file": "u2"}, SIGNED)
    assert data is None and errors == {"contract_file": rules.MISSING_REQUIRED}


def test_only_deferrable_missing_is_deficiency_acceptance_on_a_signed_commitment():
    unsigned = decide({"contract_file": "u1"})[1]
    assert unsigned == {"deficiency_commitment": rules.COMMITMENT_UNSIGNED,
                        "deficiency_signer": rules.SIGNER_MISSING}
    assert decide({"contract_file": "u1"}, Decision(deficiency_commitment=True,
                                                    deficiency_signer="李" * 51))[1] == {
        "deficiency_signer": rules.SIGNER_TOO_LONG}
    data, errors = decide({"contract_file": "u1"}, SIGNED)
    assert errors == {} and data["materials_complete"] is False
    assert data["missing_materials"] == "监理合同（施工许可；容缺后补）"


def test_an_untrusted_applicant_gets_no_deficiency_acceptance():
    asked = []

    def dishonest(code):
        asked.append(code)
        return rules.credit_refusal(True, "失信被执行人", None)

    data, errors = decide({"contract_file": "u1"}, SIGNED, refusal_of=dishonest)
    assert data is None and asked == [CODE]
    assert errors == {"supervision_file": "申请人列入失信名单（失信被执行人），不适用容缺受理，须补齐后受理"}
    # nothing deferred: the credit list is not even asked (the window has no veto)
    asked.clear()
    assert decide({"contract_file": "u1", "supervision_file": "u2"},
                  refusal_of=dishonest)[1] == {}
    assert asked == []
    assert rules.credit_refusal(False, None, "接口超时") == \
        "信用核查暂不可用（接口超时），不能容缺受理，须补齐后受理"


def test_the_notice_lists_everything_missing_or_keeps_the_clerks_text():
    data, errors = decide({}, action=NOTIFY)
    assert errors == {} and data["acceptance_decision"] == NOTIFY
    assert data["missing_materials"] == "施工合同（施工许可；必要）\n监理合同（施工许可；容缺后补）"
    own = Decision(missing_materials="合同缺盖章\r\n\r\n照片不清", missing_auto="x")
    assert decide({}, own, action=NOTIFY)[0]["missing_materials"] == "合同缺盖章\n照片不清"
    everything = {"contract_file": "u1", "supervision_file": "u2"}
    assert decide(everything, action=NOTIFY)[1] == {"missing_materials": rules.NOTICE_EMPTY}


def test_a_field_not_asked_for_these_answers_is_not_missing():
    assert rules.missing(APP, {}, VISIBLE - {"contract_file"}, (rules.REQUIRED,)) == []
