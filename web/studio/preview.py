"""Form preview in the studio: the form a clerk (or the front desk) will get from a draft,
built by the same code that builds it for a running task, so what the analyst sees in the
preview is what the clerk will see after deployment."""
from __future__ import annotations

from dataclasses import dataclass, replace

from flask_babel import gettext as _

from forms.formdata import FormDefinitionError, read_form
from forms.merge import MergeConflict, merge_forms
from forms.model import Form

from engine.definitions.service import BPMN_NS, BpmnFile
from engine.errors import NotFound, ValidationFailed
from engine.runtime import Runtime

from .. import formsource


@dataclass(frozen=True)
class FormElement:
    """A diagram element that carries a form: a user task, or the application (start)."""

    id: str
    name: str
    kind: str  # "start" or "task"
    lane: str | None


def form_elements(document: BpmnFile) -> list[FormElement]:
    """The elements of the draft a clerk or applicant fills in, in diagram order."""
    lanes = {ref.text.strip(): lane.get("name")
             for lane in document.process.iter(f"{{{BPMN_NS}}}lane")
             for ref in lane.iter(f"{{{BPMN_NS}}}flowNodeRef") if ref.text}
    out = []
    for element in document.process.iter(f"{{{BPMN_NS}}}startEvent", f"{{{BPMN_NS}}}userTask"):
        if element.getparent() is not document.process or not element.get("id"):
            continue  # start events of event subprocesses are not application forms
        kind = "start" if element.tag.endswith("startEvent") else "task"
        out.append(FormElement(element.get("id"), element.get("name") or element.get("id"),
                               kind, lanes.get(element.get("id"))))
    return out


def preview_form(runtime: Runtime, document: BpmnFile, element_id: str) -> tuple[FormElement, Form]:
    """The form of `element_id` in the draft as it will be shown: a task's own form; for a
    one-thing's start, the merged application form (一表申请) with the latest items."""
    element = next((e for e in form_elements(document) if e.id == element_id), None)
    if element is None:
        raise NotFound(_("图中没有人工任务或开始事件「%(id)s」", id=element_id))
    xml = next(e for e in document.process.iter() if e.get("id") == element_id)
    try:
        own = read_form(xml)
        if element.kind != "start" or not document.called:
            return element, own
        items = {}
        with runtime.db.reading() as session:
            for key in document.called:
                callee = runtime.definitions.latest(session, key)
                if callee is not None:
                    callee_doc = runtime.definitions.document(session, callee.key,
                                                              callee.content_hash)
                    start = formsource.start_element_id(callee_doc)
                    items[key] = formsource.forms_of(callee_doc).get(start, formsource.EMPTY)
        merged = merge_forms(items, base=own)
    except (FormDefinitionError, MergeConflict) as exc:
        raise ValidationFailed(_("表单无法生成：%(reason)s", reason=exc.message)) from None
    # As at the counter: materials are checked at acceptance, not demanded at receipt.
    return element, Form(fields=tuple(replace(f, required=False) if f.type == "file" else f
                                      for f in merged.fields))
