"""Identifiers that come from outside (URLs, API bodies) are checked before they reach a
query: a NUL byte or an out-of-range integer must be a clean NotFound, never a database
error."""
from __future__ import annotations

import re

from engine.errors import NotFound

_TASK_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,199}")
MAX_ID = 2**31 - 1


def task_id(value: object) -> str:
    if not isinstance(value, str) or not _TASK_ID.fullmatch(value):
        raise NotFound("任务不存在")
    return value


def case_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise NotFound("办件不存在")
    return value


def process_key(value: object) -> str:
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        raise NotFound("流程不存在")
    return value
