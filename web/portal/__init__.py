"""Applicant portal (/portal, no account): look up a case, follow it, supplement materials, rate."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__)
