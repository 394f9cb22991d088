"""The front desk (综合受理) as a clerk uses it, through the web pages only.

Catalogue → one merged application form → materials (department-issued ones pulled by data
sharing) → accept (受理通知书) or one notice of everything missing (一次性告知书).
"""
from __future__ import annotations

import io
import re

import pytest

from engine.cases import canonical
from engine.cases.dto import SYSTEM
from web import formsource
from demo import CONSTRUCTION_APPLICATION

PROCESS = "onething_construction_permit"
FRONT_DESK = "综合受理窗口"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
BAD_CREDIT_BUILDER = "91371500MA3N6UXW4Q"  # on the fake registry's dishonesty list


def csrf(response) -> str:
    match = CSRF.search(response.get_data(as_text=True))
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client, username: str, password: str) -> None:
    token = csrf(client.get("/login"))
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


@pytest.fixture
def clerk(app, deployed):
    deployed.users.create("fd", "fd-pass-2026", display_name="王受理", roles=["frontdesk"],
                          groups=[FRONT_DESK])
    client = app.test_client()
    login(client, "fd", "fd-pass-2026")
    return client


def merged_form(runtime):
    with runtime.db.reading() as session:
        definition = runtime.definitions.latest(session, PROCESS)
    return formsource.start_form(runtime, definition)


def acceptance_form(runtime):
    with runtime.db.reading() as session:
        definition = runtime.definitions.latest(session, PROCESS)
        document = runtime.definitions.document(session, PROCESS, definition.content_hash)
    return formsource.forms_of(document)["front_desk_acceptance"]


def own_materials(runtime, necessities=("必要", "容缺后补")) -> list:
    """File fields the applicant brings (department-issued ones are pulled, not asked)."""
    return [f for f in merged_form(runtime).fields
            if f.type == "file" and f.source == "申请人自备" and f.necessity in necessities]


def post_application(client, runtime, action: str, *, materials=None, **changes):
    page = client.get(f"/counter/{PROCESS}")
    assert page.status_code == 200
    data = {**CONSTRUCTION_APPLICATION, **changes, "csrf_token": csrf(page), "action": action}
    data = {k: v for k, v in data.items() if v is not None}
    for field in own_materials(runtime) if materials is None else materials:
        data[field.id] = (io.BytesIO(PDF), f"{field.label}.pdf")
    return client.post(f"/counter/{PROCESS}", data=data, content_type="multipart/form-data")


def case_id_of(response) -> int:
    match = re.search(r"/counter/cases/(\d+)/(receipt|notice|deficiency-notice)$",
                      response.headers["Location"])
    assert match, response.headers.get("Location")
    return int(match.group(1))


def application_of(runtime, case_id: int) -> dict:
    return canonical.loads(runtime.cases.events(case_id, SYSTEM)[0].payload)["data"]


# --- catalogue ----------------------------------------------------------------------------

def test_catalogue_lists_the_one_thing_with_its_code_department_and_limits(clerk):
    page = clerk.get("/counter")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "施工许可一件事" in text
    assert "11371500MB1870526A-YJS-00001" in text
    assert "3 个工作日" in text and "7 个工作日" in text
    assert "建筑工程施工许可证核发" in text and "住房和城乡建设局" in text
    assert f'href="/counter/{PROCESS}"' in text


def test_application_page_has_the_merged_form_agent_section_and_materials(clerk, deployed):
    text = clerk.get(f"/counter/{PROCESS}").get_data(as_text=True)
    for field_id in ("project_code", "builder_credit_code", "agent_name", "agent_id_number",
                     "agent_mobile", "power_of_attorney", "construction_contract_file"):
        assert f'name="{field_id}"' in text, field_id
    assert "<legend>建设单位</legend>" in text and "<legend>帮办代办</legend>" in text
    assert 'name="csrf_token"' in text
    assert 'value="accept"' in text
    assert "不予受理" not in text and 'value="reject"' not in text  # the window has no veto
    # Department-issued materials are not asked for: no file input, pulled at acceptance.
    assert 'name="planning_permit_file"' not in text
    assert "无需申请人提交" in text
    # The one-time notice list starts from what the applicant has to bring.
    notice = re.search(r'<textarea id="f-missing_materials"[^>]*>([^<]*)</textarea>', text).group(1)
    assert "施工合同（建筑工程施工许可证核发；必要）" in notice
    assert "建设工程监理合同（建设工程质量监督手续办理；容缺后补）" in notice
    assert "建设工程规划许可证" not in notice and "规划总平面图" not in notice


