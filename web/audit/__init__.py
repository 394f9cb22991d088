"""Auditor's desk (/audit): case history, step-through replay, re-execution, verification, analytics."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audit", __name__)
