"""OneThing web app: `create_app()` wires the engine runtime into Flask and registers one
blueprint per kind of user. HTTP lives here; case semantics live in engine/, form
semantics in forms/."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, redirect, url_for
from flask_wtf.csrf import CSRFProtect

from engine.runtime import Runtime, build_runtime

from . import errors, i18n
from .i18n import N_
from .auth import login_manager
from .formsource import form_check
from .runtime import install as install_runtime

csrf = CSRFProtect()


def create_app(config: dict[str, Any] | None = None, *, runtime: Runtime | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("ONETHING_INSTANCE") or None,
                instance_relative_config=True)
    app.config.from_mapping(
        DATABASE_URL=os.environ.get("DATABASE_URL"),
        MAX_CONTENT_LENGTH=25 * 1024 * 1024,  # hard cap on any request body
        UPLOAD_MAX_BYTES=20 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("ONETHING_INSECURE_COOKIES") is None,
        REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=8 * 3600,  # one working day at the counter
        WTF_CSRF_TIME_LIMIT=8 * 3600,
    )
    app.config.from_prefixed_env("ONETHING")
    app.config.update(config or {})
    if app.testing:
        app.config["SESSION_COOKIE_SECURE"] = False
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.setdefault("SECRET_KEY", None)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    app.json.ensure_ascii = False

    if runtime is None:
        runtime = build_runtime(app.config["DATABASE_URL"], instance=Path(app.instance_path),
                                checks=[form_check], upload_limit=app.config["UPLOAD_MAX_BYTES"],
                                catalogue_path=app.config.get("CATALOGUE"))
    install_runtime(app, runtime)

    errors.register(app)
    i18n.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    register_blueprints(app)
    return app


def register_blueprints(app: Flask) -> None:
    from . import admin, audit, auth, cases, counter, loops, portal, studio, tasks
    from .api import bp as api_bp

    csrf.exempt(api_bp)  # bearer tokens, no cookies: CSRF does not apply
    app.register_blueprint(api_bp)
    for module in (auth, tasks, counter, cases, admin, studio, audit, portal, loops):
        app.register_blueprint(module.bp)
    app.add_url_rule("/", "home", lambda: redirect(url_for("tasks.index")))

    app.jinja_env.filters["groupby_section"] = groupby_section
    app.jinja_env.filters["shtime"] = beijing_time

    @app.context_processor
    def navigation():
        def nav_extra():
            return [(endpoint, label, roles) for endpoint, label, roles in NAVIGATION
                    if endpoint in app.view_functions]
        def unread_count():
            from flask_login import current_user

            from .runtime import runtime

            if not current_user.is_authenticated:
                return 0
            return len(runtime().escalations.unread(current_user.id, limit=99))
        return {"nav_extra": nav_extra, "unread_count": unread_count}


def beijing_time(moment, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) or clock (Beijing) time, shown in Beijing time."""
    from engine.worktime.clock import SHANGHAI

    return moment.astimezone(SHANGHAI).strftime(fmt) if moment else ""


def groupby_section(fields):
    """Consecutive fields of the same `section`, in diagram order: [(section, [fields])]."""
    groups: list[tuple[str | None, list]] = []
    for field in fields:
        if not groups or groups[-1][0] != field.section:
            groups.append((field.section, []))
        groups[-1][1].append(field)
    return groups


# Pages beyond the task list, by role; shown only once their endpoint exists.
NAVIGATION = [
    ("counter.index", N_("综合受理"), ("frontdesk",)),
    ("loops.workorders", N_("12345工单"), ("hotline", "frontdesk", "approver", "lead")),
    ("loops.supervision", N_("审管联动"), ("supervisor", "lead")),
    ("loops.reminders", N_("主动提醒"), ("frontdesk", "lead")),
    ("loops.ratings", N_("好差评"), ("lead", "admin")),
    ("studio.index", N_("流程设计"), ("analyst",)),
    ("audit.index", N_("审计"), ("auditor",)),
    ("admin.users", N_("用户与部门"), ("admin",)),
]


def _instance_secret(instance: Path) -> str:
    """A per-installation secret kept in the instance folder, created on first start."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
