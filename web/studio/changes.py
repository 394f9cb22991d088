"""Studio pages for what changes between versions: the version diff and the migration of running cases."""
from __future__ import annotations

from . import bp  # noqa: F401  (routes register on the package's blueprint)
