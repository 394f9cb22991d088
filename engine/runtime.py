"""The composition root: one place that wires the database, clock, sandbox, definitions
and case service together from configuration. web/ and the CLI both start here."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Sequence

from engine.definitions import catalogue
from engine.cases.service import CaseService
from engine.worktime.clock import SHANGHAI, Clock, SystemClock
from engine.cases.clocks import CalendarSource, Clocks
from engine.worktime.deadlines import Limit, due_at
from engine.definitions.service import Check, Definitions
from engine.acceptance.deficiency import Deficiencies
from engine.studio.drafts import Drafts
from engine.worker.escalations import Escalations
from engine.sandbox import Sandbox
from engine.store.db import Database
from engine.cases.tasklist import TaskList
from engine.worker.timers import TimerWorker
from engine.cases.materials_access import link_step_materials
from engine.cases.uploads import UploadStore
from engine.people.users import Users
from engine.worktime.workcalendar import WorkingCalendar


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


def catalogue_store(db: Database, clock: Clock, path: str | Path | None = None):
    """The catalogue's stored versions (the studio edits them); the runtime uses the newest,
    else the file (`load_catalogue`), and notices a new version without a restart."""
    from engine.definitions.catalogue_store import CatalogueStore

    def document():
        chosen = path or os.environ.get("ONETHING_CATALOGUE") or catalogue.DEFAULT_PATH
        return json.loads(Path(chosen).read_text(encoding="utf-8"))

    store = CatalogueStore(db, clock, fallback=lambda: load_catalogue(path),
                           fallback_document=document)
    store.fallback()  # a broken file still fails at start-up, as before
    return store


def clock_bound_sandbox(clock: Clock, calendars: CalendarSource | None = None) -> Sandbox:
    """The one sandbox used both to check definitions at deploy and to run them, so a
    function that deploy accepts is one that cases can call. `workdays_after(n)` is the
    end of the n-th working day from now (for timer events: timeDate expressions)."""
    def workdays_after(count: int) -> str:
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 3650:
            raise ValueError("工作日数须为 0 到 3650 之间的整数")
        calendar = calendars.get() if calendars else WorkingCalendar.from_package()
        return due_at(calendar, clock.now(), Limit(count)).isoformat()

    def hours_after(count: int) -> str:
        """Now plus `count` natural hours (12345 dispatch and sign-for limits)."""
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 24 * 366:
            raise ValueError("小时数须为 0 到 8784 之间的整数")
        return (clock.now() + timedelta(hours=count)).isoformat()

    def workdays_later(moment: str, count: int) -> str:
        """The end of the `count`-th working day after the ISO time `moment` (an approved
        extension moves a deadline, not today)."""
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 3650:
            raise ValueError("工作日数须为 0 到 3650 之间的整数")
        start = datetime.fromisoformat(str(moment)[:40])
        start = start if start.tzinfo else start.replace(tzinfo=SHANGHAI)
        calendar = calendars.get() if calendars else WorkingCalendar.from_package()
        return due_at(calendar, start, Limit(count)).isoformat()

    return Sandbox().with_functions(now=lambda: clock.now(), today=lambda: clock.now().date(),
                                    workdays_after=workdays_after, hours_after=hours_after,
                                    workdays_later=workdays_later)


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
    drafts: Drafts | None = None
    deficiencies: Deficiencies | None = None
    ratings: "Ratings | None" = None  # 好差评 (engine/ratings.py)
    portal: "Portal | None" = None  # applicant portal read model (engine/portal.py)
    catalogues: "CatalogueStore | None" = None  # studio-edited catalogue versions
    credit: "CreditFlags | None" = None  # the hall's own credit flags (engine/credit.py)
    loops: "Loops | None" = None  # 审管联动, 12345 work orders, renewal reminders (engine/jobs.py)


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
    catalogues = catalogue_store(db, clock, catalogue_path)
    items = catalogues.live()
    clocks = Clocks(clock, items, calendars,
                    warn_days=int(os.environ.get("ONETHING_WARN_DAYS", "2")))
    cases = CaseService(db, definitions, clock, sandbox, clocks=clocks,
                        region_code=region_code or os.environ.get("ONETHING_REGION", "371500"))
    uploads = UploadStore(db, clock, instance / "uploads",
                          max_bytes=upload_limit or UploadStore.DEFAULT_MAX_BYTES)
    cases.add_step_hook(link_step_materials)  # materials belong to their cases
    escalations = Escalations(db, clock, clocks)
    runtime = Runtime(db, clock, sandbox, definitions, cases, Users(db), TaskList(db), uploads,
                      instance, clocks, TimerWorker(db, cases, clock, escalations=escalations),
                      escalations, items, drafts=Drafts(db, definitions, clock),
                      deficiencies=Deficiencies(
                          cases, items, calendars, clock, uploads,
                          supply_days=int(os.environ.get("ONETHING_DEFICIENCY_DAYS", "5"))),
                      catalogues=catalogues)
    add_ratings_and_portal(runtime)
    add_credit_and_post_verification(runtime)
    add_loops(runtime)
    return runtime


def add_ratings_and_portal(runtime: Runtime) -> None:
    """好差评 (its 差评 cases write back through a step hook; invitations are a worker job)
    and the applicant portal."""
    from engine.loops.portal import Portal
    from engine.loops.rating_review import on_step
    from engine.loops.ratings import Ratings

    runtime.ratings = Ratings(runtime.db, runtime.clock, runtime.cases, runtime.catalogue)
    runtime.cases.add_step_hook(on_step)
    if runtime.timers is not None:
        runtime.timers.jobs.append(runtime.ratings.run_job)
    runtime.portal = Portal(runtime.db, runtime.clock, runtime.clocks, runtime.catalogue,
                            runtime.uploads)


def add_credit_and_post_verification(runtime: Runtime) -> None:
    """Credit flags, and the 告知承诺 hook: a failed site check revokes, records, flags."""
    from engine.acceptance.postverification import install

    install(runtime)


def add_loops(runtime: Runtime) -> None:
    """审管联动, 12345 work orders and renewal reminders: step hooks and worker jobs."""
    from engine.worker.loops import build_loops

    runtime.loops = build_loops(runtime.db, runtime.cases, runtime.clock, runtime.catalogue,
                                runtime.timers)
