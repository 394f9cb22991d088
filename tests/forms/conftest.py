"""Fixtures for the forms tests: small BPMN documents parsed the safe way."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

from forms import Form, read_form

NAMESPACES = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
)


def parse_xml(text: str) -> etree._Element:
    """Parse like the deploy step does: no entities resolved, no network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(text.encode("utf-8"), parser)


def definitions(body: str) -> str:
    """A bpmn:definitions document with one process holding `body`."""
    return (f'<bpmn:definitions {NAMESPACES} id="defs" targetNamespace="http://onething.test">'
            f'<bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>')


def element_with_fields(fields_xml: str, *, tag: str = "startEvent", element_id: str = "start",
                        form_key: bool = True) -> str:
    """One userTask/startEvent whose camunda:formData holds `fields_xml`."""
    key = ' camunda:formKey="generated"' if form_key else ""
    return (f'<bpmn:{tag} id="{element_id}" name="申请"{key}><bpmn:extensionElements>'
            f'<camunda:formData>{fields_xml}</camunda:formData>'
            f'</bpmn:extensionElements></bpmn:{tag}>')


@pytest.fixture
def form_of() -> Callable[..., Form]:
    """form_of(fields_xml, tag=..., element_id=...) → the Form read from that element."""
    def build(fields_xml: str, **kwargs) -> Form:
        root = parse_xml(definitions(element_with_fields(fields_xml, **kwargs)))
        element = root.find(".//{http://www.omg.org/spec/BPMN/20100524/MODEL}"
                            + kwargs.get("tag", "startEvent"))
        return read_form(element)
    return build


@pytest.fixture
def document() -> Callable[[str], etree._Element]:
    """document(body) → the root of a bpmn:definitions whose process holds `body`
    (use element_xml to write the form-bearing elements)."""
    return lambda body: parse_xml(definitions(body))


@pytest.fixture
def element_xml() -> Callable[..., str]:
    """element_xml(fields_xml, tag=..., element_id=..., form_key=...) → the element's XML."""
    return element_with_fields
