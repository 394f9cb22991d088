"""Persistence: SQLAlchemy models, the database handle and the Alembic migrations."""
from engine.store.db import Database
from engine.store import models

__all__ = ["Database", "models"]
