"""Differences between two values of case data, in words an auditor can follow: the
leaves that changed (for the timeline), and the first path where two differ (for a
re-execution's deviation)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.cases import canonical


@dataclass
class Change:
    """One changed value of the case data: `path` like "applicant.name" or "items[2]";
    `old` is None for a new key, `new` is None for a removed one."""

    path: str
    old: Any
    new: Any

    def as_tuple(self) -> tuple[str, Any, Any]:
        return (self.path, self.old, self.new)


def diff(old: Any, new: Any, path: str = "") -> list[Change]:
    """The leaves that differ between two data values (dicts are walked key by key,
    anything else compared whole)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[Change] = []
        for key in sorted(set(old) | set(new), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in new:
                out.append(Change(where, old[key], None))
            elif key not in old:
                out.append(Change(where, None, new[key]))
            else:
                out.extend(diff(old[key], new[key], where))
        return out
    if _same(old, new):
        return []
    return [Change(path or "(全部)", old, new)]


def _same(a: Any, b: Any) -> bool:
    try:
        return canonical.encode(a) == canonical.encode(b)
    except (TypeError, ValueError):
        return a == b


def first_difference(expected: Any, actual: Any, path: str = "") -> str | None:
    """The first path where two JSON-like values differ ("" for the root), else None."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            where = f"{path}.{key}" if path else str(key)
            if key not in expected or key not in actual:
                return where
            found = first_difference(expected[key], actual[key], where)
            if found is not None:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for index, (a, b) in enumerate(zip(expected, actual)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found is not None:
                return found
        return None if len(expected) == len(actual) else f"{path}[{min(len(expected), len(actual))}]"
    return None if expected == actual else (path or "(全部)")




def value_at(value: Any, path: str) -> Any:
    """The value at a `first_difference` path (None when absent)."""
    if path in ("", "(全部)"):
        return value
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            index = int(part[1:-1])
            value = value[index] if isinstance(value, list) and index < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
    return value
