"""Studio pages for the item catalogue (事项目录): edit, validate and version it."""
from __future__ import annotations

from . import bp  # noqa: F401  (routes register on the package's blueprint)
