"""Turning a submitted HTML form into the values forms/ validates.

HTML has its own habits: an unticked checkbox is simply absent, a file arrives as a
multipart part, and the page adds its own keys (csrf_token, action). This module only
translates; forms/ decides what is valid.
"""
from __future__ import annotations

from typing import Any

from flask import Request

from engine.runtime import Runtime
from forms.model import Form

PAGE_KEYS = {"csrf_token", "action", "next"}
KEEP_SUFFIX = "__keep"  # hidden input carrying an already uploaded material's id


def submitted_values(request: Request, form: Form, runtime: Runtime,
                     actor: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in request.form:
        if key in PAGE_KEYS or key.endswith(KEEP_SUFFIX):
            continue
        values[key] = request.form.get(key)
    for field in form.fields:
        if field.readonly:
            values.pop(field.id, None)
        elif field.type == "boolean":
            values[field.id] = "true" if request.form.get(field.id) in ("true", "on", "1") else "false"
        elif field.type == "file":
            upload = request.files.get(field.id)
            if upload is not None and upload.filename:
                values[field.id] = runtime.uploads.save(upload.stream, upload.filename, actor).id
            elif request.form.get(field.id + KEEP_SUFFIX):
                values[field.id] = request.form.get(field.id + KEEP_SUFFIX)
            else:
                values.pop(field.id, None)
    return values
