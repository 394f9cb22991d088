"""Persistence: SQLAlchemy models, the database handle and the Alembic migrations."""
from .db import Database
from . import models

__all__ = ["Database", "models"]
