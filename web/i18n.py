"""Chinese first (zh_Hans_CN), English available: the choice is kept in the session."""
from __future__ import annotations

from flask import Blueprint, Flask, redirect, request, session, url_for
from flask_babel import Babel

from engine.i18n import N_  # noqa: F401  (web modules import the marker from here)

LANGUAGES = {"zh": "中文", "en": "English"}


bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else "zh"


@bp.get("/lang/<code>")
def choose(code: str):
    if code in LANGUAGES:
        session["lang"] = code
    target = request.referrer or url_for("tasks.index")
    host = request.host_url
    return redirect(target if target.startswith(host) else url_for("tasks.index"))


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_locale="zh",
          default_timezone="Asia/Shanghai")
    app.register_blueprint(bp)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = select_locale
