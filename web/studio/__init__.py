"""Analyst studio (/studio): processes and versions, the modeler, validate, preview, deploy, diff, migrate."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("studio", __name__)

from . import views, changes, catalogue_views  # noqa: E402,F401  (each module adds its routes to bp)
