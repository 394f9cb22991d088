"""12345 work orders: intake at the hotline, dispatch, the order list."""
from __future__ import annotations

from . import bp  # noqa: F401  (routes register on the package's blueprint)
