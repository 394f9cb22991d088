"""Where a form comes from: the deployed definition a task or a case start runs on.

forms/ knows what a form is; engine/ knows which definition version a task belongs to;
this module connects the two for the web layer (and gives the deploy step its form check).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

from forms.formdata import FormDefinitionError, read_forms
from forms.merge import MergeConflict, fan_out, merge_forms
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


def form_check(document: BpmnFile, callees: Sequence[BpmnFile] = ()) -> list[Problem]:
    """Deploy-time check: every formData in the file makes a valid form, and a one-thing's
    items' application forms merge into one (no field asked with two types, …)."""
    try:
        read_forms(document.root)
    except FormDefinitionError as exc:
        element = next((e for e in document.root.iter() if e.get("id") == exc.element_id), None)
        name = element.get("name") if element is not None else None
        return [Problem(exc.element_id, name, f"表单定义错误：{exc.message}", document.name)]
    direct = [c for c in callees if c.key in document.called]
    if direct:
        try:
            merge_forms({c.key: _own_start_form(c) for c in direct}, base=_own_start_form(document))
        except (FormDefinitionError, MergeConflict) as exc:
            return [Problem(start_element_id(document), None, f"一表申请无法合并：{exc.message}",
                            document.name)]
    return []


def start_element_id(document: BpmnFile) -> str | None:
    for element in document.process.findall(f"{{{BPMN_NS}}}startEvent"):
        return element.get("id")
    return None


def _own_start_form(document: BpmnFile) -> Form:
    element_id = start_element_id(document)
    return forms_of(document).get(element_id, EMPTY) if element_id else EMPTY


def application_parts(runtime: Runtime, definition: ProcessDefinition):
    """(the process's own start form, {item key: item application form}) — the items being
    the latest versions of what a one-thing calls, as a case started now would pin them."""
    with runtime.db.reading() as session:
        document = runtime.definitions.document(session, definition.key, definition.content_hash)
        items = {}
        for key in definition.called_keys:
            callee = runtime.definitions.latest(session, key)
            if callee is not None:
                items[key] = _own_start_form(
                    runtime.definitions.document(session, callee.key, callee.content_hash))
    return _own_start_form(document), items


def start_form(runtime: Runtime, definition: ProcessDefinition) -> Form:
    """The application form: an item's own, or a one-thing's merged form (一表申请) where
    each shared question is asked once and every field lists the items that need it.

    Materials (file fields) are not demanded at receipt: checking them, and giving one
    notice of everything missing (一次性告知) or accepting with deficiency (容缺), is the
    front desk's acceptance step — the window has no veto.
    """
    own, items = application_parts(runtime, definition)
    if not items:
        return own
    key = ("merged", definition.content_hash, *sorted(items))
    merged = _forms.get({"merged": "|".join(map(str, key))},
                        lambda: merge_forms(items, base=own))
    return Form(fields=tuple(replace(f, required=False) if f.type == "file" else f
                             for f in merged.fields))


def clean_application(runtime: Runtime, definition: ProcessDefinition,
                      values: Mapping[str, Any], *, lang: str = "zh") -> dict[str, Any]:
    """Validate an application and fan the values out under each item's own field ids."""
    form = start_form(runtime, definition)
    data = clean(form, values, lang=lang)
    own, items = application_parts(runtime, definition)
    for item_values in fan_out(form, data, items).values():
        data.update(item_values)
    return data


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


def case_materials(runtime: Runtime, case, actor) -> list[dict]:
    """The materials of the application: uploaded by the applicant or pulled by data
    sharing (零材料), each with its rules from the diagram."""
    from engine import canonical

    events = runtime.cases.events(case.id, actor)
    data = canonical.loads(events[0].payload).get("data", {}) if events else {}
    with runtime.db.reading() as session:
        definition = runtime.definitions.latest(session, case.process_key)
    shared = data.get("shared_materials") or {}
    out = []
    for field in start_form(runtime, definition).fields if definition else ():
        if field.type != "file":
            continue
        upload_id = data.get(field.id)
        stored = runtime.uploads.get(upload_id) if isinstance(upload_id, str) else None
        out.append({"field": field.id, "label": field.label, "necessity": field.necessity,
                    "source": field.source, "provided": stored is not None,
                    "upload": stored.to_json() if stored else None,
                    "shared": field.id in shared})
    return out


def application_report(runtime: Runtime, definition: ProcessDefinition):
    """The one-form report (表单优化率) of a one-thing: the questions its items would ask
    separately against the merged application form."""
    from forms.report import form_report

    _own, items = application_parts(runtime, definition)
    return form_report(items, start_form(runtime, definition))
