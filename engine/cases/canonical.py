"""Canonical JSON: one byte-exact text per value, so hashes are stable and inputs can be
replayed with their original types.

Values that JSON has no type for are tagged: {"$decimal": "12.50"}, {"$date": "2026-11-20"},
{"$datetime": "2026-11-20T09:00:00+08:00"}. NaN and infinities are refused.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

_TAGS = ("$decimal", "$date", "$datetime", "$timedelta")


def encode(value: Any) -> Any:
    """Turn a task-data value into plain JSON types, tagging the typed ones."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("NaN and infinity have no canonical form")
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("NaN and infinity have no canonical form")
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$timedelta": value.total_seconds()}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [encode(v) for v in items]
    raise TypeError(f"value of type {type(value).__name__} cannot be recorded")


def decode(value: Any) -> Any:
    """Inverse of `encode`."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            (tag, raw), = value.items()
            if tag == "$decimal":
                return Decimal(raw)
            if tag == "$date":
                return date.fromisoformat(raw)
            if tag == "$datetime":
                return datetime.fromisoformat(raw)
            if tag == "$timedelta":
                return timedelta(seconds=raw)
        return {k: decode(v) for k, v in value.items()}
    return value


def dumps(value: Any) -> str:
    """The canonical text: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(encode(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def loads(text: str) -> Any:
    return decode(json.loads(text))
