"""The one place engine errors become HTTP statuses. Never a stack trace to a user."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from engine.errors import (Conflict, InvalidDefinition, NotAllowed, NotFound, OneThingError,
    ValidationFailed)
from engine.cases.uploads import TooLarge, TypeNotAllowed

log = logging.getLogger(__name__)

STATUS = [
    (NotFound, 404), (NotAllowed, 403), (Conflict, 409), (ValidationFailed, 422),
    (InvalidDefinition, 422), (TooLarge, 413), (TypeNotAllowed, 415), (OneThingError, 422),
]

HTTP_MESSAGES = {
    400: "请求格式错误", 401: "需要登录或有效的访问令牌", 403: "无权执行此操作", 404: "资源不存在",
    405: "不支持该请求方法", 409: "冲突", 413: "请求体过大", 415: "不支持的内容类型",
    422: "数据校验未通过", 429: "请求过于频繁", 500: "服务器内部错误，已记录，请稍后重试",
}


def error_body(code: str, message: str, fields: dict | None = None, **extra) -> dict:
    body = {"error": code, "message": _printable(message),
            "fields": {_printable(str(k)): _printable(str(v)) for k, v in (fields or {}).items()}}
    body.update(extra)
    return body


def _printable(text: str) -> str:
    """An error text that can always be sent as UTF-8: a message may quote user input, and
    a lone surrogate in it would make the error response itself fail."""
    return text.encode("utf-8", "replace").decode("utf-8")


def status_of(exc: OneThingError) -> int:
    return next(status for cls, status in STATUS if isinstance(exc, cls))


def wants_json() -> bool:
    """The API (and anything asking for JSON) gets JSON; people get a page."""
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json")


def respond(code: str, message: str, status: int, fields: dict | None = None, **extra):
    if wants_json():
        return jsonify(error_body(code, message, fields, **extra)), status
    return render_template("errors/error.html", status=status, message=message,
                           fields=fields or {}, problems=extra.get("problems", [])), status


def register(app: Flask) -> None:
    @app.errorhandler(OneThingError)
    def engine_error(exc: OneThingError):
        extra = {}
        if isinstance(exc, InvalidDefinition):
            extra["problems"] = [p.to_json() for p in exc.problems]
        return respond(exc.code, exc.message, status_of(exc), getattr(exc, "fields", None),
                       **extra)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if status == 400 and getattr(exc, "description", "") and "CSRF" in str(exc.description):
            return respond("csrf", "页面已过期或来源不明（CSRF 校验失败），请刷新后重试", 400)
        message = HTTP_MESSAGES.get(status, exc.name)
        return respond(exc.name.lower().replace(" ", "_"), message, status)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return respond("internal_error", HTTP_MESSAGES[500], 500)
