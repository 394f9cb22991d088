"""好差评: statistics per department, item and month; the rectification ledger."""
from __future__ import annotations

from . import bp  # noqa: F401  (routes register on the package's blueprint)
