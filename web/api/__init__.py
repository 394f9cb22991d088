"""HTTP API for other systems: JSON under /api/v1, bearer tokens per user.

Views are thin: parse the request, call forms/ to validate and engine/ to act, shape the
JSON. Errors are mapped in web/errors.py; every response body is JSON.
"""
from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, g, jsonify, request

from engine.acceptance.rules import ACCEPT, DECISION_FIELDS, NOTIFY, SIGNED, Decision
from engine.cases import policy
from engine.cases.dto import event_json
from engine.errors import NotFound, ValidationFailed
from engine.hall import tasks as hall_tasks
from engine.hall.counter import Counter, Filing
from engine.worktime.deadlines import STATE_LABELS
from forms.validate import values_to_json

from .. import formsource
from ..errors import error_body
from .openapi import openapi_document
from ..runtime import runtime

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = {"api.openapi"}


@bp.before_request
def authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    actor = runtime().users.by_token(token.strip()) if scheme.lower() == "bearer" else None
    if actor is None:
        response = jsonify(error_body("unauthorized", "需要有效的访问令牌（Authorization: Bearer …）"))
        response.headers["WWW-Authenticate"] = 'Bearer realm="onething"'
        return response, 401
    g.actor = actor
    return None


def language() -> str:
    return request.accept_languages.best_match(["zh", "en"], default="zh") or "zh"


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or ValidationFailed (422) — never a 500: bodies
    nested too deep for the parser and strings with lone surrogates (which cannot be stored
    or echoed back as UTF-8) are refused here. Oversized bodies raise 413 in get_data."""
    if not request.is_json:
        raise ValidationFailed("请求体必须是 JSON 对象（Content-Type: application/json）")
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        raise ValidationFailed("请求体不是有效的 JSON") from None
    if not isinstance(body, dict):
        raise ValidationFailed("请求体必须是 JSON 对象")
    if not _encodable(body):
        raise ValidationFailed("请求体含有无效的 Unicode 字符（孤立的代理项）")
    return body


def _encodable(value: Any) -> bool:
    """No string (key or value) anywhere in `value` is unencodable as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE_RE.search(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# BPMN process ids are XML NCNames; a key outside this shape cannot be deployed.
_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,199}")
# Task ids are SpiffWorkflow task UUIDs.
_TASK_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
TASK_STATES = ("open", "completed", "cancelled", "all")


def checked_key(key: str) -> str:
    if not _KEY_RE.fullmatch(key):
        raise NotFound("流程未部署")
    return key


def checked_task_id(task_id: str) -> str:
    if not _TASK_ID_RE.fullmatch(task_id):
        raise NotFound("任务不存在")
    return task_id


def checked_case_id(case_id: int) -> int:
    if not 0 < case_id <= _MAX_ID:
        raise NotFound(f"办件 {case_id} 不存在")
    return case_id


def text_arg(name: str, *, max_length: int = 200) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > max_length or _CONTROL_RE.search(raw):
        raise ValidationFailed(f"参数 {name} 无效", {name: f"{max_length} 字以内，不含控制字符"})
    return raw


def data_of(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise ValidationFailed("data 必须是 JSON 对象", {"data": "必须是 JSON 对象"})
    return data


def int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw):  # not str.isdigit: "²" is a digit to it
        raise ValidationFailed(f"参数 {name} 必须是非负整数", {name: "必须是非负整数"})
    return int(raw)


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/processes")
def list_processes():
    """Deployed definitions; `startable` says whether the caller may start a case of it
    (entry processes only, engine.cases.policy)."""
    rt = runtime()
    with rt.db.reading() as session:
        rows = rt.definitions.all_latest(session)
        return jsonify({"processes": [
            {"key": r.key, "name": r.name, "version": r.version, "hash": r.content_hash,
             "deployed_at": r.deployed_at.isoformat(), "calls": r.called_keys,
             "startable": policy.may_start(g.actor, r.key, rt.catalogue)} for r in rows]})


def latest_definition(key: str):
    checked_key(key)
    rt = runtime()
    with rt.db.reading() as session:
        row = rt.definitions.latest(session, key)
    if row is None:
        raise NotFound(f"流程 {key} 未部署")
    return row


@bp.get("/processes/<key>/form")
def process_form(key: str):
    definition = latest_definition(key)
    form = formsource.start_form(runtime(), definition)
    return jsonify({"process": key, "version": definition.version, "form": form.to_json()})


