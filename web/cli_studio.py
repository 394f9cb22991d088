"""`onething studio ...`: the analyst's commands (diff, migrate, catalogue)."""
from __future__ import annotations


def add_commands(sub) -> None:
    pass
