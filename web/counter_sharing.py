"""The data-sharing platform the counter talks to (config DATA_SHARING / env
ONETHING_DATA_SHARING). What is asked of it — 零材料, 核验, the dishonesty list that closes
容缺受理 — is `engine.acceptance.sharing`."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from engine.acceptance.connectors import DataSharing, SharingUnavailable, data_sharing

from .runtime import runtime


def sharing() -> DataSharing:
    """The platform of this app, built once (with the hall's own credit flags)."""
    if "data_sharing" not in current_app.extensions:
        try:
            current_app.extensions["data_sharing"] = data_sharing(
                current_app.config.get("DATA_SHARING"),
                local_flags=runtime().credit)
        except (ImportError, AttributeError, TypeError, ValueError) as exc:
            raise SharingUnavailable(_("数据共享配置有误：%(why)s", why=str(exc))) from None
    return current_app.extensions["data_sharing"]


class LazySharing:
    """The platform, built on first use: a misconfigured one then shows as a note on the
    material or check that needed it (SharingUnavailable), not as a failed page."""

    def __getattr__(self, name: str):
        return getattr(sharing(), name)
