"""Tables for the auditor's desk (issue 9): signed checkpoints."""
from __future__ import annotations

from .models import Base  # noqa: F401  (tables of this area subclass Base)
