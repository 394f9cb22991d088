"""The one marker for labels kept in tables (statuses, event kinds, kinds of department).

`N_` only marks a label for `pybabel extract` (see babel.cfg); the web translates it with
_() where it is shown. The engine and the web share this one marker.
"""
from __future__ import annotations


def N_(text: str) -> str:
    """Mark `text` for extraction; returns it unchanged."""
    return text
