"""The loops around approval: 好差评 statistics and ledger, 12345 work orders, supervision, reminders."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("loops", __name__)

from . import ratings, workorders, supervision, reminders  # noqa: E402,F401  (each module adds its routes to bp)
