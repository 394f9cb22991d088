"""The write transaction of a case step: lost races surface as `Conflict`.

Every command that changes a case runs in one of these. A concurrent writer that got
there first makes the flush (or the commit) fail — on the optimistic version check, on a
duplicate event sequence or task row, or on SQLite as a busy database — and the caller
sees `Conflict` (HTTP 409); nothing half-done is ever committed. Work that must only
happen once the transaction really committed is registered with `on_commit`.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.worktime.clock import Clock
from engine.errors import Conflict
from engine.worktime.spiffclock import running_on
from engine.store.db import Database


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` after the `ConflictGuard` transaction of `session` commits
    successfully; never when it fails or rolls back."""
    session.info.setdefault("on_commit", []).append(callback)


class ConflictGuard:
    """A write transaction whose lost races surface as `Conflict` (HTTP 409).

    A race shows up as a failed version check (StaleDataError), as a duplicate event
    sequence or task row (IntegrityError), or on SQLite as a busy database — whether it
    is raised inside the step (autoflush) or at commit. Callbacks registered with
    `on_commit` run only after a successful commit.
    """

    def __init__(self, db: Database, clock: Clock | None = None):
        self._db = db
        self._context = None
        # SpiffWorkflow reads the time while a step runs; it must read this clock.
        self._clocked = running_on(clock) if clock is not None else None

    def __enter__(self) -> Session:
        if self._clocked is not None:
            self._clocked.__enter__()
        self._context = self._db.transaction()
        self._session = self._context.__enter__()
        return self._session

    def __exit__(self, exc_type, exc, tb):
        try:
            return self._finish(exc_type, exc, tb)
        finally:
            if self._clocked is not None:
                self._clocked.__exit__(None, None, None)

    def _finish(self, exc_type, exc, tb):
        callbacks = self._session.info.pop("on_commit", [])
        try:
            self._context.__exit__(exc_type, exc, tb)
        except Exception as error:
            if (conflict := as_conflict(error)) is not None:
                raise conflict from error
            raise
        if exc is not None:
            if (conflict := as_conflict(exc)) is not None:
                raise conflict from exc
            return False
        for callback in callbacks:  # only after a successful commit
            callback()
        return False


def as_conflict(error: BaseException) -> Conflict | None:
    """The `Conflict` a lost race amounts to, or None when `error` is no race."""
    if isinstance(error, (StaleDataError, IntegrityError)):
        return Conflict("办件已被他人修改，请刷新后重试")
    if isinstance(error, OperationalError):
        text = str(error).lower()
        if "locked" in text or "could not serialize" in text or "deadlock" in text:
            return Conflict("数据库繁忙，请稍后重试")
    return None
