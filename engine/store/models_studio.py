"""Tables for the analyst studio (issue 8): drafts, catalogue versions, case migrations."""
from __future__ import annotations

from .models import Base  # noqa: F401  (tables of this area subclass Base)
