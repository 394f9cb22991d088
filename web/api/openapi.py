"""The OpenAPI 3.1 document of /api/v1. A test checks that it lists exactly the routes
the blueprint serves, with the statuses they really return."""
from __future__ import annotations

from typing import Any

from engine.cases.clocks import SPECIAL_PROCEDURES


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    text = {401: "未认证", 403: "无权操作", 404: "不存在", 409: "冲突：已被他人处理或数据已过期",
            413: "文件过大", 415: "类型不允许", 422: "校验未通过：fields 给出每个字段的原因"}
    return {str(c): {"description": text[c], **_json(_ref("Error"))} for c in codes}


def _op(summary: str, ok: dict, *, status: int = 200, errors=(), body: dict | None = None,
        params=(), tag: str = "cases") -> dict:
    op: dict[str, Any] = {"summary": summary, "tags": [tag],
                          "responses": {str(status): {"description": "OK", **_json(ok)},
                                        **_errors(401, *errors)}}
    if body is not None:
        op["requestBody"] = {"required": True, **body}
    if params:
        op["parameters"] = list(params)
    return op


def _path_param(name: str, kind: str = "string") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def _query(name: str, kind: str = "string", description: str = "", **limits: Any) -> dict:
    """A query parameter with the limits the server enforces (e.g. minimum, maxLength)."""
    return {"name": name, "in": "query", "required": False,
            "schema": {"type": kind, **limits}, "description": description}


# What the server takes as free text: no control characters (web/api `text_arg`).
_TEXT = {"pattern": "^[^\\x00-\\x1f\\x7f]*$"}
_NON_BLANK = {"minLength": 1, "pattern": "\\S"}


SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error", "message", "fields"], "properties": {
        "error": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        "problems": {"type": "array", "items": {"type": "object"}}}},
    "Process": {"type": "object", "properties": {
        "key": {"type": "string"}, "name": {"type": "string"}, "version": {"type": "integer"},
        "hash": {"type": "string"}, "deployed_at": {"type": "string", "format": "date-time"},
        "calls": {"type": "array", "items": {"type": "string"}},
        "startable": {"type": "boolean",
                      "description": "调用方能否发起此流程的办件（仅一件事和可直接申请的事项）"}}},
    "Field": {"type": "object", "required": ["id", "label", "type"], "properties": {
        "id": {"type": "string"}, "label": {"type": "string"},
        "type": {"enum": ["string", "textarea", "long", "decimal", "boolean", "date", "enum",
                          "file"]},
        "required": {"type": "boolean"}, "readonly": {"type": "boolean"}, "default": {},
        "options": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "label": {"type": "string"}}}},
        "min": {}, "max": {}, "minlength": {}, "maxlength": {}, "pattern": {},
        "dict": {}, "sources": {"type": "array", "items": {"type": "string"}}}},
    "Form": {"type": "object", "properties": {"fields": {"type": "array",
                                                         "items": _ref("Field")}}},
    "Task": {"type": "object", "properties": {
        "id": {"type": "string"}, "case_id": {"type": "integer"},
        "case_number": {"type": "string"}, "process_key": {"type": "string"},
        "task_spec": {"type": "string"}, "name": {"type": "string"},
        "lane": {"type": ["string", "null"]}, "state": {"enum": ["open", "completed",
                                                                  "cancelled"]},
        "assignee": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "due_at": {"type": ["string", "null"], "format": "date-time"},
        "clock": {"type": ["object", "null"], "description": "期限状态：正常/预警/逾期",
                  "properties": {"state": {"enum": ["normal", "warning", "overdue"]},
                                 "status": {"enum": ["正常", "预警", "逾期"]},
                                 "remaining_workdays": {"type": "integer"}}}}},
    "TaskDetail": {"allOf": [_ref("Task"), {"type": "object", "properties": {
        "form": _ref("Form"), "values": {"type": "object"},
        "case": {"type": "object"}}}]},
    "Case": {"type": "object", "properties": {
        "id": {"type": "integer"}, "number": {"type": "string", "description": "办件编号"},
        "process": {"type": "string"}, "definition_version": {"type": "integer"},
        "state": {"enum": ["running", "completed", "cancelled", "incident"]},
        "title": {"type": ["string", "null"]}, "version": {"type": "integer"},
        "tasks": {"type": "array", "items": _ref("Task")},
        "incidents": {"type": "array", "items": {"type": "object"}},
        "clock": {"type": ["object", "null"], "description": (
            "办理时限：收件后（stage=receipt）为一次性告知期限，受理后（accepted）为承诺时限；"
            "items 为各事项的时限"), "properties": {
            "stage": {"enum": ["receipt", "accepted"]},
            "deadline": {"type": "string", "format": "date-time"},
            "state": {"enum": ["normal", "warning", "overdue"]},
            "status": {"enum": ["正常", "预警", "逾期"]},
            "remaining_workdays": {"type": "integer"}, "limit": {"type": "string"},
            "paused": {"type": "boolean"}, "calendar_warning": {"type": ["string", "null"]},
            "items": {"type": "array", "items": {"type": "object"}}}},
        "materials": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "label": {"type": "string"},
            "necessity": {"type": ["string", "null"]}, "source": {"type": ["string", "null"]},
            "provided": {"type": "boolean"}, "shared": {"type": "boolean"},
            "upload": {"type": ["object", "null"]}}}}}},
    "Application": {
        "type": "object", "required": ["process"], "properties": {
            "process": {"type": "string", "minLength": 1, "maxLength": 200,
                        "description": "流程 key（一件事或事项）"},
            "action": {"enum": ["accept", "notify"], "default": "accept", "description": (
                "accept 受理：必要材料须齐全；仅缺容缺后补材料时为容缺受理（须申请人签署"
                "承诺书）。notify 一次性告知：一次告知需补齐的全部材料")},
            "data": {"type": "object", "description": (
                "申请表各字段（GET /processes/{key}/form）；材料字段填 POST /uploads 返回的 id"
                "（部门核发材料由数据共享自动调取）；代办人 agent_name、agent_id_number、"
                "agent_mobile、power_of_attorney；以及受理决定字段"),
                "properties": {
                    "acceptance_note": {"type": "string", "maxLength": 500,
                                        "description": "受理意见"},
                    "missing_materials": {"type": "string", "maxLength": 2000, "description": (
                        "一次性告知的内容；不填则列出申请人尚需提交的全部材料")},
                    "deficiency_commitment": {"enum": ["signed", True], "description": (
                        "容缺受理：申请人已签署容缺受理承诺书")},
                    "deficiency_signer": {"type": "string", "maxLength": 50,
                                          "description": "签署承诺书的申请人（或代办人）姓名"}}}}},
    "Filed": {"allOf": [_ref("Case"), {"type": "object", "properties": {
        "action": {"enum": ["accept", "notify"]},
        "notice": {"enum": ["receipt", "notice", "deficiency_notice"], "description": (
            "应打印的文书：受理通知书 / 一次性告知书 / 容缺受理通知书")},
        "deficiency": {"type": "array", "description": "容缺后补材料及各自的补齐期限",
                       "items": {"type": "object", "properties": {
                           "field": {"type": "string"}, "name": {"type": "string"},
                           "item": {"type": "string"},
                           "deadline": {"type": "string", "format": "date-time"}}}}}}]},
    "Event": {"type": "object", "properties": {
        "seq": {"type": "integer"}, "kind": {"type": "string"},
        "actor": {"type": ["string", "null"]}, "at": {"type": "string", "format": "date-time"},
        "task_id": {"type": ["string", "null"]}, "task_spec": {"type": ["string", "null"]},
        "definition_hash": {"type": "string"}, "payload": {"type": "object"},
        "prev_hash": {"type": ["string", "null"]}, "hash": {"type": "string"}}},
    "Deficiency": {"type": "object", "properties": {
        "case": {"type": "integer"}, "number": {"type": "string"},
        "state": {"type": "string"}, "outstanding": {"type": "integer"},
        "deadline": {"type": ["string", "null"], "format": "date-time"},
        "tasks": {"type": "array", "items": {"type": "string"}},
        "materials": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "name": {"type": "string"}, "item": {"type": "string"},
            "deadline": {"type": "string", "format": "date-time"},
            "supplied": {"type": "boolean"},
            "supplied_at": {"type": ["string", "null"], "format": "date-time"},
            "supplied_by": {"type": ["string", "null"]}, "upload": {"type": ["string", "null"]},
            "source": {"type": ["string", "null"]}}}}}},
    "TaskClock": {"type": "object", "properties": {
        "task": _ref("Task"), "clock": {"type": ["object", "null"],
                                        "description": "办件的办理时限（同 GET /cases/{case_id}）"}}},
    "Upload": {"type": "object", "properties": {
        "id": {"type": "string"}, "sha256": {"type": "string"}, "size": {"type": "integer"},
        "name": {"type": "string"}, "content_type": {"type": "string"}}},
}

_DATA_BODY = _json({"type": "object", "properties": {"data": {"type": "object"}}})


