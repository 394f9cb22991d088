"""forms/ stays in its room: lxml and the standard library only, never engine/ or web/."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

FORMS = Path(__file__).resolve().parents[2] / "forms"
ALLOWED_THIRD_PARTY = {"lxml"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_forms_imports_only_stdlib_lxml_and_itself():
    modules = sorted(FORMS.glob("*.py"))
    assert modules
    for path in modules:
        outside = imported_roots(path) - set(sys.stdlib_module_names) - ALLOWED_THIRD_PARTY
        assert outside <= {"forms"}, f"{path.name} imports {outside - {'forms'}}"
