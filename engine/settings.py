"""The hall's settings, read from the environment once, at start-up, into one frozen object.

`engine.runtime.build_runtime` reads them (or is handed them) and passes each value to the
service that needs it; no other engine module reads the environment. A value out of its
range is refused here, with the variable's name, so a typo stops the start instead of
quietly changing a legal time limit.

Variables (default in brackets):
  ONETHING_INSTANCE               the instance folder: SQLite file, uploads, keys [./instance]
  DATABASE_URL                    the database [SQLite in the instance folder]
  ONETHING_CATALOGUE              the item catalogue file, 事项目录 [processes/catalogue.json]
  ONETHING_REGION                 行政区划代码 in case numbers [371500]
  ONETHING_WARN_DAYS              working days before a deadline that warn, 预警 [2]
  ONETHING_DEFICIENCY_DAYS        working days to supply 容缺 materials [5]
  ONETHING_SUPERVISION_SIGN_DAYS  working days to sign a 审管联动 push [2]
  ONETHING_RENEWAL_REMIND_DAYS    days before a licence expires to remind [60]
  ONETHING_RATING_INVITE_DAYS     natural days after 办结 to invite a rating [3]
  ONETHING_RECTIFY_DAYS           working days to rectify a 差评 [15]
  ONETHING_PORTAL_WINDOW_MINUTES  the portal's look-up limit window [15]
  ONETHING_PORTAL_PER_CLIENT      look-ups per client in the window [20]
  ONETHING_PORTAL_PER_CASE        look-ups per case number in the window [5]
  ONETHING_WORKORDER_LIMITS       the 12345 categories' time-limit file [processes/loops/…]
  ONETHING_AUDIT_KEY              the checkpoint signing key [<instance>/audit-signing-key.pem]
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

AUDIT_KEY_ENV = "ONETHING_AUDIT_KEY"


@dataclass(frozen=True)
class Settings:
    """Everything the environment may change; the defaults are the hall's usual rules."""

    instance: Path = Path("instance")
    database_url: str | None = None
    catalogue_path: Path | None = None
    region_code: str = "371500"
    warn_days: int = 2
    deficiency_days: int = 5
    supervision_sign_days: int = 2
    renewal_remind_days: int = 60
    rating_invite_days: int = 3
    rectify_days: int = 15
    portal_window_minutes: int = 15
    portal_per_client: int = 20
    portal_per_case: int = 5
    workorder_limits: Path | None = None
    audit_key: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """The settings of `environ` (default: this process's environment)."""
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = (env.get(name) or "").strip()
            return value or None

        def path(name: str) -> Path | None:
            value = text(name)
            return Path(value) if value else None

        def number(name: str, default: int, low: int, high: int) -> int:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ValueError(f"{name} 须为整数，而不是 {raw!r}") from None
            if not low <= value <= high:
                raise ValueError(f"{name} 须在 {low} 到 {high} 之间")
            return value

        return cls(
            instance=path("ONETHING_INSTANCE") or Path.cwd() / "instance",
            database_url=text("DATABASE_URL"),
            catalogue_path=path("ONETHING_CATALOGUE"),
            region_code=text("ONETHING_REGION") or cls.region_code,
            warn_days=number("ONETHING_WARN_DAYS", cls.warn_days, 0, 60),
            deficiency_days=number("ONETHING_DEFICIENCY_DAYS", cls.deficiency_days, 1, 365),
            supervision_sign_days=number("ONETHING_SUPERVISION_SIGN_DAYS",
                                         cls.supervision_sign_days, 1, 60),
            renewal_remind_days=number("ONETHING_RENEWAL_REMIND_DAYS",
                                       cls.renewal_remind_days, 1, 365),
            rating_invite_days=number("ONETHING_RATING_INVITE_DAYS",
                                      cls.rating_invite_days, 0, 365),
            rectify_days=number("ONETHING_RECTIFY_DAYS", cls.rectify_days, 1, 365),
            portal_window_minutes=number("ONETHING_PORTAL_WINDOW_MINUTES",
                                         cls.portal_window_minutes, 1, 24 * 60),
            portal_per_client=number("ONETHING_PORTAL_PER_CLIENT", cls.portal_per_client,
                                     1, 100_000),
            portal_per_case=number("ONETHING_PORTAL_PER_CASE", cls.portal_per_case, 1, 100_000),
            workorder_limits=path("ONETHING_WORKORDER_LIMITS"),
            audit_key=path(AUDIT_KEY_ENV),
        )

    def database_url_in(self, instance: Path) -> str:
        """DATABASE_URL, else a SQLite file in `instance` (created when missing)."""
        if self.database_url:
            return self.database_url
        instance.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{instance / 'onething.sqlite3'}"
