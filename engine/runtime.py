"""The composition root: one place that wires the database, clock, sandbox, definitions
and case service together from configuration. web/ and the CLI both start here."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from . import catalogue
from .cases import CaseService
from .clock import Clock, SystemClock
from .clocks import CalendarSource, Clocks
from .deadlines import Limit, due_at
from .definitions import Check, Definitions
from .notifications import Escalations
from .sandbox import Sandbox
from .store.db import Database
from .tasklist import TaskList
from .timers import TimerWorker
from .uploads import UploadStore
from .users import Users
from .workcalendar import WorkingCalendar


def default_instance_path() -> Path:
    return Path(os.environ.get("ONETHING_INSTANCE", Path.cwd() / "instance"))


def default_database_url(instance: Path | None = None) -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    instance = instance or default_instance_path()
    instance.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{instance / 'onething.sqlite3'}"


def load_catalogue(path: str | Path | None = None) -> catalogue.Catalogue | None:
    """The item catalogue (事项目录): `path`, else $ONETHING_CATALOGUE, else the one shipped
    in processes/; None when there is none (clocks then have no limits to start)."""
    path = path or os.environ.get("ONETHING_CATALOGUE")
    if path is None and not catalogue.DEFAULT_PATH.exists():
        return None
    return catalogue.load(path)


def clock_bound_sandbox(clock: Clock, calendars: CalendarSource | None = None) -> Sandbox:
    """The one sandbox used both to check definitions at deploy and to run them, so a
    function that deploy accepts is one that cases can call. `workdays_after(n)` is the
    end of the n-th working day from now (for timer events: timeDate expressions)."""
    def workdays_after(count: int) -> str:
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 3650:
            raise ValueError("工作日数须为 0 到 3650 之间的整数")
        calendar = calendars.get() if calendars else WorkingCalendar.from_package()
        return due_at(calendar, clock.now(), Limit(count)).isoformat()

    return Sandbox().with_functions(now=lambda: clock.now(), today=lambda: clock.now().date(),
                                    workdays_after=workdays_after)


@dataclass
class Runtime:
    db: Database
    clock: Clock
    sandbox: Sandbox
    definitions: Definitions
    cases: CaseService
    users: Users
    tasks: TaskList
    uploads: UploadStore
    instance: Path = field(default_factory=default_instance_path)
    clocks: Clocks | None = None
    timers: TimerWorker | None = None
    escalations: Escalations | None = None
    catalogue: catalogue.Catalogue | None = None


def build_runtime(database_url: str | None = None, *, clock: Clock | None = None,
                  instance: Path | None = None, checks: Sequence[Check] = (),
                  region_code: str | None = None, upload_limit: int | None = None,
                  catalogue_path: str | Path | None = None) -> Runtime:
    instance = Path(instance or default_instance_path())
    db = Database(database_url or default_database_url(instance))
    clock = clock or SystemClock()
    calendars = CalendarSource(db)
    sandbox = clock_bound_sandbox(clock, calendars)
    definitions = Definitions(sandbox, checks)
    items = load_catalogue(catalogue_path)
    clocks = Clocks(clock, items, calendars,
                    warn_days=int(os.environ.get("ONETHING_WARN_DAYS", "2")))
    cases = CaseService(db, definitions, clock, sandbox, clocks=clocks,
                        region_code=region_code or os.environ.get("ONETHING_REGION", "371500"))
    uploads = UploadStore(db, clock, instance / "uploads",
                          max_bytes=upload_limit or UploadStore.DEFAULT_MAX_BYTES)
    escalations = Escalations(db, clock, clocks)
    return Runtime(db, clock, sandbox, definitions, cases, Users(db), TaskList(db), uploads,
                   instance, clocks, TimerWorker(db, cases, clock, escalations=escalations),
                   escalations, items)
