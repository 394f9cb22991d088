"""The commands of the loops around approval (ratings, work orders, supervision, reminders)."""
from __future__ import annotations


def add_commands(sub) -> None:
    pass
