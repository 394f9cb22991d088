"""SpiffWorkflow integration: a script engine that runs every condition and script in a Sandbox.

Promised: SpiffWorkflow never evaluates diagram code itself; validation uses the sandbox's
static check; sandbox errors reach SpiffWorkflow as WorkflowTaskException carrying the
Chinese message and, when it falls inside the source, the line number and its text;
service tasks are refused.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import ExpressionError, ExpressionFailed

from engine.sandbox.core import Sandbox


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow environment that runs every condition and script through a Sandbox;
    `external_context` (e.g. data objects) is readable but never written into task data."""

    def __init__(self, sandbox: Sandbox):
        super().__init__({})
        self.sandbox = sandbox

    def evaluate(self, expression: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        return self.sandbox.evaluate(expression, context, extras=external_context)

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        self.sandbox.execute(script, context, extras=external_context)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise ExpressionFailed("不支持服务任务")


class SandboxScriptEngine(PythonScriptEngine):
    """PythonScriptEngine whose conditions and scripts run in a Sandbox; sandbox errors
    become WorkflowTaskException carrying the Chinese message and the line number."""

    def __init__(self, sandbox: Sandbox | None = None):
        self.sandbox = sandbox or Sandbox()
        super().__init__(environment=SandboxEnvironment(self.sandbox))

    def validate(self, expression: str) -> None:
        self.sandbox.check(expression, "eval")

    def evaluate(self, task: Any, expression: str, external_context: Mapping | None = None) -> Any:
        with _reported(task, expression):
            return self.environment.evaluate(expression, task.data, external_context)

    def execute(self, task: Any, script: str, external_context: Mapping | None = None) -> bool:
        with _reported(task, script):
            return self.environment.execute(script, task.data, external_context or {})

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        with _reported(task, ""):
            return self.environment.call_service(task.data, **kwargs)


@contextlib.contextmanager
def _reported(task: Any, source: str) -> Iterator[None]:
    """Turn an ExpressionError raised inside the block into SpiffWorkflow's task error."""
    try:
        yield
    except ExpressionError as err:
        lines = source.splitlines() if isinstance(source, str) else []
        line = err.lineno if err.lineno and err.lineno <= len(lines) else None
        raise WorkflowTaskException(err.message, task=task, exception=err, line_number=line,
                                    error_line=lines[line - 1] if line else None) from err


def script_engine(sandbox: Sandbox | None = None) -> PythonScriptEngine:
    """A SpiffWorkflow script engine that validates and runs everything in `sandbox`
    (a default Sandbox when omitted)."""
    return SandboxScriptEngine(sandbox)
