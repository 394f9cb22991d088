"""The web's door to `engine.hall.forms` (where a form comes from). Pages and the API
render and validate the same forms the service layer does; the only web part is the date
forms are judged on while serving a request: the runtime clock's."""
from __future__ import annotations

from typing import Any, Mapping

from engine.hall.forms import (APPLIES_WHEN, EMPTY, applicable_items,  # noqa: F401
    application_form, application_parts, application_report, applies_when_of,
    case_materials, clean_application, deciding_fields, form_check, forms_of,
    start_element_id, start_form, task_form)
from engine.hall import forms as _forms
from forms.model import Form


def _today():
    """The runtime clock's date when serving a request, else the date already in force
    (`on_date`, e.g. the demo's travelling clock around `clean_application`)."""
    from flask import has_app_context

    from .runtime import runtime

    return runtime().clock.now().date() if has_app_context() else None


def clean(form: Form, data: Mapping[str, Any], *, lang: str = "zh",
          current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate submitted values on the server; refusals become ValidationFailed (422)."""
    return _forms.clean(form, data, lang=lang, current=current, today=_today())
