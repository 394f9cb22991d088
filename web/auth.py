"""Sign-in for people (Flask-Login, hashed passwords, CSRF-protected forms) and the
role checks every page uses. API clients use bearer tokens instead (web/api)."""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.people.signin_limits import SignInLimits, settings_from
from engine.people.users import actor_of
from engine.cases.dto import Actor
from engine.errors import NotAllowed

from .runtime import runtime

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "strong"


class WebUser(UserMixin):
    """The signed-in person as Flask-Login sees it; `actor` is what the engine sees."""

    def __init__(self, username: str, display_name: str, actor: Actor):
        self.id, self.display_name, self.actor = username, display_name, actor

    def has_role(self, *roles: str) -> bool:
        return self.actor.is_admin or bool(set(roles) & self.actor.roles)


@login_manager.user_loader
def load_user(username: str) -> WebUser | None:
    user = runtime().users.get(username)
    if user is None or not user.active:
        return None
    return WebUser(user.username, user.display_name, actor_of(user))


@login_manager.unauthorized_handler
def unauthorized():
    flash(_("请先登录"), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def current_actor() -> Actor:
    return current_user.actor


def roles_required(*roles: str, refusal: str | None = None):
    """Signed in, and holding one of `roles` (admin holds all); otherwise 403 — with
    `refusal` as its message when the service layer refuses the same action so, so that
    the page and the API say the same thing."""
    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not current_user.has_role(*roles):
                if refusal:
                    raise NotAllowed(refusal)
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorate


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str:
    """Only same-site paths: a crafted ?next= must not send people elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("tasks.index")
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else url_for("tasks.index")


def sign_in_limits() -> SignInLimits:
    """Failed sign-ins are counted in the database, so the limit holds across workers;
    SIGNIN_MAX_PER_USER / SIGNIN_MAX_PER_IP / SIGNIN_WINDOW_MINUTES in the app config."""
    rt = runtime()
    return SignInLimits(rt.db, rt.clock, settings_from(current_app.config))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        username, address = form.username.data.strip(), request.remote_addr or "-"
        limits = sign_in_limits()
        # Refused before the password is checked, the same whether or not the user exists.
        wait = limits.wait_minutes(username, address)
        if wait:
            form.password.errors.append(_("登录失败次数过多，请 %(n)s 分钟后再试", n=wait))
            return render_template("auth/login.html", form=form), 429
        actor = runtime().users.by_password(username, form.password.data)
        if actor is not None:
            limits.succeeded(username)
            user = load_user(actor.username)
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        limits.failed(username, address)
        form.password.errors.append(_("用户名或密码错误"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))