# --- accept -------------------------------------------------------------------------------

def test_accept_starts_the_case_with_the_clerk_as_first_asked_and_opens_twelve_reviews(
        clerk, deployed):
    response = post_application(clerk, deployed, "accept")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    case_id = case_id_of(response)
    assert response.headers["Location"].endswith("/receipt")
    case = deployed.cases.get_case(case_id, SYSTEM)
    assert case.created_by == "fd"
    reviews = [t for t in case.tasks if t.task_spec.endswith("_review")]
    assert len(reviews) == 12 and len(case.tasks) == 12
    events = deployed.cases.events(case_id, SYSTEM)
    decided = [canonical.loads(e.payload)["data"] for e in events
               if e.kind == "task_completed" and e.task_spec == "front_desk_acceptance"]
    assert len(decided) == 1 and decided[0]["materials_complete"] is True
    if "acceptance_decision" in acceptance_form(deployed):
        assert decided[0]["acceptance_decision"] == "accept"

    receipt = clerk.get(f"/counter/cases/{case_id}/receipt")
    assert receipt.status_code == 200
    text = receipt.get_data(as_text=True)
    assert "受理通知书" in text and case.number in text
    assert "聊城市东昌府区教育和体育局" in text and "王受理" in text and FRONT_DESK in text
    assert "特殊建设工程消防设计审查" in text and "5 个工作日" in text
    assert "2026-11-20" in text
    assert clerk.get(f"/counter/cases/{case_id}/notice").status_code == 404


def test_a_missing_required_material_refuses_acceptance_and_points_to_the_notice(
        clerk, deployed):
    materials = own_materials(deployed)
    response = post_application(clerk, deployed, "accept", materials=materials[1:])
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "必要材料未提交" in text
    assert f'data-field="{materials[0].id}"' in text
    assert not deployed.tasks.visible(SYSTEM, limit=5)


def test_a_bad_credit_applicant_is_not_accepted_with_deficiency(clerk, deployed):
    materials = own_materials(deployed, ("必要",))  # the 容缺后补 ones are missing
    response = post_application(clerk, deployed, "accept", materials=materials,
                                builder_credit_code=BAD_CREDIT_BUILDER)
    assert response.status_code == 422
    assert "不适用容缺受理" in response.get_data(as_text=True)


def accept_with_deficiency(clerk, deployed, **changes):
    return post_application(clerk, deployed, "accept", materials=own_materials(deployed, ("必要",)),
                            deficiency_commitment="signed", deficiency_signer="李建设", **changes)


def test_an_applicant_flagged_by_the_hall_is_not_accepted_with_deficiency(clerk, deployed):
    code = CONSTRUCTION_APPLICATION["builder_credit_code"]
    deployed.credit.flag(code, "告知承诺核查不通过（虚假承诺）", actor="admin")
    response = accept_with_deficiency(clerk, deployed)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "不适用容缺受理" in text and "虚假承诺" in text
    assert not deployed.tasks.visible(SYSTEM, limit=5)
    # With everything brought, the same applicant is accepted: the window has no veto.
    assert post_application(clerk, deployed, "accept").status_code == 302


