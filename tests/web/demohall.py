"""One demo hall per test module: `onething demo`'s people, tokens and cases on SQLite,
seeded once (seeding hashes twenty passwords and plays twelve stories), for tests that
ask who may do what in a living hall."""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.runtime import Runtime, build_runtime
from engine.store.models import CaseRecord, HumanTask
from engine.worktime.clock import SHANGHAI, FrozenClock
from tests.conftest import PROCESSES, deploy_files


@dataclass
class DemoHall:
    runtime: Runtime
    app: Any
    users: dict[str, dict[str, Any]]  # username -> onething demo --json entry

    def token(self, username: str) -> str:
        return self.users[username]["token"]

    def api(self, method: str, path: str, username: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.token(username)}"}
        return self.app.test_client().open("/api/v1" + path, method=method, headers=headers,
                                           **kwargs)

    def client(self, username: str):
        """A browser signed in as `username` (with its CSRF token as `.csrf`)."""
        client = self.app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        response = client.post("/login", data={
            "username": username, "password": self.users[username]["password"],
            "csrf_token": token})
        assert response.status_code == 302, username
        client.csrf = token
        return client

    def case_id(self, process: str, *, status: str | None = None, with_open: str = "") -> int:
        """The first demo case of `process` (in `status`, with an open task whose spec
        starts with `with_open`)."""
        with self.runtime.db.reading() as session:
            for case in session.scalars(select(CaseRecord).where(
                    CaseRecord.process_key == process).order_by(CaseRecord.id)):
                if status and case.status != status:
                    continue
                if with_open and not self.open_task(case.id, with_open, session=session):
                    continue
                return case.id
        raise LookupError(process)

    def open_task(self, case_id: int, spec_prefix: str, *, session=None) -> str | None:
        def find(s):
            return next((t.id for t in s.scalars(select(HumanTask).where(
                HumanTask.case_id == case_id, HumanTask.state == "open").order_by(HumanTask.id))
                if t.task_spec.startswith(spec_prefix)), None)
        if session is not None:
            return find(session)
        with self.runtime.db.reading() as s:
            return find(s)

    def status(self, case_id: int) -> str:
        with self.runtime.db.reading() as session:
            return session.get(CaseRecord, case_id).status


def build_demo_hall(directory, sqlite_template) -> DemoHall:
    from web import create_app
    from demo import seed
    from web.formsource import form_check

    path = directory / "hall.sqlite3"
    shutil.copy(sqlite_template, path)
    clock = FrozenClock(datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI))
    runtime = build_runtime(f"sqlite:///{path}", clock=clock, instance=directory / "instance",
                            checks=[form_check], upload_limit=1024 * 1024)
    deploy_files(runtime, PROCESSES)
    users = {u["username"]: u for u in seed(runtime)}
    app = create_app({"TESTING": True, "SECRET_KEY": "test"}, runtime=runtime)
    return DemoHall(runtime, app, users)


def module_hall():
    """The fixture `hall = module_hall()` gives a test module its own demo hall, seeded once."""
    import pytest

    @pytest.fixture(scope="module")
    def hall(tmp_path_factory, sqlite_template):
        built = build_demo_hall(tmp_path_factory.mktemp("hall"), sqlite_template)
        yield built
        built.runtime.db.dispose()

    return hall
