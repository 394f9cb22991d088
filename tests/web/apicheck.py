"""Checks every API test applies to every response: JSON, never a 500 or a traceback,
errors in the contract's shape, and the status documented in openapi.json."""
from __future__ import annotations

import re
from typing import Any

from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as NoRoute


def openapi_path(rule: str) -> str:
    """Flask's `/cases/<int:case_id>` as OpenAPI's `/cases/{case_id}`."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule)


def check_response(app, response, document: dict[str, Any]) -> None:
    request = response.request
    where = f"{request.method} {request.path[:120]} → {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.data[:500]!r}"
    assert response.mimetype == "application/json", f"{where}: {response.mimetype}"
    assert b"Traceback" not in response.data and b"File \"" not in response.data, where
    assert b"<html" not in response.data.lower(), where
    body = response.get_json()
    if response.status_code >= 400:
        assert isinstance(body, dict) and {"error", "message", "fields"} <= set(body), where
        assert isinstance(body["error"], str) and body["error"], where
        assert isinstance(body["message"], str) and body["message"], where
        assert isinstance(body["fields"], dict), where
    try:
        rule, _ = app.url_map.bind("localhost").match(request.path, method=request.method,
                                                      return_rule=True)
    except (NoRoute, MethodNotAllowed):
        return
    operation = document["paths"][openapi_path(rule.rule)][request.method.lower()]
    assert str(response.status_code) in operation["responses"], \
        f"{where}: status not documented in openapi.json"