def test_a_refused_credit_applicant_is_refused_the_same_on_the_page_and_the_api(
        app, clerk, deployed):
    from tests.web.test_api import Api, materials

    code = CONSTRUCTION_APPLICATION["builder_credit_code"]
    deployed.credit.flag(code, "告知承诺核查不通过（虚假承诺）", actor="admin")
    page = accept_with_deficiency(clerk, deployed)
    assert page.status_code == 422
    api, token = Api(app, app.test_client()), deployed.users.issue_token("fd")
    response = api.post("/cases", token, json={"process": PROCESS, "data": {
        **CONSTRUCTION_APPLICATION, **materials(api, token, ("必要",)),
        "deficiency_commitment": "signed", "deficiency_signer": "李建设"}})
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    deferred = [f.id for f in own_materials(deployed, ("容缺后补",))]
    refusal = fields[deferred[0]]
    assert "不适用容缺受理" in refusal and "虚假承诺" in refusal
    assert all(fields[f] == refusal for f in deferred)
    html = page.get_data(as_text=True)
    for field_id in deferred:  # the page shows the very same message on the same material
        assert re.search(rf'data-field="{field_id}"(?:(?!data-field=).)*'
                         + re.escape(refusal), html, re.S), field_id
    assert not deployed.tasks.visible(SYSTEM, limit=5)


def test_deferring_materials_needs_the_signed_commitment(clerk, deployed):
    response = post_application(clerk, deployed, "accept",
                                materials=own_materials(deployed, ("必要",)))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "容缺受理须申请人签署容缺受理承诺书" in text
    assert "请填写签署承诺书的申请人" in text
    assert not deployed.tasks.visible(SYSTEM, limit=5)  # nothing started


def test_deficient_acceptance_prints_the_deficiency_notice_with_deadlines(clerk, deployed):
    response = accept_with_deficiency(clerk, deployed)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"].endswith("/deficiency-notice")
    case_id = case_id_of(response)
    application = application_of(deployed, case_id)
    assert application["deficiency_outstanding"] is True
    assert application["deficiency_commitment"]["signed_by"] == "李建设"
    assert application["deficiency_commitment"]["witnessed_by"] == "fd"
    fields = {d["field"] for d in application["deficiency"]}
    assert fields == {f.id for f in own_materials(deployed, ("容缺后补",))}

    notice = clerk.get(f"/counter/cases/{case_id}/deficiency-notice")
    assert notice.status_code == 200
    text = notice.get_data(as_text=True)
    assert "容缺受理通知书" in text and "李建设" in text and "王受理" in text
    assert "建设工程监理合同" in text and "消纳场所受纳证明" in text
    # Every deadline is the end of 2026-11-27: five working days, the one-thing's promise.
    deadlines = set(re.findall(r'data-deadline="([^"]+)"', text))
    assert deadlines == {"2026-11-27T23:59:59+08:00"} and "2026年11月27日" in text
    receipt = clerk.get(f"/counter/cases/{case_id}/receipt").get_data(as_text=True)
    assert "容缺受理" in receipt and "建设工程监理合同" in receipt
    # A case accepted with everything has no deficiency notice.
    full = case_id_of(post_application(clerk, deployed, "accept"))
    assert clerk.get(f"/counter/cases/{full}/deficiency-notice").status_code == 404


def test_materials_are_supplied_on_the_counter_page(clerk, deployed):
    case_id = case_id_of(accept_with_deficiency(clerk, deployed))
    page = clerk.get(f"/counter/cases/{case_id}/materials")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    owed = own_materials(deployed, ("容缺后补",))
    for field in owed:
        assert f'data-field="{field.id}" data-supplied="false"' in text
    url = f"/counter/cases/{case_id}/materials"
    empty = clerk.post(url, data={"csrf_token": csrf(page), "field": owed[0].id,
                                  "action": "upload"}, content_type="multipart/form-data")
    assert empty.status_code == 422 and "请选择要上传的材料文件" in empty.get_data(True)
    for field in owed:
        done = clerk.post(url, data={"csrf_token": csrf(page), "field": field.id,
                                     "action": "upload",
                                     "upload": (io.BytesIO(PDF), f"{field.label}.pdf")},
                          content_type="multipart/form-data")
        assert done.status_code == 302
    text = clerk.get(url).get_data(as_text=True)
    assert "容缺材料已全部补齐" in text
    assert all(f'data-field="{f.id}" data-supplied="true"' in text for f in owed)
    assert deployed.deficiencies.outstanding(case_id, SYSTEM) == []
    kinds = [e.kind for e in deployed.cases.events(case_id, SYSTEM)]
    assert kinds.count("material_supplied") == len(owed)
    again = clerk.post(url, data={"csrf_token": csrf(page), "field": owed[0].id,
                                  "action": "upload", "upload": (io.BytesIO(PDF), "x.pdf")},
                       content_type="multipart/form-data")
    assert again.status_code == 409 and "已于" in again.get_data(True)


