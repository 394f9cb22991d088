"""What a re-execution reports when the replay differs from the record: the `Deviated`
exception and its kinds. Both the replayer (engine.audit.reexecution) and the replay of
recorded changes (engine.audit.reexecution_changes) raise it, so it lives apart from both."""
from __future__ import annotations

from typing import Any

NOT_ENABLED = "not_enabled"
TASKS_DIFFER = "tasks_differ"
DATA_DIFFERS = "data_differs"
ENDING_DIFFERS = "ending_differs"
DEFINITION_MISSING = "definition_missing"
ENGINE_FAILED = "engine_failed"


class Deviated(Exception):
    """Raised inside the replay at the first difference from the record."""

    def __init__(self, seq: int, kind: str, message: str, expected: Any = None,
                 actual: Any = None):
        super().__init__(message)
        self.seq, self.kind, self.message = seq, kind, message
        self.expected, self.actual = expected, actual
