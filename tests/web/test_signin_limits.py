"""Failed sign-ins are limited per username and per client address over a sliding window
(counted in the database, so every worker sees the same count), with the same answer
for an existing and an unknown username; a correct password clears the username's count;
API tokens are not affected. Driven through the login form with the frozen clock."""
from __future__ import annotations

import re

import pytest

from engine.people.signin_limits import SignInLimits, settings_from

CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
PASSWORD = "right-pass-2026"
LOCKED = re.compile(r"登录失败次数过多，请 (\d+) 分钟后再试")


@pytest.fixture
def clerk(runtime):
    runtime.users.create("zjj", PASSWORD, roles=["approver"], groups=["住房和城乡建设局"])
    return runtime


def sign_in(client, username: str, password: str, address: str = "10.0.0.1"):
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def wrong(client, username: str, times: int, address: str = "10.0.0.1") -> None:
    for _ in range(times):
        response = sign_in(client, username, "wrong-guess", address)
        assert response.status_code == 200
        assert "用户名或密码错误" in response.get_data(as_text=True)


def test_five_failures_lock_the_username_for_fifteen_minutes(client, clerk, clock):
    wrong(client, "zjj", 5)
    locked = sign_in(client, "zjj", PASSWORD)  # even the right password now
    assert locked.status_code == 429
    assert "登录失败次数过多，请 15 分钟后再试" in locked.get_data(as_text=True)
    assert "用户名或密码错误" not in locked.get_data(as_text=True)
    clock.advance(minutes=10)
    still = sign_in(client, "zjj", PASSWORD)
    assert LOCKED.search(still.get_data(as_text=True)).group(1) == "5"
    clock.advance(minutes=5, seconds=1)  # the oldest failure has left the window
    assert sign_in(client, "zjj", PASSWORD).status_code == 302


def test_the_window_slides(client, clerk, clock):
    wrong(client, "zjj", 3)
    clock.advance(minutes=10)
    wrong(client, "zjj", 2)
    assert sign_in(client, "zjj", PASSWORD).status_code == 429
    clock.advance(minutes=5, seconds=1)  # the first three are out; two remain
    wrong(client, "zjj", 3)  # so three more may be tried
    locked = sign_in(client, "zjj", PASSWORD)
    assert locked.status_code == 429
    # Free once the oldest of the last five (5 minutes ago) is 15 minutes old.
    assert LOCKED.search(locked.get_data(as_text=True)).group(1) == "10"


def test_an_unknown_username_gets_exactly_the_same_answers(app, clerk):
    known, unknown = app.test_client(), app.test_client()
    for attempt in range(6):
        a = sign_in(known, "zjj", "wrong-guess", "10.0.0.1")
        b = sign_in(unknown, "nobody-here", "wrong-guess", "10.0.0.2")
        assert a.status_code == b.status_code == (429 if attempt == 5 else 200)
        strip = lambda r, name: CSRF.sub("", r.get_data(as_text=True)).replace(name, "?")  # noqa: E731
        assert strip(a, "zjj") == strip(b, "nobody-here")


def test_a_correct_password_clears_the_username_count(client, clerk, runtime):
    wrong(client, "zjj", 4)
    assert sign_in(client, "zjj", PASSWORD).status_code == 302
    fresh = client.application.test_client()
    wrong(fresh, "zjj", 4)  # four more are allowed again
    assert sign_in(fresh, "zjj", PASSWORD).status_code == 302
    assert SignInLimits(runtime.db, runtime.clock).failures("zjj") == 0


def test_one_address_trying_many_usernames_is_limited(app, clerk):
    client = app.test_client()
    for n in range(20):
        wrong(client, f"guess-{n}", 1, address="192.0.2.7")
    assert sign_in(client, "zjj", PASSWORD, "192.0.2.7").status_code == 429
    # The real clerk at another address is not affected.
    assert sign_in(app.test_client(), "zjj", PASSWORD, "192.0.2.8").status_code == 302


def test_limits_come_from_the_app_config(app, clerk):
    app.config.update(SIGNIN_MAX_PER_USER=2, SIGNIN_WINDOW_MINUTES=30)
    client = app.test_client()
    wrong(client, "zjj", 2)
    locked = sign_in(client, "zjj", PASSWORD)
    assert "请 30 分钟后再试" in locked.get_data(as_text=True)
    assert settings_from({"SIGNIN_MAX_PER_USER": "x", "SIGNIN_WINDOW_MINUTES": -1}) == \
        settings_from({})


def test_api_tokens_are_not_affected(app, clerk, runtime):
    token = runtime.users.issue_token("zjj")
    wrong(app.test_client(), "zjj", 5)
    assert sign_in(app.test_client(), "zjj", PASSWORD).status_code == 429
    response = app.test_client().get("/api/v1/tasks",
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


def test_failures_are_shared_through_the_database(app, clerk, runtime):
    """Two app instances (as two gunicorn workers) on one database see one count."""
    from web import create_app

    other = create_app({"TESTING": True, "SECRET_KEY": "test"}, runtime=runtime)
    wrong(app.test_client(), "zjj", 3)
    wrong(other.test_client(), "zjj", 2)
    assert sign_in(app.test_client(), "zjj", PASSWORD).status_code == 429