def test_a_renewal_opens_prefilled_from_the_old_case(clerk, deployed):
    old = case_id_of(post_application(clerk, deployed, "accept"))
    text = clerk.get(f"/counter/{PROCESS}?from_case={old}").get_data(as_text=True)
    assert 'value="聊城市东昌府区实验小学教学楼"' in text
    assert f'value="{CONSTRUCTION_APPLICATION["builder_credit_code"]}"' in text
    missing = clerk.get(f"/counter/{PROCESS}?from_case=999999")
    assert missing.status_code == 200 and "未找到办件" in missing.get_data(True)
    assert clerk.get(f"/counter/{PROCESS}?from_case=abc").status_code == 200


def test_a_small_project_is_not_asked_the_permit_items_questions(clerk, deployed):
    form = merged_form(deployed)
    permit_only = [f for f in form.fields if f.sources == ("item_construction_permit",)
                   and f.source != "部门核发"]  # department-issued ones have no input anyway
    assert permit_only, "the permit item asks something no other item does"
    page = clerk.get(f"/counter/{PROCESS}").get_data(as_text=True)
    assert 'data-deciding="floor_area investment"' in page
    assert all(f'name="{f.id}"' in page for f in permit_only)
    assert '<style id="hidden-fields"></style>' in page  # nothing hidden before any answer
    small = {"investment": "25", "floor_area": "280"}
    blanks = {f.id: None for f in permit_only if f.type != "file"}
    response = post_application(clerk, deployed, "accept", **small, **blanks,
                                materials=[f for f in own_materials(deployed)
                                           if f not in permit_only])
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    case = deployed.cases.get_case(case_id_of(response), SYSTEM)
    assert "construction_permit_review" not in {t.task_spec for t in case.tasks}
    assert len(case.tasks) == 11
    refreshed = post_application(clerk, deployed, "fetch", **small).get_data(as_text=True)
    style = re.search(r'<style id="hidden-fields">([^<]*)</style>', refreshed).group(1)
    assert all(f'[data-field="{f.id}"]' in style for f in permit_only)
    assert 'data-field="project_name"' not in style
    # As the clerk types, the page asks which questions to hide (no reload).
    url = f"/counter/{PROCESS}/applicable"
    token = csrf(clerk.get(f"/counter/{PROCESS}"))
    hidden = clerk.post(url, data={"csrf_token": token, **small}).get_json()["hidden"]
    assert {f.id for f in permit_only} <= set(hidden)
    big = clerk.post(url, data={"csrf_token": token, "investment": "31", "floor_area": "10"})
    assert not {f.id for f in permit_only} & set(big.get_json()["hidden"])


# --- one-time notice ----------------------------------------------------------------------

def test_notify_gives_one_notice_of_every_missing_material(clerk, deployed):
    if "acceptance_decision" not in acceptance_form(deployed):
        pytest.skip("front_desk_acceptance has no acceptance_decision yet (process change)")
    brought = own_materials(deployed)[:3]
    response = post_application(clerk, deployed, "notify", materials=brought)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"].endswith("/notice")
    case_id = case_id_of(response)
    case = deployed.cases.get_case(case_id, SYSTEM)
    assert case.created_by == "fd"
    assert [t.task_spec for t in case.tasks] == ["supplement_materials"]
    assert case.tasks[0].name == "补齐材料"

    text = clerk.get(f"/counter/cases/{case_id}/notice").get_data(as_text=True)
    assert "一次性告知书" in text and case.number in text
    missing = [f for f in own_materials(deployed) if f not in brought]
    for field in missing:
        assert field.label in text, field.label
    for field in brought:
        assert f"<li>{field.label}（" not in text
    assert "五日内" in text and "即为受理" in text
    assert clerk.get(f"/counter/cases/{case_id}/receipt").status_code == 404


