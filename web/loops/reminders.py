"""主动提醒: licences nearing expiry and renewal."""
from __future__ import annotations

from . import bp  # noqa: F401  (routes register on the package's blueprint)
