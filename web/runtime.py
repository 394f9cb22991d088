"""The runtime the app serves: the engine's composition root, put in place by create_app."""
from __future__ import annotations

from flask import Flask, current_app

from engine.runtime import Runtime

_KEY = "onething"


def install(app: Flask, runtime: Runtime) -> None:
    """Make `runtime` the one every request and CLI command of `app` is served by."""
    app.extensions[_KEY] = runtime


def runtime() -> Runtime:
    """The runtime of the app handling this request (or CLI command)."""
    return current_app.extensions[_KEY]
