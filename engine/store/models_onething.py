"""Tables for one-things (issue 6): 容缺受理, 告知承诺, credit flags."""
from __future__ import annotations

from .models import Base  # noqa: F401  (tables of this area subclass Base)
