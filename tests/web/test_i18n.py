"""Chinese first, English available: the catalogue translates every UI string, and /lang/en
switches a signed-in clerk's pages to English (and /lang/zh back).

The app under test reads a .mo compiled from the committed .po into tmp_path, so these
tests neither depend on `make install` having compiled web/translations nor on a stale .mo.
"""
from __future__ import annotations

import re

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.conftest import ROOT
from web import create_app

PO = ROOT / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
CJK = re.compile(r"[\u4e00-\u9fff]")


def catalog():
    with PO.open("rb") as f:
        return read_po(f, locale="en")


def extracted_msgids() -> dict[str, str]:
    """What `pybabel extract -F babel.cfg` finds now: msgid -> first place it is used."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def test_every_message_has_an_english_translation():
    entries = [m for m in catalog() if m.id]
    assert len(entries) > 100
    for message in entries:
        assert message.string, f"untranslated: {message.id!r}"
        assert "fuzzy" not in message.flags, f"fuzzy: {message.id!r}"
        assert not CJK.search(message.string), f"Chinese left in: {message.string!r}"
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(PLACEHOLDER.findall(message.string)), \
            f"placeholders differ: {message.id!r} -> {message.string!r}"


def test_catalogue_covers_every_marked_string():
    """New UI text must come with its English: run the pybabel steps in babel.cfg."""
    translated = {m.id for m in catalog() if m.id and m.string}
    missing = {msgid: where for msgid, where in extracted_msgids().items()
               if msgid not in translated}
    assert not missing, "not in messages.po (see babel.cfg): " + ", ".join(
        f"{msgid!r} ({where})" for msgid, where in sorted(missing.items(), key=lambda kv: kv[1]))


@pytest.fixture
def english_app(runtime, tmp_path):
    target = tmp_path / "translations" / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as f:
        write_mo(f, catalog())
    return create_app({"TESTING": True, "SECRET_KEY": "test",
                       "BABEL_TRANSLATION_DIRECTORIES": str(tmp_path / "translations")},
                      runtime=runtime)


def login(client, username: str, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token})
    assert response.status_code == 302


def heading(page: str) -> str:
    return re.search(r"<h1>(.*?)</h1>", page, re.S).group(1).strip()


def test_switching_to_english_and_back(english_app, runtime):
    runtime.users.create("fd", "fd-pass-123", display_name="王受理", roles=["frontdesk"],
                         groups=["综合受理窗口"])
    client = english_app.test_client()
    login(client, "fd", "fd-pass-123")
    page = client.get("/tasks").get_data(as_text=True)
    assert heading(page) == "待办任务" and '<html lang="zh-CN">' in page

    response = client.get("/lang/en", headers={"Referer": "http://localhost/tasks"})
    assert response.status_code == 302 and response.location.endswith("/tasks")
    page = client.get("/tasks").get_data(as_text=True)
    assert heading(page) == "Tasks"
    assert "待办任务" not in page and '<html lang="en">' in page
    assert "Sign out" in page and "Filter" in page and "All" in page
    assert "中文" in page  # the way back is offered in its own language

    client.get("/lang/zh")
    page = client.get("/tasks").get_data(as_text=True)
    assert heading(page) == "待办任务" and "Tasks" not in page


def test_login_page_and_unknown_language(english_app):
    client = english_app.test_client()
    client.get("/lang/xx")  # ignored: still Chinese
    assert "登录" in client.get("/login").get_data(as_text=True)
    client.get("/lang/en")
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in" in page and "Username" in page


def test_admin_pages_in_english(english_app, runtime):
    from engine.people.departments import Departments

    Departments(runtime.db).add("综合受理窗口", kind="window")
    runtime.users.create("admin", "admin-pass-1", roles=["admin"])
    client = english_app.test_client()
    login(client, "admin", "admin-pass-1")
    client.get("/lang/en")
    page = client.get("/admin/users").get_data(as_text=True)
    assert heading(page) == "Users and departments"
    assert ">Users and departments</a>" in page  # the navigation entry too
    for text in ("New user", "Create user", "Administrator", "General reception window",
                 "Department approver", "Initial password"):
        assert text in page, text
    assert "综合受理窗口" in page  # department names are lane names: never translated
    page = client.get("/admin/departments").get_data(as_text=True)
    assert "Add a department / window" in page and "Window" in page
    response = client.post("/admin/departments", data={
        "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1),
        "name": "", "kind": "department"})
    assert response.status_code == 422 and "Please enter a name" in response.get_data(as_text=True)
