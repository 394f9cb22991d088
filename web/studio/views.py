"""Studio pages: processes and versions, the modeler, drafts, validate, form preview, deploy, upload and download."""
from __future__ import annotations

from . import bp  # noqa: F401  (routes register on the package's blueprint)
