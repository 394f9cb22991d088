"""Demo data: users for every window and department, and cases in every state a hall
sees (demo/stories.py), so a new user of `make demo` walks into a living service hall.
Safe to run again: users are kept (their tokens are renewed), cases are only seeded into
an empty hall."""
from __future__ import annotations

from typing import Any


from engine.people.departments import Departments
from engine.runtime import Runtime
from engine.cases.dto import SYSTEM, Actor
from engine.hall.admin import has_cases

from demo.stories import seed_cases

# username, display name, password, roles, departments (lane names)
DEMO_USERS = [
    ("frontdesk", "王受理", "frontdesk-2026", ["frontdesk"], ["综合受理窗口"]),
    ("zjj", "李审批（住建局）", "zjj-2026", ["approver", "lead"], ["住房和城乡建设局"]),
    ("rfb", "张审批（人防办）", "rfb-2026", ["approver"], ["人民防空办公室"]),
    ("cgj", "赵审批（城管局）", "cgj-2026", ["approver"], ["城市管理局"]),
    ("hbj", "孙审批（生态环境局）", "hbj-2026", ["approver"], ["生态环境局"]),
    ("slj", "周审批（水利局）", "slj-2026", ["approver"], ["水利局"]),
    ("chujian", "吴出件", "chujian-2026", ["issuance"], ["统一出件窗口"]),
    ("analyst", "郑分析", "analyst-2026", ["analyst"], []),
    ("auditor", "钱审计", "auditor-2026", ["auditor"], []),
    ("admin", "系统管理员", "admin-2026", ["admin"], []),
    ("api", "外部系统（政务服务网）", "api-2026", ["api"], ["综合受理窗口"]),
    # 开餐馆一件事: market regulation, the fire brigade (告知承诺 site checks), tobacco.
    ("scjgj", "刘审批（市场监管局）", "scjgj-2026", ["approver", "lead"], ["市场监督管理局"]),
    ("xfzd", "陈审批（消防救援支队）", "xfzd-2026", ["approver", "lead"], ["消防救援支队"]),
    ("ycj", "何审批（烟草专卖局）", "ycj-2026", ["approver"], ["烟草专卖局"]),
    # 12345 hotline (operator; lead approves extensions) and a supervisor for 审管联动.
    ("rexian", "陈话务（12345热线）", "rexian-2026", ["hotline"], ["12345热线"]),
    ("rexian-lead", "林组长（12345热线）", "rexianlead-2026", ["hotline", "lead"], ["12345热线"]),
    ("jianguan", "黄监管（住建局）", "jianguan-2026", ["supervisor"], ["住房和城乡建设局"]),
    # 好差评: the office that oversees 差评 handling (its lead decides appeals), and the
    # approval-service bureau that answers for ratings of a whole one-thing.
    ("haocha", "何专员（好差评办公室）", "haocha-2026", ["approver", "lead"], ["好差评办公室"]),
    ("spj", "马科长（行政审批服务局）", "spj-2026", ["approver", "lead"], ["行政审批服务局"]),
]

