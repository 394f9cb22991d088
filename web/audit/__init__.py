"""Auditor's desk (/audit): case history, step-through replay, re-execution, verification,
analytics. Read-only: auditors (and administrators) see everything, change nothing.

One module per page family; each adds its routes to `bp` when imported below."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audit", __name__)

from . import analytics_views, history, replay_views, verify  # noqa: E402,F401
