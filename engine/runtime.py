"""The composition root: one place that wires the database, clock, sandbox, definitions,
case service and the services around them together from the settings (engine.settings).
web/, the CLI, the demo and the bench all start here; nothing else reads the environment."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, cast

from engine.acceptance.credit import CreditFlags
from engine.acceptance.deficiency import Deficiencies
from engine.acceptance.postverification import PostVerification
from engine.audit.checkpoints import default_key_path
from engine.cases.clocks import CalendarSource, Clocks
from engine.cases.materials_access import link_step_materials
from engine.cases.service import CaseService
from engine.cases.tasklist import TaskList
from engine.cases.uploads import UploadStore
from engine.definitions import catalogue
from engine.definitions.catalogue_store import CatalogueStore, LiveCatalogue
from engine.definitions.service import Check, Definitions
from engine.loops.portal import Portal, PortalSettings
from engine.loops.rating_review import on_step as rating_review_on_step
from engine.loops.ratings import Ratings, RatingSettings
from engine.people.users import Users
from engine.sandbox import Sandbox
from engine.sandbox.clockbound import clock_bound_sandbox
from engine.settings import Settings
from engine.store.db import Database
from engine.studio.drafts import Drafts
from engine.worker.escalations import Escalations
from engine.worker.loop_jobs import Loops, build_loops
from engine.worker.timers import TimerWorker
from engine.worktime.clock import Clock, SystemClock


def load_catalogue(path: str | Path | None = None) -> catalogue.Catalogue | None:
    """The item catalogue (事项目录): `path`, else the one shipped in processes/; None when
    there is none (clocks then have no limits to start)."""
    if path is None and not catalogue.DEFAULT_PATH.exists():
        return None
    return catalogue.load(path)


def catalogue_store(db: Database, clock: Clock, path: str | Path | None = None) -> CatalogueStore:
    """The catalogue's stored versions (the studio edits them); the runtime uses the newest,
    else the file (`load_catalogue`), and notices a new version without a restart."""
    def document() -> Any:
        chosen = path or catalogue.DEFAULT_PATH
        return json.loads(Path(chosen).read_text(encoding="utf-8"))

    store = CatalogueStore(db, clock, fallback=lambda: load_catalogue(path),
                           fallback_document=document)
    store.fallback()  # a broken file still fails at start-up, as before
    return store


@dataclass
class Runtime:
    """Every service of the hall, built once by `build_runtime`; none is optional."""

    settings: Settings
    db: Database
    clock: Clock
    sandbox: Sandbox
    definitions: Definitions
    cases: CaseService
    users: Users
    tasks: TaskList
    uploads: UploadStore
    instance: Path
    clocks: Clocks
    timers: TimerWorker
    escalations: Escalations
    catalogue: LiveCatalogue  # the newest stored catalogue version, else the file
    catalogues: CatalogueStore  # the studio-edited catalogue versions
    drafts: Drafts
    deficiencies: Deficiencies  # 容缺受理
    credit: CreditFlags  # the hall's own credit flags (告知承诺 site checks)
    ratings: Ratings  # 好差评
    portal: Portal  # the applicant portal's read model
    loops: Loops  # 审管联动, 12345 work orders, renewal reminders
    audit_key: Path  # the checkpoint signing key (outside the database)


def build_runtime(database_url: str | None = None, *, clock: Clock | None = None,
                  instance: Path | None = None, checks: Sequence[Check] = (),
                  region_code: str | None = None, upload_limit: int | None = None,
                  catalogue_path: str | Path | None = None,
                  settings: Settings | None = None) -> Runtime:
    """The runtime of `settings` (default: read from the environment, once, here); the
    keyword arguments override single settings (tests, and the web app's own config)."""
    settings = settings or Settings.from_env()
    instance = Path(instance or settings.instance)
    db = Database(database_url or settings.database_url_in(instance))
    clock = clock or SystemClock()
    calendars = CalendarSource(db)
    sandbox = clock_bound_sandbox(clock, calendars)
    definitions = Definitions(sandbox, checks)
    catalogues = catalogue_store(db, clock, catalogue_path or settings.catalogue_path)
    live = catalogues.live()
    items = cast(catalogue.Catalogue, live)  # a LiveCatalogue answers like a Catalogue
    clocks = Clocks(clock, items, calendars, warn_days=settings.warn_days)
    cases = CaseService(db, definitions, clock, sandbox, clocks=clocks,
                        region_code=region_code or settings.region_code)
    uploads = UploadStore(db, clock, instance / "uploads",
                          max_bytes=upload_limit or UploadStore.DEFAULT_MAX_BYTES)
    cases.add_step_hook(link_step_materials)  # materials belong to their cases
    escalations = Escalations(db, clock, clocks)
    timers = TimerWorker(db, cases, clock, escalations=escalations)

    # 好差评: its 差评 cases write back through a step hook; invitations are a worker job.
    ratings = Ratings(db, clock, cases, items,
                      RatingSettings(settings.rating_invite_days, settings.rectify_days))
    cases.add_step_hook(rating_review_on_step)
    timers.jobs.append(ratings.run_job)
    # 告知承诺: a failed site check revokes the result, records it and flags the applicant.
    credit = CreditFlags(db, clock)
    cases.add_step_hook(PostVerification(credit, sandbox, clocks))

    return Runtime(
        settings=settings, db=db, clock=clock, sandbox=sandbox, definitions=definitions,
        cases=cases, users=Users(db), tasks=TaskList(db), uploads=uploads, instance=instance,
        clocks=clocks, timers=timers, escalations=escalations, catalogue=live,
        catalogues=catalogues, drafts=Drafts(db, definitions, clock),
        deficiencies=Deficiencies(cases, items, calendars, clock, uploads,
                                  supply_days=settings.deficiency_days),
        credit=credit, ratings=ratings,
        portal=Portal(db, clock, clocks, items, uploads,
                      PortalSettings(settings.portal_window_minutes,
                                     settings.portal_per_client, settings.portal_per_case)),
        loops=build_loops(db, cases, clock, items, timers, settings),
        audit_key=default_key_path(instance, settings.audit_key),
    )
