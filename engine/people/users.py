"""People and systems that act on cases: password sign-in and API bearer tokens.

Tokens are stored only as SHA-256 digests: a database dump does not hand out API access.
"""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine.i18n import N_
from engine.people.departments import require_active
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.store.db import Database
from engine.store.models import User
from engine.cases.dto import Actor

log = logging.getLogger("onething.admin")

# The one list of roles, with the labels people see (marked N_ for pybabel: web/ translates).
ROLES: dict[str, str] = {
    "frontdesk": N_("综合受理窗口"),
    "approver": N_("部门审批"),
    "lead": N_("部门负责人"),
    "issuance": N_("出件窗口"),
    "analyst": N_("流程分析员"),
    "auditor": N_("审计员"),
    "admin": N_("管理员"),
    "api": N_("外部系统接口"),
    "hotline": N_("12345热线"),  # takes calls, dispatches work orders (leads approve extensions)
    "supervisor": N_("监管人员"),  # signs for pushed results, sends violation notices
}
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,99}$")
PASSWORD_MIN = 8
# No look-alikes (0/O, 1/l/I): a reset password is read out or copied by hand.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str
    roles: tuple[str, ...]
    groups: tuple[str, ...]
    active: bool
    has_token: bool

    @property
    def role_labels(self) -> list[str]:
        return [ROLES.get(role, role) for role in self.roles]


def _user_view(user: User) -> UserView:
    return UserView(user.username, user.display_name, tuple(user.roles or ()),
                    tuple(user.groups or ()), bool(user.active), user.token_hash is not None)


def random_password(length: int = 14) -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def clean_roles(roles: Iterable[str]) -> list[str]:
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        msg = f"未知角色：{'、'.join(unknown)}"
        raise ValidationFailed(msg, {"roles": msg})
    return roles


def clean_groups(groups: Iterable[str]) -> list[str]:
    return sorted({g.strip() for g in groups if isinstance(g, str) and g.strip()})


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        msg = f"密码至少 {PASSWORD_MIN} 个字符"
        raise ValidationFailed(msg, {"password": msg})
    if len(password) > 200:
        raise ValidationFailed("密码不能超过 200 个字符", {"password": "密码不能超过 200 个字符"})
    return password


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def actor_of(user: User) -> Actor:
    return Actor(user.username, frozenset(user.roles or ()), frozenset(user.groups or ()))