CONSTRUCTION_APPLICATION: dict[str, Any] = {
    "project_code": "2026-371502-47-01-000123",
    "project_name": "聊城市东昌府区实验小学教学楼",
    "site_address": "山东省聊城市东昌府区柳园南路 88 号",
    "construction_scale": "教学楼一栋，地上五层，框架结构",
    "floor_area": "12800.50",
    "investment": "5600",
    "contract_duration": "540",
    "planned_start_date": "2026-12-01",
    "planning_permit_no": "建字第371502202600123号",
    "drawing_review_cert_no": "SC-2026-0456",
    "builder_name": "聊城市东昌府区教育和体育局",
    "builder_credit_code": "91350100M000100Y43",
    "legal_person": "刘建国",
    "contact_name": "陈晓",
    "contact_mobile": "13806351234",
    "contractor_name": "山东鲁建建设集团有限公司",
    "contractor_credit_code": "91110000802100433B",
    "contractor_manager": "马强",
    "contractor_manager_id_number": "11010519491231002X",
    "designer_name": "聊城市建筑设计院有限公司",
    "designer_credit_code": "914403001922038216",
    "designer_manager": "黄工",
    "surveyor_name": "山东省勘察测绘院",
    "surveyor_credit_code": "91110108551385082Q",
    "surveyor_manager": "林工",
    # Asked once for the items that need them (一表申请):
    "land_use_cert_no": "鲁(2026)聊城市不动产权第0012345号",
    "structure_type": "frame", "storeys_above": "5", "storeys_below": "1",
    "safety_officer_name": "周安全", "safety_officer_cert_no": "鲁建安C(2024)0012345",
    "air_defense_area": "2100", "air_defense_grade": "n6", "above_ground_area": "10700.50",
    "basement_build_mode": "combined",
    "fire_project_category": "special", "building_height": "23.9",
    "fire_resistance_rating": "grade_2",
    "road_section": "柳园南路（东昌路至兴华路段）", "road_occupy_area": "120",
    "road_occupy_start": "2026-12-05", "road_occupy_end": "2027-01-05",
    "green_location": "校区东侧绿化带", "green_occupy_area": "80", "green_occupy_end": "2027-03-01",
    "green_restore_commitment": "true",
    "daily_discharge": "35", "discharge_outlet_count": "2",
    "sewer_connection_point": "柳园南路 W-12 检查井",
    "night_work_start": "2026-12-10", "night_work_end": "2026-12-12",
    "night_work_reason": "混凝土连续浇筑，工艺要求不得中断",
    "noise_control_measures": "选用低噪声振捣设备，设置隔声围挡，提前公告周边居民",
    "waste_volume": "850", "waste_transport_company": "聊城市城建渣土运输有限公司",
    "waste_disposal_site": "聊城市建筑垃圾资源化利用中心",
    "soil_plan_type": "form", "disturbed_area": "1.2", "earthwork_volume": "3.5",
}


RESTAURANT_APPLICATION: dict[str, Any] = {
    "operator_name": "聊城市东昌府区张记小吃店", "operator_credit_code": "92371502MA3R8K6W14",
    "subject_type": "individual", "legal_person": "张兴亮",
    "legal_person_id_number": "371502198805161233",
    "business_address": "山东省聊城市东昌府区柳园街道兴华西路 56 号",
    "business_scope": "餐饮服务；食品销售（仅销售预包装食品）", "business_area": "68.5",
    "seat_count": "24", "contact_name": "张兴亮", "contact_mobile": "13706358821",
    "sells_tobacco": "true",
    "licence_registered_on": "2026-11-18", "licence_business_term": "long_term",
    "food_business_type": "small_restaurant", "food_business_items": "热食类食品制售",
    "food_safety_manager": "张兴亮", "food_staff_count": "3",
    "signboard_text": "张记小吃", "signboard_position": "一层门头上方", "signboard_width": "4.5",
    "signboard_height": "0.8", "signboard_lighting": "true",
    "fire_venue_floors": "地上一层", "fire_max_occupancy": "40", "fire_safety_officer": "张兴亮",
    "tobacco_nearest_retailer_distance": "120", "tobacco_near_school": "false",
}

# The sample application of each one-thing that demo stories start from.
APPLICATIONS: dict[str, dict[str, Any]] = {
    "onething_construction_permit": CONSTRUCTION_APPLICATION,
    "onething_restaurant": RESTAURANT_APPLICATION,
}


def seed(runtime: Runtime) -> list[dict[str, Any]]:
    """Create the demo users (renewing their tokens) and, in an empty hall, sample cases."""
    # Every department and window the demo people belong to (kept if already there).
    Departments(runtime.db).ensure([g for *_, groups in DEMO_USERS for g in groups],
                                   actor="demo")
    users = []
    for username, name, password, roles, groups in DEMO_USERS:
        if runtime.users.get(username) is None:
            runtime.users.create(username, password, display_name=name, roles=roles,
                                 groups=groups)
        users.append({"username": username, "display_name": name, "password": password,
                      "token": runtime.users.issue_token(username), "roles": roles,
                      "departments": groups})
    if not has_cases(runtime, SYSTEM):
        seed_cases(runtime, clerks(), APPLICATIONS)
        runtime.escalations.scan()  # 预警/逾期 notices for the cases seeded late
    return users


def clerks() -> dict[str, Actor]:
    """The first demo person of each department or window, by lane name."""
    people: dict[str, Actor] = {}
    for username, _name, _password, roles, groups in DEMO_USERS:
        for group in groups:
            people.setdefault(group, Actor(username, frozenset(roles), frozenset(groups)))
    return people
