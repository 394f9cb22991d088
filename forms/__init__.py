"""OneThing forms: form semantics read from BPMN diagrams.

What lives here: the form model (`model`), reading `camunda:formData` (`formdata`),
server-side validation (`validate`), the shared field dictionary (`dictionary`), the
merged one-form of a one-thing (`merge`) and the form-optimisation report (`report`).
No database, no Flask, no HTTP: `web/` and `engine/` call into this package, never the
other way round.
"""
from forms.dictionary import DICTIONARY, DictEntry, lookup
from forms.formdata import FormDefinitionError, read_form, read_forms
from forms.merge import (
    ONETHING_SOURCE,
    MergeConflict,
    fan_out,
    merge_forms,
    visible_fields,
)
from forms.messages import InvalidValue
from forms.model import FIELD_TYPES, Field, Form, Option
from forms.report import Report, form_report
from forms.validate import FormInvalid, validate

__all__ = [
    "DICTIONARY",
    "FIELD_TYPES",
    "ONETHING_SOURCE",
    "DictEntry",
    "Field",
    "Form",
    "FormDefinitionError",
    "FormInvalid",
    "InvalidValue",
    "MergeConflict",
    "Option",
    "Report",
    "fan_out",
    "form_report",
    "lookup",
    "merge_forms",
    "read_form",
    "read_forms",
    "validate",
    "visible_fields",
]