def test_the_notice_text_the_clerk_edited_is_kept(clerk, deployed):
    if "acceptance_decision" not in acceptance_form(deployed):
        pytest.skip("front_desk_acceptance has no acceptance_decision yet (process change)")
    response = post_application(clerk, deployed, "notify",
                                missing_materials="施工合同缺少发包方盖章\n消防设计文件未签字",
                                missing_auto="x")
    case_id = case_id_of(response)
    text = clerk.get(f"/counter/cases/{case_id}/notice").get_data(as_text=True)
    assert "<li>施工合同缺少发包方盖章</li>" in text and "<li>消防设计文件未签字</li>" in text


# --- validation ---------------------------------------------------------------------------

def test_an_invalid_credit_code_re_renders_with_the_message_and_the_input_kept(clerk, deployed):
    response = post_application(clerk, deployed, "accept",
                                builder_credit_code="91350100M000100Y44")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "统一社会信用代码校验位不正确" in text
    assert 'value="91350100M000100Y44"' in text
    assert 'value="聊城市东昌府区实验小学教学楼"' in text
    assert "柳园南路（东昌路至兴华路段）" in text
    assert re.search(r'name="construction_contract_file__keep" value="[0-9a-f-]{36}"', text)
    assert not deployed.tasks.visible(SYSTEM, limit=5)


def test_the_agent_is_validated_and_recorded_with_the_power_of_attorney(clerk, deployed):
    bad = post_application(clerk, deployed, "accept", agent_name="张丽",
                           agent_id_number="371521199007083028", agent_mobile="13905351234")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "居民身份证号码校验位不正确" in text
    assert "此项为必填项" in text  # the power of attorney
    page = clerk.get(f"/counter/{PROCESS}")
    data = {**CONSTRUCTION_APPLICATION, "csrf_token": csrf(page), "action": "accept",
            "agent_name": "张丽", "agent_id_number": "371521199007083027",
            "agent_mobile": "139 0535 1234",
            "power_of_attorney": (io.BytesIO(PDF), "授权委托书.pdf")}
    for field in own_materials(deployed):
        data[field.id] = (io.BytesIO(PDF), f"{field.label}.pdf")
    good = clerk.post(f"/counter/{PROCESS}", data=data, content_type="multipart/form-data")
    assert good.status_code == 302, good.get_data(as_text=True)[:2000]
    application = application_of(deployed, case_id_of(good))
    assert application["agent_name"] == "张丽"
    assert application["agent_id_number"] == "371521199007083027"
    assert application["agent_mobile"] == "13905351234"
    assert deployed.uploads.get(application["power_of_attorney"]).name == "授权委托书.pdf"


# --- 零材料 ----------------------------------------------------------------------------------

def test_department_issued_materials_are_pulled_with_their_source(clerk, deployed):
    response = post_application(clerk, deployed, "accept")
    assert response.status_code == 302
    application = application_of(deployed, case_id_of(response))
    shared = application["shared_materials"]
    permit = shared["planning_permit_file"]
    assert permit["source"] == "数据共享"
    assert permit["department"] == "聊城市自然资源和规划局"
    assert permit["number"] == "建字第371502202600123号"
    assert application["planning_permit_file"] == permit["upload"]
    stored = deployed.uploads.get(permit["upload"])
    assert stored.content_type == "application/pdf" and "数据共享" in stored.name
    assert deployed.uploads.path_of(stored.sha256).read_bytes().startswith(b"%PDF-")
    # Issued to the contractor, so pulled with the contractor's credit code.
    assert shared["contractor_safety_licence_file"]["subject"] == "91110000802100433B"
    # Pulled for the item too (the item's own field id carries it into its review).
    assert application["contractor_safety_licence_file"] == \
        shared["contractor_safety_licence_file"]["upload"]


