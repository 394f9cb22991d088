"""Where a form comes from: the deployed definition a task or a case start runs on.

forms/ knows what a form is; engine/ knows which definition version a task belongs to;
this module connects the two for the web layer (and gives the deploy step its form check).
"""
from __future__ import annotations

from typing import Any, Mapping

from forms.formdata import FormDefinitionError, read_forms
from forms.model import Form
from forms.validate import FormInvalid, validate

from engine.definitions import BPMN_NS, BpmnFile, SpecCache
from engine.errors import Problem, ValidationFailed
from engine.runtime import Runtime
from engine.store.models import ProcessDefinition
from engine.views import TaskView

EMPTY = Form(fields=())
_forms = SpecCache(256)


def forms_of(document: BpmnFile) -> dict[str, Form]:
    """Every form in a deployed document, by element id (cached per content hash)."""
    return _forms.get({document.key: document.content_hash}, lambda: read_forms(document.root))


def form_check(document: BpmnFile) -> list[Problem]:
    """Deploy-time check: every formData in the file must make a valid form."""
    try:
        read_forms(document.root)
    except FormDefinitionError as exc:
        element = next((e for e in document.root.iter() if e.get("id") == exc.element_id),
                       None) if exc.element_id else None
        name = element.get("name") if element is not None else None
        return [Problem(exc.element_id, name, f"表单定义错误：{exc.message}", document.name)]
    return []


def start_element_id(document: BpmnFile) -> str | None:
    for element in document.process.findall(f"{{{BPMN_NS}}}startEvent"):
        return element.get("id")
    return None


def start_form(runtime: Runtime, definition: ProcessDefinition) -> Form:
    with runtime.db.reading() as session:
        document = runtime.definitions.document(session, definition.key, definition.content_hash)
    element_id = start_element_id(document)
    return forms_of(document).get(element_id, EMPTY) if element_id else EMPTY


def task_form(runtime: Runtime, task: TaskView) -> Form:
    with runtime.db.reading() as session:
        document = runtime.definitions.document(session, task.process_key, task.definition_hash)
    return forms_of(document).get(task.task_spec, EMPTY)


def clean(form: Form, data: Mapping[str, Any], *, lang: str = "zh",
          current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate submitted values on the server; refusals become ValidationFailed (422)."""
    try:
        return validate(form, data, lang=lang, current=current)
    except FormInvalid as exc:
        raise ValidationFailed(exc.message, exc.fields) from None
