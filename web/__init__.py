"""OneThing web app: `create_app()` wires the engine runtime into Flask and registers one
blueprint per kind of user. HTTP lives here; case semantics live in engine/, form
semantics in forms/."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from engine.runtime import Runtime, build_runtime

from . import errors
from .formsource import form_check


def create_app(config: dict[str, Any] | None = None, *, runtime: Runtime | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("ONETHING_INSTANCE") or None,
                instance_relative_config=True)
    app.config.from_mapping(
        DATABASE_URL=os.environ.get("DATABASE_URL"),
        MAX_CONTENT_LENGTH=25 * 1024 * 1024,  # hard cap on any request body
        UPLOAD_MAX_BYTES=20 * 1024 * 1024,
        JSON_AS_ASCII=False,
    )
    app.config.from_prefixed_env("ONETHING")
    app.config.update(config or {})
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.setdefault("SECRET_KEY", None)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    app.json.ensure_ascii = False

    if runtime is None:
        runtime = build_runtime(app.config["DATABASE_URL"], instance=Path(app.instance_path),
                                checks=[form_check], upload_limit=app.config["UPLOAD_MAX_BYTES"])
    app.extensions["onething"] = runtime

    errors.register(app)
    from .api import bp as api_bp

    app.register_blueprint(api_bp)
    return app


def _instance_secret(instance: Path) -> str:
    """A per-installation secret kept in the instance folder, created on first start."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
