"""The engine's own exceptions.

web/ maps each of these to one HTTP status in one place (see web/errors.py); nothing
else in the engine should leak to a user. Messages are Chinese first, because they are
shown to clerks and analysts as they are.
"""
from __future__ import annotations

from dataclasses import dataclass, field


class OneThingError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(OneThingError):
    code = "not_found"


class NotAllowed(OneThingError):
    """The actor may not do this (wrong department, not the assignee, wrong role)."""

    code = "forbidden"


class Conflict(OneThingError):
    """Someone else changed the case first, or the task is no longer open."""

    code = "conflict"


class ValidationFailed(OneThingError):
    """Input was refused; `fields` maps a field id to its message."""

    code = "validation_failed"

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.fields = dict(fields or {})


@dataclass(frozen=True)
class Problem:
    """One element-level problem found while validating a BPMN definition."""

    element_id: str | None
    element_name: str | None
    message: str
    file: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def to_json(self) -> dict:
        return {"element": self.element_id, "name": self.element_name,
                "message": self.message, "file": self.file}

    def __str__(self) -> str:
        where = self.element_id or "-"
        if self.element_name:
            where += f" ({self.element_name})"
        prefix = f"{self.file}: " if self.file else ""
        return f"{prefix}{where}: {self.message}"


class InvalidDefinition(OneThingError):
    """A BPMN file cannot be deployed; `problems` says where and why."""

    code = "invalid_definition"

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


class UnsafeXML(InvalidDefinition):
    """XML that tries entity tricks (XXE, billion laughs) or is too large."""

    code = "unsafe_xml"


class ExpressionError(OneThingError):
    """An expression or script was refused or failed inside the sandbox."""

    code = "expression_error"

    def __init__(self, message: str, lineno: int | None = None):
        super().__init__(message)
        self.lineno = lineno


class ExpressionRejected(ExpressionError):
    """Refused statically (syntax, forbidden construct): caught at deploy time."""


class ExpressionFailed(ExpressionError):
    """Failed while running (budget exceeded, bad types, unknown name)."""
