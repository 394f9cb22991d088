"""Shared fixtures. Every test that touches the database runs on SQLite and, when
TEST_DATABASE_URL is set, on PostgreSQL too (in its own schema, emptied between tests)."""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.worktime.clock import SHANGHAI, FrozenClock
from engine.runtime import build_runtime
from engine.store.db import Database
from engine.store.models import Base

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get("TEST_DATABASE_URL")
PG_SCHEMA = f"onething_test_{os.getpid()}"

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def pytest_configure(config):
    # Any SpiffWorkflow time read outside running_on(clock) fails the test that made it.
    from engine.worktime import spiffclock

    spiffclock.strict()


def pg_url_with_schema(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema_url():
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL not set")
    admin = Database(PG_URL)
    with admin.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{PG_SCHEMA}"'))
    url = pg_url_with_schema(PG_URL, PG_SCHEMA)
    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url
    with admin.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path, sqlite_template):
    if request.param == "sqlite":
        path = tmp_path / "case.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_schema_url")
    db = Database(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        seed_calendar(conn)  # reference data the migration seeds; tests may import years
    db.dispose()
    yield url


def seed_calendar(conn) -> None:
    from datetime import timezone

    from engine.store.models import CalendarDay, CalendarYear
    from engine.worktime.workcalendar import package_days, package_years

    conn.execute(CalendarDay.__table__.insert(), [
        {"day": d.day, "kind": d.kind, "name": d.name, "source": "chinesecalendar"}
        for d in package_days()])
    conn.execute(CalendarYear.__table__.insert(), [
        {"year": y, "source": "chinesecalendar", "imported_at": datetime.now(timezone.utc),
         "imported_by": "tests"} for y in sorted(package_years())])


@pytest.fixture
def clock():
    return FrozenClock(datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture
def raw_spiff_clock(clock):
    """For tests that drive SpiffWorkflow directly, without the engine: its time reads
    go to the frozen clock, as the engine's own calls do."""
    from engine.worktime.spiffclock import running_on

    with running_on(clock):
        yield clock


@pytest.fixture
def runtime(database_url, clock, tmp_path):
    from web.formsource import form_check

    rt = build_runtime(database_url, clock=clock, instance=tmp_path / "instance",
                       checks=[form_check], upload_limit=1024 * 1024)
    yield rt
    rt.db.dispose()


def deploy_files(rt, *paths: Path):
    from cli.common import bpmn_paths, deploy_paths

    return deploy_paths(rt, bpmn_paths([str(p) for p in paths]))


@pytest.fixture
def deployed(runtime):
    deploy_files(runtime, PROCESSES)
    return runtime


@pytest.fixture
def app(runtime):
    from web import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "test"}, runtime=runtime)


@pytest.fixture
def client(app):
    return app.test_client()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
