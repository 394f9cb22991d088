"""Where a form comes from: the deployed definition a task or a case start runs on.

forms/ knows what a form is; engine/ knows which definition version a task belongs to;
this module connects the two for the service layer and the pages that render its forms
(and gives the deploy step its form check). `definition` is anything with the deployed
version's `key`, `content_hash` and `called_keys`.
"""
from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any, Mapping, Protocol, Sequence

from sqlalchemy.orm import Session

from forms.formdata import FormDefinitionError, read_forms
from forms.merge import MergeConflict, fan_out, merge_forms, visible_fields
from forms.model import Form
from forms.dictionary import on_date
from forms.dictionary import today as dictionary_today
from forms.validate import FormInvalid, validate

from engine.acceptance import deficiency
from engine.definitions.service import BPMN_NS, CAMUNDA_NS, BpmnFile, Definitions, SpecCache
from engine.errors import OneThingError, Problem, ValidationFailed
from engine.runtime import Runtime
from engine.cases.dto import TaskView

EMPTY = Form(fields=())


class DeployedVersion(Protocol):
    """A deployed process version as far as its forms go (an ORM row or a plain ref)."""

    @property
    def key(self) -> str: ...
    @property
    def content_hash(self) -> str: ...
    @property
    def called_keys(self) -> Sequence[str]: ...
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


def application_parts(runtime: Runtime, definition: DeployedVersion):
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


def start_form(runtime: Runtime, definition: DeployedVersion) -> Form:
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


def clean_application(runtime: Runtime, definition: DeployedVersion,
                      values: Mapping[str, Any], *, lang: str = "zh") -> dict[str, Any]:
    """Validate an application and fan the values out under each item's own field ids.

    Only the items that apply to these values are asked (`applies_when`): a field that only
    an inapplicable item needs is neither required nor kept. A process that calls the
    common 容缺 gate gets the gate's inputs (nothing deferred) unless the counter sets them.
    """
    form = application_form(runtime, definition, values)
    full = start_form(runtime, definition)
    # A value for a field only an inapplicable item asks is not wrong, just not needed.
    with on_date(runtime.clock.now().date()):
        data = clean(form, {k: v for k, v in values.items() if k in form or k not in full},
                     lang=lang, today=runtime.clock.now().date())
    own, items = application_parts(runtime, definition)
    applicable = {f.sources for f in form.fields}
    for item, item_values in fan_out(form, data, items).items():
        if any(item in sources for sources in applicable):
            data.update(item_values)
    if deficiency.GATE_PROCESS in definition.called_keys:
        data = {**deficiency.defaults(), **data}
    return data


# -- optional items (applies_when) -------------------------------------------------------------

APPLIES_WHEN = "applies_when"


def applies_when_of(document: BpmnFile) -> dict[str, str]:
    """{called process key: its `applies_when` condition} of a one-thing's call activities
    (items without one always apply)."""
    out = {}
    for call in document.process.iter(f"{{{BPMN_NS}}}callActivity"):
        for prop in call.iter(f"{{{CAMUNDA_NS}}}property"):
            if prop.get("name") == APPLIES_WHEN and (prop.get("value") or "").strip():
                out[call.get("calledElement")] = prop.get("value").strip()
    return out


def deciding_fields(conditions: Mapping[str, str]) -> set[str]:
    """The names the `applies_when` conditions read: the fields that decide which items
    apply (the counter page refreshes when one of them changes)."""
    names = set()
    for source in conditions.values():
        try:
            names |= {n.id for n in ast.walk(ast.parse(source, mode="eval"))
                      if isinstance(n, ast.Name)}
        except SyntaxError:
            continue
    return names


def applicable_items(runtime: Runtime, definition: DeployedVersion,
                     values: Mapping[str, Any]) -> set[str]:
    """The called processes that apply to the application `values` (raw or cleaned): each
    item's `applies_when` is evaluated in the sandbox on the deciding fields' cleaned values.
    When a deciding value is missing or invalid the item applies (ask more, never less)."""
    with runtime.db.reading() as session:
        document = runtime.definitions.document(session, definition.key, definition.content_hash)
    conditions = applies_when_of(document)
    applicable = set(definition.called_keys)
    if not conditions:
        return applicable
    merged = start_form(runtime, definition)
    deciding = [replace(f, required=False) for f in merged.fields
                if f.id in deciding_fields(conditions)]
    try:
        typed = clean(Form(tuple(deciding)), {f.id: values.get(f.id) for f in deciding
                                             if values.get(f.id) not in (None, "")})
    except ValidationFailed:
        typed = {}
    for key, condition in conditions.items():
        try:
            if not runtime.sandbox.evaluate(condition, typed):
                applicable.discard(key)
        except OneThingError:
            continue  # undecidable yet (a deciding field is blank): the item applies
    return applicable


def application_form(runtime: Runtime, definition: DeployedVersion,
                     values: Mapping[str, Any]) -> Form:
    """The application form as these values need it: fields only inapplicable items ask
    are left out (neither shown nor required)."""
    form = start_form(runtime, definition)
    if not definition.called_keys:
        return form
    return visible_fields(form, applicable_items(runtime, definition, values))


def task_form(runtime: Runtime, task: TaskView) -> Form:
    with runtime.db.reading() as session:
        return task_form_in(runtime.definitions, session, task.process_key,
                            task.definition_hash, task.task_spec)


def task_form_in(definitions: Definitions, session: Session, process_key: str,
                 definition_hash: str, task_spec: str) -> Form:
    """The form of one user task of a deployed version (EMPTY when the task has none),
    read inside the caller's transaction."""
    document = definitions.document(session, process_key, definition_hash)
    return forms_of(document).get(task_spec, EMPTY)


def clean(form: Form, data: Mapping[str, Any], *, lang: str = "zh",
          current: Mapping[str, Any] | None = None, today=None) -> dict[str, Any]:
    """Validate submitted values on the server; refusals become ValidationFailed (422).
    `today` (the runtime clock's date) judges dates; None keeps the date in force."""
    try:
        return validate(form, data, lang=lang, current=current,
                        today=today if today is not None else dictionary_today())
    except FormInvalid as exc:
        raise ValidationFailed(exc.message, exc.fields) from None


def case_materials(runtime: Runtime, case, actor) -> list[dict]:
    """The materials of the application: uploaded by the applicant or pulled by data
    sharing (零材料), each with its rules from the diagram."""
    from engine.cases.eventlog import application_of

    data = application_of(runtime.cases.events(case.id, actor))
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


def application_report(runtime: Runtime, definition: DeployedVersion):
    """The one-form report (表单优化率) of a one-thing: the questions its items would ask
    separately against the merged application form."""
    from forms.report import form_report

    _own, items = application_parts(runtime, definition)
    return form_report(items, start_form(runtime, definition))