def openapi_document() -> dict[str, Any]:
    case_id, task_id = _path_param("case_id", "integer"), _path_param("task_id")
    paths = {
        "/api/v1/openapi.json": {"get": {
            "summary": "本接口文档（OpenAPI 3.1，无需令牌）", "tags": ["meta"], "security": [],
            "responses": {"200": {"description": "OK", **_json({"type": "object"})}}}},
        "/api/v1/processes": {"get": _op(
            "已部署的流程（各自最新版本）",
            {"type": "object", "properties": {"processes": {"type": "array",
                                                            "items": _ref("Process")}}},
            tag="processes")},
        "/api/v1/processes/{key}/form": {"get": _op(
            "申请表（一件事为合并后的一表申请）",
            {"type": "object", "properties": {"form": _ref("Form")}}, errors=(404,),
            params=[_path_param("key")], tag="processes")},
        "/api/v1/cases": {"post": _op(
            "综合受理：受理（含容缺受理）或一次性告知，规则与窗口页面相同", _ref("Filed"),
            status=201, errors=(403, 404, 413, 422), body=_json(_ref("Application")))},
        "/api/v1/cases/{case_id}": {"get": _op("办件状态与待办任务", _ref("Case"),
                                               errors=(404,), params=[case_id])},
        "/api/v1/cases/{case_id}/events": {"get": _op(
            "办件的审计事件（含哈希链）",
            {"type": "object", "properties": {"events": {"type": "array",
                                                         "items": _ref("Event")}}},
            errors=(404,), params=[case_id])},
        "/api/v1/cases/{case_id}/cancel": {"post": _op(
            "撤销办件（办件所涉部门的负责人或管理员）", _ref("Case"), errors=(403, 404, 409, 413, 422),
            params=[case_id], body=_json({"type": "object", "required": ["reason"],
                                          "properties": {"reason": {
                                              "type": "string", "maxLength": 500,
                                              **_NON_BLANK}}}))},
        "/api/v1/cases/{case_id}/materials": {
            "get": _op("容缺后补材料：补齐期限与补交情况", _ref("Deficiency"),
                       errors=(404,), params=[case_id], tag="materials"),
            "post": _op(
                "网上补交容缺后补材料（先 POST /uploads）", _ref("Deficiency"),
                errors=(403, 404, 409, 413, 422), params=[case_id], tag="materials",
                body=_json({"type": "object", "required": ["field", "upload"], "properties": {
                    "field": {"type": "string", "maxLength": 100, **_NON_BLANK,
                              "description": "容缺材料的表单字段标识"},
                    "upload": {"type": "string", "maxLength": 36, **_NON_BLANK,
                               "description": "POST /uploads 返回的 id"}}}))},
        "/api/v1/tasks": {"get": _op(
            "调用者可见的人工任务",
            {"type": "object", "properties": {"tasks": {"type": "array", "items": _ref("Task")}}},
            errors=(403, 422), tag="tasks",
            params=[_query("mine", "string", "1 = 只看我认领的"),
                    _query("group", "string", "部门（泳道）名称", maxLength=200, **_TEXT),
                    {**_query("state", "string", "任务状态"),
                     "schema": {"enum": ["open", "completed", "cancelled", "all"]}},
                    _query("limit", "integer", "每页条数", minimum=0, maximum=999_999_999),
                    _query("offset", "integer", "跳过条数", minimum=0, maximum=999_999_999)])},
        "/api/v1/tasks/{task_id}": {"get": _op("任务、表单定义与办件摘要", _ref("TaskDetail"),
                                               errors=(403, 404), params=[task_id], tag="tasks")},
        "/api/v1/tasks/{task_id}/claim": {"post": _op(
            "认领", _ref("Task"), errors=(403, 404, 409), params=[task_id], tag="tasks")},
        "/api/v1/tasks/{task_id}/unclaim": {"post": _op(
            "退回认领", _ref("Task"), errors=(403, 404, 409), params=[task_id], tag="tasks")},
        "/api/v1/tasks/{task_id}/complete": {"post": _op(
            "校验并办结任务", _ref("Case"), errors=(403, 404, 409, 413, 422), params=[task_id],
            body=_DATA_BODY, tag="tasks")},
        "/api/v1/tasks/{task_id}/assign": {"post": _op(
            "改派（本部门负责人）", _ref("Task"), errors=(403, 404, 409, 413, 422),
            params=[task_id], tag="tasks", body=_json({
                "type": "object", "required": ["assignee"], "properties": {
                    "assignee": {"type": "string", "maxLength": 100, **_NON_BLANK,
                                 "description": "本部门工作人员的用户名"}}}))},
        "/api/v1/tasks/{task_id}/extend": {"post": _op(
            "延期（本部门负责人，写明理由）", _ref("TaskClock"),
            errors=(403, 404, 409, 413, 422), params=[task_id], tag="tasks", body=_json({
                "type": "object", "required": ["amount", "reason"], "properties": {
                    "amount": {"type": "integer", "minimum": 1, "maximum": 60,
                               "description": "延长的工作日数"},
                    "reason": {"type": "string", "maxLength": 500, **_NON_BLANK}}}))},
        "/api/v1/tasks/{task_id}/procedure": {"post": _op(
            "特别程序开始（暂停计时）或结束（procedure 为 null）", _ref("TaskClock"),
            errors=(403, 404, 409, 413, 422), params=[task_id], tag="tasks", body=_json({
                "type": "object", "properties": {"procedure": {
                    "enum": [*SPECIAL_PROCEDURES, None],
                    "description": "特别程序名称；null 结束特别程序"}}}))},
        "/api/v1/uploads": {"post": _op(
            "上传材料", _ref("Upload"), status=201, errors=(413, 415, 422), tag="materials",
            body={"content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}}}}}})},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "OneThing API", "version": "1.0.0",
                 "description": "一窗受理·一次办好：办件、任务、材料的 HTTP 接口。"},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": SCHEMAS},
        "paths": paths,
    }
