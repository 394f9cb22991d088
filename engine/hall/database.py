"""Whether an error means the database cannot be used at all: unreachable, or its tables
missing because it was never upgraded. Callers above the store (the command line) say
so in one sentence without knowing SQLAlchemy."""
from __future__ import annotations

from sqlalchemy.exc import OperationalError, ProgrammingError


def database_trouble(exc: BaseException) -> str | None:
    """The first line of the database's complaint when `exc` says the database cannot be
    used; None for any other error."""
    if not isinstance(exc, (OperationalError, ProgrammingError)):
        return None
    orig = getattr(exc, "orig", None)
    return str(orig).splitlines()[0] if orig else exc.__class__.__name__
