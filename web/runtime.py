"""The runtime the app serves: the engine's composition root, put in place by create_app."""
from __future__ import annotations

from flask import current_app

from engine.runtime import Runtime


def runtime() -> Runtime:
    """The runtime of the app handling this request (or CLI command)."""
    return current_app.extensions["onething"]
