"""What every auditor page shares: the role guard, the runtime, readable names and
labels for a case's fields, and parsing of the search form."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import request
from flask_babel import gettext as _

from engine.audit.search import CaseQuery
from engine.errors import OneThingError
from engine.runtime import Runtime

from ..auth import roles_required
from ..formsource import forms_of

# Auditors read; administrators may look too. Everyone else gets 403.
auditor_required = roles_required("auditor")


def display_names(rt: Runtime, usernames) -> dict[str, str]:
    """username -> display name for the people named on a page."""
    names = {}
    for username in sorted({u for u in usernames if u}):
        user = rt.users.get(username)
        names[username] = user.display_name if user is not None else username
    return names


def field_labels(rt: Runtime, pins: dict[str, str]) -> tuple[dict[str, str], dict[str, dict]]:
    """For the processes a case is pinned to: field id -> label, and field id -> {option
    id -> option label}, from the forms in the diagrams (first definition wins)."""
    labels: dict[str, str] = {}
    options: dict[str, dict[str, str]] = {}
    with rt.db.reading() as session:
        for key, content_hash in pins.items():
            try:
                document = rt.definitions.document(session, key, content_hash)
            except OneThingError:  # a missing definition: fall back to raw field ids
                continue
            for form in forms_of(document).values():
                for field in form.fields:
                    labels.setdefault(field.id, field.label)
                    if field.options:
                        options.setdefault(field.id, {o.id: o.label for o in field.options})
    return labels, options


def readable(value: Any, choices: dict[str, str] | None = None) -> str:
    """A recorded value as an auditor reads it."""
    if value is None:
        return "—"
    if value is True:
        return _("是")
    if value is False:
        return _("否")
    if choices and isinstance(value, str) and value in choices:
        return f"{choices[value]}（{value}）"
    if isinstance(value, (list, tuple)):
        return "、".join(readable(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {readable(v)}" for k, v in value.items()) or "—"
    text = str(value)
    return text if len(text) <= 300 else text[:300] + "…"


def parse_date(name: str, errors: dict[str, str]) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = _("日期格式应为 YYYY-MM-DD")
        return None


def query_from_args(errors: dict[str, str]) -> CaseQuery:
    """The search form (GET) as a CaseQuery; bad dates go into `errors`."""
    def text(name: str, limit: int = 200) -> str | None:
        value = (request.args.get(name) or "").strip()
        return value[:limit] or None

    return CaseQuery(number=text("number", 40), applicant=text("applicant", 100),
                     item=text("item"), received_from=parse_date("from", errors),
                     received_to=parse_date("to", errors), outcome=text("outcome", 20))


SEARCH_ARGS = ("number", "applicant", "item", "from", "to", "outcome")


def search_args() -> dict[str, str]:
    """The search form's current values, to carry into links (history, XES export)."""
    return {k: request.args[k] for k in SEARCH_ARGS if request.args.get(k)}
