"""Slowing down password guessing: failed sign-ins are counted in the database (every
gunicorn worker shares it), per username tried and per client address, over a sliding
window. Past the limit, sign-in is refused before the password is even checked — with
the same answer whether or not the username exists, so the limit reveals nothing.

A successful sign-in clears its username's count (not the address's: one office behind
one address must not reset a guesser's count by signing in itself). API tokens are not
passwords and are not counted here.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select

from engine.worktime.clock import Clock
from engine.store.db import Database
from engine.store.models_security import SignInFailure

USER, ADDRESS = "user", "ip"


@dataclass(frozen=True)
class SignInLimitSettings:
    per_user: int = 5
    per_address: int = 20
    window_minutes: int = 15


def _key(scope: str, value: str) -> str:
    """Usernames are compared case-insensitively and stored hashed: the table must not
    become a list of who tried which name."""
    value = (value or "").strip().lower() if scope == USER else (value or "-").strip()
    return hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()


class SignInLimits:
    def __init__(self, db: Database, clock: Clock, settings: SignInLimitSettings | None = None):
        self.db, self.clock = db, clock
        self.settings = settings or SignInLimitSettings()

    def _limits(self, username: str, address: str) -> list[tuple[str, str, int]]:
        s = self.settings
        return [(USER, _key(USER, username), s.per_user),
                (ADDRESS, _key(ADDRESS, address), s.per_address)]

    def wait_minutes(self, username: str, address: str) -> int:
        """0 when a sign-in may be tried now; otherwise the whole minutes until it may."""
        now = self.clock.now()
        window = timedelta(minutes=self.settings.window_minutes)
        longest = timedelta(0)
        with self.db.reading() as session:
            for scope, key, limit in self._limits(username, address):
                times = list(session.scalars(select(SignInFailure.at).where(
                    SignInFailure.scope == scope, SignInFailure.key == key,
                    SignInFailure.at > now - window).order_by(SignInFailure.at)))
                if limit > 0 and len(times) >= limit:
                    # Free again once enough of the oldest failures have left the window.
                    longest = max(longest, times[len(times) - limit] + window - now)
        return max(1, math.ceil(longest.total_seconds() / 60)) if longest > timedelta(0) else 0

    def failed(self, username: str, address: str) -> None:
        """Count one failed sign-in (and forget failures older than the window)."""
        now = self.clock.now()
        cutoff = now - timedelta(minutes=self.settings.window_minutes)
        with self.db.transaction() as session:
            for scope, key, _limit in self._limits(username, address):
                session.execute(delete(SignInFailure).where(
                    SignInFailure.scope == scope, SignInFailure.key == key,
                    SignInFailure.at <= cutoff))
                session.add(SignInFailure(scope=scope, key=key, at=now))

    def succeeded(self, username: str) -> None:
        """A correct password: the username starts afresh."""
        with self.db.transaction() as session:
            session.execute(delete(SignInFailure).where(
                SignInFailure.scope == USER, SignInFailure.key == _key(USER, username)))

    def failures(self, username: str) -> int:
        """Failures of `username` within the window (for the admin and for tests)."""
        since = self.clock.now() - timedelta(minutes=self.settings.window_minutes)
        with self.db.reading() as session:
            return session.scalar(select(func.count()).select_from(SignInFailure).where(
                SignInFailure.scope == USER, SignInFailure.key == _key(USER, username),
                SignInFailure.at > since)) or 0


def settings_from(config) -> SignInLimitSettings:
    """Settings from a mapping (the Flask app config): SIGNIN_MAX_PER_USER,
    SIGNIN_MAX_PER_IP, SIGNIN_WINDOW_MINUTES; bad values fall back to the defaults."""
    defaults = SignInLimitSettings()

    def number(name: str, default: int) -> int:
        try:
            value = int(config.get(name, default))
        except (TypeError, ValueError):
            return default
        return value if value >= 0 else default

    window = number("SIGNIN_WINDOW_MINUTES", defaults.window_minutes) or defaults.window_minutes
    return SignInLimitSettings(number("SIGNIN_MAX_PER_USER", defaults.per_user),
                               number("SIGNIN_MAX_PER_IP", defaults.per_address), window)