@bp.post("/cases")
def start_case():
    """Hand in an application at the front desk, with the same rules as the counter page:
    `action` accept (受理; 容缺受理 when only 容缺后补 materials are missing, with
    `deficiency_commitment` "signed" and `deficiency_signer` in `data`) or notify
    (一次性告知, `missing_materials` optional). Materials are upload ids in their fields."""
    body = json_object()
    key = body.get("process")
    if not isinstance(key, str) or not key:
        raise ValidationFailed("缺少 process", {"process": "必须给出流程 key"})
    checked_key(key)
    action = body.get("action", ACCEPT)
    if action not in (ACCEPT, NOTIFY):
        raise ValidationFailed("action 须为 accept 或 notify", {"action": "须为 accept 或 notify"})
    data = data_of(body)
    filed = counter_service().file(
        Filing(key, action, data, _decision_of(data), language()), g.actor)
    return jsonify(filed.to_json()), 201, {"Location": f"/api/v1/cases/{filed.case_id}"}


def counter_service() -> Counter:
    from ..counter_sharing import LazySharing

    return Counter(runtime(), LazySharing())


def _decision_of(data: dict[str, Any]) -> Decision:
    """The front-desk decision fields of an application (the counter page's own inputs)."""
    problems, given = {}, {}
    for name in DECISION_FIELDS:
        value = data.get(name, "")
        if name == "deficiency_commitment" and isinstance(value, bool):
            given[name] = SIGNED if value else ""
        elif value is None or isinstance(value, str):
            given[name] = value or ""
        else:
            problems[name] = "须为文本" if name != "deficiency_commitment" \
                else "须为 \"signed\" 或 true"
    if problems:
        raise ValidationFailed("受理决定字段格式不正确", problems)
    return Decision(**{k: v.strip() if k == "deficiency_signer" else v
                       for k, v in given.items()})


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int):
    checked_case_id(case_id)
    rt = runtime()
    case = rt.cases.get_case(case_id, g.actor)
    body = case.to_json()
    body["clock"] = rt.clocks.summary_of(case.id)
    body["materials"] = formsource.case_materials(rt, case, g.actor)
    return jsonify(body)


@bp.get("/cases/<int:case_id>/events")
def case_events(case_id: int):
    checked_case_id(case_id)
    events = runtime().cases.events(case_id, g.actor)
    return jsonify({"case": case_id, "events": [event_json(e) for e in events]})


@bp.post("/cases/<int:case_id>/cancel")
def cancel_case(case_id: int):
    checked_case_id(case_id)
    body = json_object()
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise ValidationFailed("撤销须填写原因（500 字以内）", {"reason": "必填，500 字以内"})
    return jsonify(runtime().cases.cancel(case_id, g.actor, reason.strip()).to_json())


@bp.get("/cases/<int:case_id>/materials")
def deficiency_status(case_id: int):
    """容缺受理: the case's deferred materials, supplied or outstanding, with deadlines."""
    checked_case_id(case_id)
    case, items = runtime().deficiencies.status(case_id, g.actor)
    return jsonify(_deficiency_json(case, items))


@bp.post("/cases/<int:case_id>/materials")
def supply_material(case_id: int):
    """Supply a 容缺后补 material online: {"field": file field id, "upload": upload id}."""
    checked_case_id(case_id)
    body = json_object()
    field, upload = body.get("field"), body.get("upload")
    problems = {}
    if not isinstance(field, str) or not field.strip() or len(field) > 100:
        problems["field"] = "必须给出容缺材料的字段标识"
    if not isinstance(upload, str) or not upload.strip() or len(upload) > 36:
        problems["upload"] = "必须给出 POST /uploads 返回的上传编号"
    if problems:
        raise ValidationFailed("补交材料须给出 field 和 upload", problems)
    rt = runtime()
    rt.deficiencies.supply(case_id, field.strip(), upload.strip(), g.actor, source="网上提交")
    case, items = rt.deficiencies.status(case_id, g.actor)
    return jsonify(_deficiency_json(case, items))


def _deficiency_json(case, items) -> dict[str, Any]:
    outstanding = [d for d in items if not d.supplied]
    deadline = max((d.deadline for d in outstanding), default=None)
    return {"case": case.id, "number": case.number, "state": case.status,
            "outstanding": len(outstanding),
            "deadline": deadline.isoformat() if deadline else None,
            "materials": [d.to_json() for d in items],
            "tasks": [t.task_spec for t in case.tasks]}


