"""Tables for the loops around approval (issue 7): ratings, supervision, work orders, reminders."""
from __future__ import annotations

from .models import Base  # noqa: F401  (tables of this area subclass Base)
