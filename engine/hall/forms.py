"""The forms of deployed definitions, as the service layer validates input against them.

forms/ knows what a form is; the definitions know which document a task runs on. The
parsed forms of a document are cached per content hash: a deployed version never changes.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from sqlalchemy.orm import Session

from engine.definitions.service import BpmnFile, Definitions, SpecCache
from engine.errors import ValidationFailed
from forms.formdata import read_forms
from forms.model import Form
from forms.validate import FormInvalid, validate

EMPTY = Form(fields=())
_forms = SpecCache(256)


def forms_of(document: BpmnFile) -> dict[str, Form]:
    """Every form in a deployed document, by element id (cached per content hash)."""
    return _forms.get({document.key: document.content_hash}, lambda: read_forms(document.root))


def task_form(definitions: Definitions, session: Session, process_key: str,
              definition_hash: str, task_spec: str) -> Form:
    """The form of one user task of a deployed version (EMPTY when the task has none)."""
    document = definitions.document(session, process_key, definition_hash)
    return forms_of(document).get(task_spec, EMPTY)


def clean(form: Form, data: Mapping[str, Any], *, lang: str = "zh",
          current: Mapping[str, Any] | None = None,
          today: dt.date | None = None) -> dict[str, Any]:
    """Validate submitted values on the server; refusals become ValidationFailed (422).
    `today` is the runtime clock's date (future dates are judged against it)."""
    try:
        return validate(form, data, lang=lang, current=current, today=today)
    except FormInvalid as exc:
        raise ValidationFailed(exc.message, exc.fields) from None