@bp.get("/tasks")
def list_tasks():
    mine = request.args.get("mine", "") in ("1", "true", "yes")
    state = text_arg("state") or "open"
    if state not in TASK_STATES:
        raise ValidationFailed(f"未知的任务状态：{state[:50]}",
                               {"state": "须为 " + " / ".join(TASK_STATES)})
    tasks = runtime().tasks.visible(g.actor, mine=mine, group=text_arg("group"), state=state,
                                    limit=int_arg("limit", 50), offset=int_arg("offset", 0))
    return jsonify({"tasks": [task_json(t) for t in tasks]})


@bp.get("/tasks/<task_id>")
def get_task(task_id: str):
    checked_task_id(task_id)
    detail = hall_tasks.detail(runtime(), task_id, g.actor)
    case = detail.case
    return jsonify({**task_json(detail.task), "form": detail.form.to_json(),
                    "values": values_to_json(detail.values),
                    "case": {"id": case.id, "number": case.number, "title": case.title,
                             "state": case.status, "process": case.process_key}})


@bp.post("/tasks/<task_id>/claim")
def claim_task(task_id: str):
    checked_task_id(task_id)
    return jsonify(hall_tasks.claim(runtime(), task_id, g.actor).to_json())


@bp.post("/tasks/<task_id>/unclaim")
def unclaim_task(task_id: str):
    checked_task_id(task_id)
    return jsonify(hall_tasks.hand_back(runtime(), task_id, g.actor).to_json())


@bp.post("/tasks/<task_id>/complete")
def complete_task(task_id: str):
    checked_task_id(task_id)
    data = data_of(json_object())
    done = hall_tasks.complete(runtime(), task_id, data, g.actor, lang=language())
    return jsonify(done.case.to_json())


@bp.post("/tasks/<task_id>/assign")
def assign_task(task_id: str):
    """改派: a department lead hands an open task to a colleague of the task's department."""
    checked_task_id(task_id)
    assignee = json_object().get("assignee")
    if not isinstance(assignee, str) or not assignee.strip() or len(assignee) > 100:
        raise ValidationFailed("请选择改派对象", {"assignee": "必填，100 字以内的用户名"})
    return jsonify(hall_tasks.assign(runtime(), task_id, assignee.strip(), g.actor).to_json())


@bp.post("/tasks/<task_id>/extend")
def extend_task(task_id: str):
    """延期: a department lead extends the item's limit by 1–60 working days, with a reason."""
    checked_task_id(task_id)
    body = json_object()
    amount, reason = body.get("amount"), body.get("reason")
    if not isinstance(reason, str) or len(reason) > 500:
        raise ValidationFailed("延期须写明理由（500 字以内）", {"reason": "必填，500 字以内"})
    hall_tasks.extend(runtime(), task_id, amount, reason, g.actor)
    return jsonify(_task_clock(task_id))


@bp.post("/tasks/<task_id>/procedure")
def special_procedure(task_id: str):
    """特别程序: `procedure` (听证、检验检测 …) stops the item's clock; null ends it."""
    checked_task_id(task_id)
    procedure = json_object().get("procedure")
    if procedure is not None and not isinstance(procedure, str):
        raise ValidationFailed("未知的特别程序", {"procedure": "须为特别程序名称或 null"})
    hall_tasks.special_procedure(runtime(), task_id, procedure or None, g.actor)
    return jsonify(_task_clock(task_id))


def _task_clock(task_id: str) -> dict[str, Any]:
    """The task and its case's clock, after a change to the clock."""
    rt = runtime()
    task = rt.tasks.get(task_id, g.actor)
    return {"task": task_json(task),
            "clock": rt.clocks.summary_of(task.case_id)}


@bp.post("/uploads")
def upload():
    file = request.files.get("file")
    if file is None:
        raise ValidationFailed("缺少文件", {"file": "请以 multipart 字段 file 上传"})
    stored = runtime().uploads.save(file.stream, file.filename or "file", g.actor.username)
    return jsonify(stored.to_json()), 201


def task_json(task) -> dict[str, Any]:
    """A task as the API shows it, with its deadline's state (正常/预警/逾期)."""
    out = task.to_json()
    clock = runtime().clocks.state_of(task.due_at)
    out["clock"] = None if clock is None else {
        "state": clock[0], "status": STATE_LABELS[clock[0]], "remaining_workdays": clock[1]}
    return out
