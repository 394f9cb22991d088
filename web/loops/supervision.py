"""审管联动: the supervising departments' queue of pushed results and violation notices."""
from __future__ import annotations

from . import bp  # noqa: F401  (routes register on the package's blueprint)
