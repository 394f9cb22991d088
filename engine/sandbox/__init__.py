"""Restricted evaluator for the conditions and scripts inside uploaded BPMN diagrams.

Diagrams come from analysts, so their code is untrusted. None of it is ever given to
eval/exec/compile: the source is parsed with `ast.parse`, checked against a whitelist of
node types (the checked tree is cached per source), then interpreted node by node under a
step budget, a wall-clock budget and size limits. Only vetted functions can be called, and
only whitelisted attributes and methods of plain data types can be reached.

Modules, each with one concern:
  limits       fixed limits, size estimates, plain-data checks
  functions    DEFAULT_FUNCTIONS and the per-type method and attribute whitelist
  checker      parsing and the static whitelist check (cached per source)
  run          one call's budgets, names and error translation
  expressions  the expression evaluator (conditions)
  statements   the statement interpreter (scripts)
  core         the Sandbox class
  spiff        SpiffWorkflow script engine and environment
"""
from engine.sandbox.checker import parse as _parse  # noqa: F401  (its cache is inspected by tests)
from engine.sandbox.core import Sandbox
from engine.sandbox.functions import DEFAULT_FUNCTIONS
from engine.sandbox.limits import MAX_DEPTH, MAX_NESTING, MAX_NODES, MAX_SOURCE, PLAIN_TYPES
from engine.sandbox.spiff import SandboxEnvironment, SandboxScriptEngine, script_engine

__all__ = [
    "DEFAULT_FUNCTIONS", "MAX_DEPTH", "MAX_NESTING", "MAX_NODES", "MAX_SOURCE", "PLAIN_TYPES",
    "Sandbox", "SandboxEnvironment", "SandboxScriptEngine", "script_engine",
]