class Users:
    def __init__(self, db: Database):
        self.db = db

    def create(self, username: str, password: str, *, display_name: str | None = None,
               roles: Iterable[str] = (), groups: Iterable[str] = ()) -> User:
        """The trusted path (demo seed, tests): writes what it is given. People and the
        admin pages use `add`, which checks roles, departments and the password."""
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

    def issue_token(self, username: str, *, actor: str | None = None) -> str:
        """A new API token for `username`; the previous one stops working."""
        token = "ot_" + secrets.token_urlsafe(32)
        with self.db.transaction() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFound(f"用户 {username} 不存在")
            user.token_hash = _digest(token)
        if actor is not None:
            log.info("api token issued by %s for %s", actor, username)
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

    # -- user management (admin pages and `onething users ...`) --------------------------------
    # Each change is logged on "onething.admin" with who made it.

    def list(self) -> list[UserView]:
        """Everyone, active first, by username."""
        with self.db.reading() as session:
            users = session.scalars(select(User).order_by(User.active.desc(), User.username))
            return [_user_view(u) for u in users]

    def view(self, username: str) -> UserView:
        user = self.get(username) if isinstance(username, str) and len(username) <= 100 else None
        if user is None:
            raise NotFound(f"用户 {username} 不存在")
        return _user_view(user)

    def add(self, username: str, password: str | None = None, *, display_name: str | None = None,
            roles: Iterable[str] = (), groups: Iterable[str] = (),
            actor: str = "system") -> tuple[UserView, str]:
        """Create a person with checked roles and departments; returns the user and the
        password (a random one when none was given, to be shown once)."""
        username = (username or "").strip()
        if not USERNAME.match(username):
            msg = "用户名须为 2–100 位字母、数字、点、下划线或连字符，以字母或数字开头"
            raise ValidationFailed(msg, {"username": msg})
        password = check_password(password) if password else random_password()
        display_name = (display_name or "").strip() or username
        if len(display_name) > 100:
            raise ValidationFailed("姓名不能超过 100 个字符", {"display_name": "姓名不能超过 100 个字符"})
        roles, groups = clean_roles(roles), clean_groups(groups)
        try:
            with self.db.transaction() as session:
                require_active(session, groups)
                if session.scalar(select(User).where(User.username == username)) is not None:
                    raise Conflict(f"用户 {username} 已存在")
                user = User(username=username, display_name=display_name,
                            password_hash=generate_password_hash(password), roles=roles,
                            groups=groups, active=True)
                session.add(user)
                session.flush()
                view = _user_view(user)
        except IntegrityError:  # a concurrent add of the same username
            raise Conflict(f"用户 {username} 已存在") from None
        log.info("user added by %s: %s roles=%s groups=%s", actor, username, roles, groups)
        return view, password

    def update(self, username: str, *, roles: Iterable[str] | None = None,
               groups: Iterable[str] | None = None, display_name: str | None = None,
               actor: str = "system") -> UserView:
        """Replace roles and/or departments. A department newly given must be an active one;
        one the person already has may stay after it was deactivated."""
        with self.db.transaction() as session:
            user = self._row(session, username)
            before = (list(user.roles or ()), list(user.groups or ()), user.display_name)
            if roles is not None:
                roles = clean_roles(roles)
                if "admin" in (user.roles or ()) and "admin" not in roles:
                    if username == actor:
                        raise Conflict("不能取消自己的管理员角色")
                    self._keep_an_admin(session, username)
                user.roles = roles
            if groups is not None:
                groups = clean_groups(groups)
                require_active(session, [g for g in groups if g not in (user.groups or ())])
                user.groups = groups
            if display_name is not None:
                display_name = display_name.strip()
                if not display_name or len(display_name) > 100:
                    msg = "姓名不能为空且不能超过 100 个字符"
                    raise ValidationFailed(msg, {"display_name": msg})
                user.display_name = display_name
            view = _user_view(user)
        log.info("user updated by %s: %s roles %s -> %s, groups %s -> %s, name %r -> %r",
                 actor, username, before[0], list(view.roles), before[1], list(view.groups),
                 before[2], view.display_name)
        return view

    def deactivate(self, username: str, *, actor: str = "system") -> UserView:
        """The person can no longer sign in, and their API token stops working for good."""
        if username == actor:
            raise Conflict("不能停用自己的账号")
        with self.db.transaction() as session:
            user = self._row(session, username)
            if "admin" in (user.roles or ()) and user.active:
                self._keep_an_admin(session, username)
            user.active = False
            user.token_hash = None
            view = _user_view(user)
        log.info("user deactivated by %s: %s", actor, username)
        return view

    def activate(self, username: str, *, actor: str = "system") -> UserView:
        with self.db.transaction() as session:
            user = self._row(session, username)
            user.active = True
            view = _user_view(user)
        log.info("user reactivated by %s: %s", actor, username)
        return view

    def reset_password(self, username: str, password: str | None = None, *,
                       actor: str = "system") -> str:
        """Set a new password (a random one when none is given) and return it."""
        password = check_password(password) if password else random_password()
        with self.db.transaction() as session:
            user = self._row(session, username)
            user.password_hash = generate_password_hash(password)
        log.info("password reset by %s for %s", actor, username)
        return password

    @staticmethod
    def _row(session: Session, username: str) -> User:
        user = None
        if isinstance(username, str) and len(username) <= 100:
            user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"用户 {username} 不存在")
        return user

    @staticmethod
    def _keep_an_admin(session: Session, leaving: str) -> None:
        others = [u for u in session.scalars(select(User).where(User.active.is_(True),
                                                               User.username != leaving))
                  if "admin" in (u.roles or ())]
        if not others:
            raise Conflict("至少须保留一名启用的管理员")