def test_the_fetch_button_shows_pulled_materials_and_register_checks(clerk, deployed):
    page = clerk.get(f"/counter/{PROCESS}")
    data = {**CONSTRUCTION_APPLICATION, "csrf_token": csrf(page), "action": "fetch",
            "builder_name": "聊城市东昌府区教育局"}
    response = clerk.post(f"/counter/{PROCESS}", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "已通过数据共享调取" in text and "建字第371502202600123号" in text
    assert "（鲁）JZ安许证字〔2024〕150123" in text
    assert "与填写的「聊城市东昌府区教育局」不一致" in text
    assert 'value="聊城市东昌府区教育局"' in text
    assert not deployed.tasks.visible(SYSTEM, limit=5)


# --- who may use the counter ---------------------------------------------------------------

def test_a_clerk_without_the_frontdesk_role_is_refused(app, deployed):
    deployed.users.create("zjj", "zjj-pass-2026", roles=["approver"], groups=["住房和城乡建设局"])
    client = app.test_client()
    login(client, "zjj", "zjj-pass-2026")
    assert client.get("/counter").status_code == 403
    assert client.get(f"/counter/{PROCESS}").status_code == 403
    token = csrf(client.get("/tasks"))
    assert client.post(f"/counter/{PROCESS}", data={"csrf_token": token,
                                                    "action": "accept"}).status_code == 403
    assert "综合受理" not in client.get("/tasks").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_login(client, deployed):
    for path in ("/counter", f"/counter/{PROCESS}", "/counter/cases/1/receipt"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_an_unknown_process_is_404(clerk):
    assert clerk.get("/counter/no_such_process").status_code == 404


def test_an_unavailable_platform_falls_back_to_the_applicants_copy(app, clerk, deployed):
    from engine.acceptance.connectors import FakeRegistry, SharingUnavailable

    class Down(FakeRegistry):
        def fetch_material(self, material_code, subject):
            raise SharingUnavailable("接口超时")

    app.extensions["data_sharing"] = Down({})
    page = clerk.get(f"/counter/{PROCESS}")
    data = {**CONSTRUCTION_APPLICATION, "csrf_token": csrf(page), "action": "fetch"}
    text = clerk.post(f"/counter/{PROCESS}", data=data,
                      content_type="multipart/form-data").get_data(as_text=True)
    assert "数据共享平台暂不可用：接口超时" in text
    assert 'name="planning_permit_file"' in text  # the applicant's copy can be scanned instead
    # Without the shared materials a required one is missing: no acceptance, one notice.
    refused = post_application(clerk, deployed, "accept")
    assert refused.status_code == 422
    own_error = r'data-field="planning_permit_file"(?:(?!data-field=).)*必要材料未提交'
    assert re.search(own_error, refused.get_data(as_text=True), re.S)
    copies = own_materials(deployed) + [f for f in merged_form(deployed).fields
                                        if f.source == "部门核发" and f.necessity == "必要"]
    # The 容缺后补 department-issued one (交警意见) cannot be pulled now: deferred on commitment.
    accepted = post_application(clerk, deployed, "accept", materials=copies,
                                deficiency_commitment="signed", deficiency_signer="李建设")
    assert accepted.status_code == 302
    application = application_of(deployed, case_id_of(accepted))
    assert "shared_materials" not in application
    assert [d["field"] for d in application["deficiency"]] == ["traffic_police_opinion_file"]
    assert deployed.uploads.get(application["planning_permit_file"]).name == "建设工程规划许可证.pdf"


def test_a_material_not_needed_for_the_answer_given_does_not_block_acceptance(clerk, deployed):
    brought = [f for f in own_materials(deployed) if f.id != "air_defense_design_file"]
    response = post_application(clerk, deployed, "accept", materials=brought,
                                basement_build_mode="relocated", air_defense_area="0")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


def test_a_single_item_is_accepted_on_receipt_and_goes_straight_to_its_department(
        clerk, deployed):
    key = "item_construction_permit"
    page = clerk.get(f"/counter/{key}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "11371500004367120C-XK-00101" in text
    assert 'value="notify"' not in text  # no front-desk step to notify from
    fields = {f.id for f in merged_form(deployed).fields}
    with deployed.db.reading() as session:
        definition = deployed.definitions.latest(session, key)
    own = formsource.start_form(deployed, definition)
    data = {k: v for k, v in CONSTRUCTION_APPLICATION.items() if k in own and k in fields}
    data.update(csrf_token=csrf(page), action="accept")
    for field in own.fields:
        if field.type == "file" and field.source == "申请人自备":
            data[field.id] = (io.BytesIO(PDF), f"{field.label}.pdf")
    response = clerk.post(f"/counter/{key}", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    case_id = case_id_of(response)
    case = deployed.cases.get_case(case_id, SYSTEM)
    assert [t.task_spec for t in case.tasks] == ["construction_permit_review"]
    assert application_of(deployed, case_id)["shared_materials"]["planning_permit_file"]
    receipt = clerk.get(f"/counter/cases/{case_id}/receipt").get_data(as_text=True)
    assert case.number in receipt and "建筑工程施工许可证核发" in receipt


def test_an_overlong_note_is_refused_on_its_own_field(clerk, deployed):
    response = post_application(clerk, deployed, "accept", acceptance_note="长" * 501)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert 'id="f-acceptance_note-error"' in text
    assert not deployed.tasks.visible(SYSTEM, limit=5)


def test_a_misconfigured_platform_is_reported_on_the_page_not_as_a_crash(app, clerk, deployed):
    app.config["DATA_SHARING"] = "no_such_platform_module:Platform"
    app.extensions.pop("data_sharing", None)
    page = clerk.get(f"/counter/{PROCESS}")
    data = {**CONSTRUCTION_APPLICATION, "csrf_token": csrf(page), "action": "fetch"}
    response = clerk.post(f"/counter/{PROCESS}", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "数据共享配置有误" in response.get_data(as_text=True)


def test_one_form_report_shows_the_reduction(deployed, app, monkeypatch, tmp_path, capsys,
                                             database_url):
    from cli import main
    from web.formsource import application_report

    with deployed.db.reading() as session:
        definition = deployed.definitions.latest(session, "onething_construction_permit")
    report = application_report(deployed, definition)
    assert report.total_asked > report.merged > 0
    assert report.text == f"表单优化率 {report.reduction_percent}%"
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ONETHING_INSTANCE", str(tmp_path))
    assert main(["forms", "report", "onething_construction_permit"]) == 0
    out = capsys.readouterr().out
    assert report.text in out and "建筑工程施工许可" in out
    assert main(["forms", "report", "no_such"]) == 1


# --- 容缺: supplied later (online, by data sharing) or withdrawn ------------------------------

def test_online_supply_through_the_api(app, clerk, deployed):
    from tests.web.test_api import CJK, Api, Tokens

    api, tokens = Api(app, app.test_client()), Tokens(deployed)
    deployed.users.create("system", "sys-pw-2026", roles=["api"], groups=[])
    system = deployed.users.issue_token("system")
    case_id = case_id_of(accept_with_deficiency(clerk, deployed))
    owed = [f.id for f in own_materials(deployed, ("容缺后补",))]
    upload = api.post("/uploads", system, data={"file": (io.BytesIO(PDF), "监理合同.pdf")},
                      content_type="multipart/form-data").get_json()["id"]
    url = f"/cases/{case_id}/materials"

    status = api.get(url, system).get_json()
    assert status["outstanding"] == len(owed) and status["deadline"].startswith("2026-11-27")
    bad = api.post(url, system, json={"field": owed[0]})
    assert bad.status_code == 422 and CJK.search(bad.get_json()["fields"]["upload"])
    unknown = api.post(url, system, json={"field": "no_such_material", "upload": upload})
    assert unknown.status_code == 422 and "不在容缺后补清单中" in unknown.get_json()["message"]
    missing = api.post("/cases/999999/materials", system, json={"field": owed[0],
                                                               "upload": upload})
    assert missing.status_code == 404 and CJK.search(missing.get_json()["message"])
    forbidden = api.post(url, tokens["zjj"], json={"field": owed[0], "upload": upload})
    assert forbidden.status_code == 403 and CJK.search(forbidden.get_json()["message"])

    done = api.post(url, system, json={"field": owed[0], "upload": upload})
    assert done.status_code == 200, done.get_json()
    first = next(m for m in done.get_json()["materials"] if m["field"] == owed[0])
    assert first["supplied"] and first["source"] == "网上提交" and first["upload"] == upload
    assert done.get_json()["outstanding"] == len(owed) - 1
    twice = api.post(url, system, json={"field": owed[0], "upload": upload})
    assert twice.status_code == 409 and "已于" in twice.get_json()["message"]


def test_a_department_issued_material_is_pulled_when_supplied_later(app, clerk, deployed):
    from engine.acceptance.connectors import FakeRegistry, SharingUnavailable

    class Down(FakeRegistry):
        def fetch_material(self, material_code, subject):
            raise SharingUnavailable("接口超时")

    working = app.extensions.get("data_sharing")
    app.extensions["data_sharing"] = Down({})
    shared = [f for f in merged_form(deployed).fields
              if f.source == "部门核发" and f.necessity == "必要"]
    brought = own_materials(deployed) + shared
    response = post_application(clerk, deployed, "accept", materials=brought,
                                deficiency_commitment="signed", deficiency_signer="李建设")
    case_id = case_id_of(response)
    assert [d.field for d in deployed.deficiencies.outstanding(case_id, SYSTEM)] == [
        "traffic_police_opinion_file"]
    if working is None:
        app.extensions.pop("data_sharing")
    else:
        app.extensions["data_sharing"] = working
    page = clerk.get(f"/counter/cases/{case_id}/materials")
    assert 'value="pull"' in page.get_data(True)  # 零材料: offered instead of an upload
    pulled = clerk.post(f"/counter/cases/{case_id}/materials",
                        data={"csrf_token": csrf(page), "field": "traffic_police_opinion_file",
                              "action": "pull"}, content_type="multipart/form-data")
    assert pulled.status_code == 302
    supplied = [canonical.loads(e.payload) for e in deployed.cases.events(case_id, SYSTEM)
                if e.kind == "material_supplied"]
    assert len(supplied) == 1
    assert (supplied[0]["source"], supplied[0]["issuer"]) == ("数据共享", "聊城市公安局交通警察支队")
    stored = deployed.uploads.get(supplied[0]["upload"])
    assert stored is not None and "数据共享" in stored.name
    assert deployed.deficiencies.outstanding(case_id, SYSTEM) == []


def test_not_supplied_in_time_prints_a_withdrawal_notice(clerk, deployed, clock):
    from tests.scenarios.test_construction_permit import review_all

    case_id = case_id_of(accept_with_deficiency(clerk, deployed))
    assert clerk.get(f"/counter/cases/{case_id}/withdrawal").status_code == 404
    case = review_all(deployed, deployed.cases.get_case(case_id, SYSTEM))
    assert [t.task_spec for t in case.tasks] == ["deficiency_supply"]
    clock.advance(days=8)
    assert deployed.timers.run_once().fired >= 1
    notice = clerk.get(f"/counter/cases/{case_id}/withdrawal")
    assert notice.status_code == 200
    text = notice.get_data(as_text=True)
    assert "退件通知书" in text and 'data-outcome="5"' in text
    assert "建设工程监理合同" in text and "未在承诺期限内补齐" in text
    page = clerk.get(f"/counter/cases/{case_id}/materials").get_data(as_text=True)
    assert "未补交" in page and 'value="upload"' not in page
