"""People and systems that act on cases: password sign-in and API bearer tokens.

Tokens are stored only as SHA-256 digests: a database dump does not hand out API access.
"""
from __future__ import annotations

import hashlib
import secrets
from typing import Iterable

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from .errors import Conflict, NotFound
from .store.db import Database
from .store.models import User
from .views import Actor


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def actor_of(user: User) -> Actor:
    return Actor(user.username, frozenset(user.roles or ()), frozenset(user.groups or ()))


class Users:
    def __init__(self, db: Database):
        self.db = db

    def create(self, username: str, password: str, *, display_name: str | None = None,
               roles: Iterable[str] = (), groups: Iterable[str] = ()) -> User:
        with self.db.transaction() as session:
            if session.scalar(select(User).where(User.username == username)) is not None:
                raise Conflict(f"用户 {username} 已存在")
            user = User(username=username, display_name=display_name or username,
                        password_hash=generate_password_hash(password), roles=sorted(roles),
                        groups=sorted(groups), active=True)
            session.add(user)
            session.flush()
            return user

    def get(self, username: str) -> User | None:
        with self.db.reading() as session:
            return session.scalar(select(User).where(User.username == username))

    def in_group(self, group: str) -> list[tuple[str, str]]:
        """(username, display name) of the active people of a department or window."""
        with self.db.reading() as session:
            users = session.scalars(select(User).where(User.active.is_(True))
                                    .order_by(User.username))
            return [(u.username, u.display_name) for u in users if group in (u.groups or [])]

    def issue_token(self, username: str) -> str:
        """A new API token for `username`; the previous one stops working."""
        token = "ot_" + secrets.token_urlsafe(32)
        with self.db.transaction() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFound(f"用户 {username} 不存在")
            user.token_hash = _digest(token)
        return token

    def by_token(self, token: str) -> Actor | None:
        if not token or len(token) > 200:
            return None
        with self.db.reading() as session:
            user = session.scalar(select(User).where(User.token_hash == _digest(token),
                                                     User.active.is_(True)))
            return actor_of(user) if user else None

    def by_password(self, username: str, password: str) -> Actor | None:
        with self.db.reading() as session:
            user = session.scalar(select(User).where(User.username == username,
                                                     User.active.is_(True)))
            if user is None or not check_password_hash(user.password_hash, password):
                return None
            return actor_of(user)
