"""Untrusted XML: entity tricks, oversize input and non-BPMN documents are refused before
anything reads a file, opens a connection or builds a huge string."""
from __future__ import annotations

import resource
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest

from engine.definitions.service import read_bpmn
from engine.errors import InvalidDefinition, UnsafeXML
from engine.definitions.xmlsafe import MAX_ATTRIBUTE_CHARS, MAX_XML_BYTES, parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
PASSWD = Path("/etc/passwd")


def document(*, doctype: str = "", name: str = "审查", text: str = "", processes: str | None = None,
             encoding: str = "UTF-8") -> str:
    """A small valid BPMN document, optionally preceded by a DOCTYPE."""
    if processes is None:
        processes = (f'<bpmn:process id="p" name="{name}" isExecutable="true">'
                     f'<bpmn:documentation>{text}</bpmn:documentation>'
                     '<bpmn:startEvent id="start"/></bpmn:process>')
    return (f'<?xml version="1.0" encoding="{encoding}"?>\n{doctype}\n'
            f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="defs" '
            f'targetNamespace="http://onething.example/test">\n{processes}\n'
            '</bpmn:definitions>\n')


def encoded(xml: str, encoding: str) -> bytes:
    """`xml` in `encoding`, with a matching declaration (UTF-16 gets a BOM)."""
    return xml.replace('encoding="UTF-8"', f'encoding="{encoding}"').encode(encoding.lower())


# The prefix check looks at raw bytes; UTF-16 input must be refused just the same.
ENCODINGS = ["UTF-8", "UTF-16"]


def passwd_fragments() -> list[str]:
    """Pieces of /etc/passwd that must never show up in an error message."""
    if not PASSWD.exists():
        return ["root:"]
    first = PASSWD.read_text(errors="replace").splitlines()[0]
    return ["root:", first, first.split(":")[0] + ":x:"]


def assert_nothing_leaked(exc: InvalidDefinition) -> None:
    shown = " ".join([exc.message, str(exc)] + [str(p) for p in exc.problems]
                     + [repr(p.to_json()) for p in exc.problems])
    for fragment in passwd_fragments():
        assert fragment not in shown


def refuse(data: bytes | str, name: str = "evil.bpmn") -> UnsafeXML:
    """Both entry points (parse_xml and read_bpmn) refuse `data` with UnsafeXML."""
    with pytest.raises(UnsafeXML) as direct:
        parse_xml(data, name=name)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with pytest.raises(UnsafeXML) as via_bpmn:
        read_bpmn(raw, name)
    assert via_bpmn.value.problems and via_bpmn.value.problems[0].file == name
    return direct.value


@contextmanager
def listening_socket():
    """A local TCP port that records whether anyone connected to it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    try:
        yield server
    finally:
        server.close()


def connection_attempted(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


# -- XXE -----------------------------------------------------------------------------------

XXE_PASSWD = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_xxe_entity_in_name_attribute_is_refused_without_leaking_passwd(encoding):
    xml = document(doctype=XXE_PASSWD, name="&e;")
    exc = refuse(encoded(xml, encoding))
    assert_nothing_leaked(exc)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_xxe_entity_in_element_text_is_refused_without_leaking_passwd(encoding):
    xml = document(doctype=XXE_PASSWD, text="&e;")
    exc = refuse(encoded(xml, encoding))
    assert_nothing_leaked(exc)


def test_xxe_refusal_says_why_in_chinese():
    exc = refuse(document(doctype=XXE_PASSWD, name="&e;"))
    assert "DOCTYPE" in exc.message or "实体" in exc.message
    assert exc.code == "unsafe_xml"


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("doctype", [
    # parameter entity pulling in the file, then a nested external entity
    '<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
    # external DTD subset
    '<!DOCTYPE x SYSTEM "file:///etc/passwd">',
    # classic out-of-band exfiltration shape
    '<!DOCTYPE x [<!ENTITY % file SYSTEM "file:///etc/passwd">'
    '<!ENTITY % dtd SYSTEM "file:///nonexistent/evil.dtd"> %dtd;]>',
], ids=["parameter-entity", "external-dtd", "oob-dtd"])
def test_external_dtd_and_parameter_entities_are_refused(doctype, encoding):
    exc = refuse(encoded(document(doctype=doctype), encoding))
    assert_nothing_leaked(exc)


def test_lowercase_or_spaced_doctype_is_refused_too():
    refuse(document(doctype='<!doctype x [<!entity e SYSTEM "file:///etc/passwd">]>', name="x"))


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("shape", ["entity", "external-dtd", "parameter-entity"])
def test_network_entity_is_refused_without_any_connection_attempt(shape, encoding):
    with listening_socket() as server:
        port = server.getsockname()[1]
        url = f"http://127.0.0.1:{port}/x"
        doctype = {
            "entity": f'<!DOCTYPE x [<!ENTITY e SYSTEM "{url}">]>',
            "external-dtd": f'<!DOCTYPE x SYSTEM "{url}">',
            "parameter-entity": f'<!DOCTYPE x [<!ENTITY % p SYSTEM "{url}"> %p;]>',
        }[shape]
        refuse(encoded(document(doctype=doctype, text="&e;" if shape == "entity" else ""),
                       encoding))
        assert not connection_attempted(server)


def test_network_entity_on_discard_port_is_refused():
    refuse(document(doctype='<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:9/x">]>',
                    name="&e;"))


# -- entity expansion ---------------------------------------------------------------------

def billion_laughs() -> str:
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        ref = f"&lol{level - 1};" * 10
        entities.append(f'<!ENTITY lol{level} "{ref}">')
    return "<!DOCTYPE lolz [" + "".join(entities) + "]>"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_billion_laughs_is_refused_without_expanding(encoding):
    before = peak_rss_mb()
    xml = document(doctype=billion_laughs(), name="&lol9;", text="&lol9;")
    refuse(encoded(xml, encoding))
    # Fully expanded this is 3 GB of "lol"; the refusal must not have built it.
    assert peak_rss_mb() - before < 256


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_quadratic_blowup_is_refused(encoding):
    big = "A" * 50_000
    doctype = f'<!DOCTYPE x [<!ENTITY a "{big}">]>'
    before = peak_rss_mb()
    xml = document(doctype=doctype, text="&a;" * 10_000)
    assert len(xml) < MAX_XML_BYTES
    refuse(encoded(xml, encoding))
    assert peak_rss_mb() - before < 256


# -- malformed and oversize ------------------------------------------------------------------

def test_malformed_xml_is_refused_with_its_line_number():
    xml = document().replace("<bpmn:startEvent id=\"start\"/>", "<bpmn:startEvent id=\"start\">")
    with pytest.raises(InvalidDefinition) as caught:
        read_bpmn(xml.encode(), "broken.bpmn")
    exc = caught.value
    assert "第 4 行" in exc.message  # the process (line 4 of `document()`) closes early
    assert exc.problems[0].file == "broken.bpmn"
    assert "第 4 行" in exc.problems[0].message


def test_truncated_file_is_a_clear_error_not_a_crash():
    data = document().encode()[:120]
    with pytest.raises(InvalidDefinition) as caught:
        read_bpmn(data, "half.bpmn")
    assert "XML 格式错误" in caught.value.message


def test_empty_file_is_refused():
    with pytest.raises(InvalidDefinition):
        read_bpmn(b"", "empty.bpmn")


def test_file_over_5_mb_is_refused_before_parsing():
    padding = "<!-- " + "x" * (MAX_XML_BYTES + 10) + " -->"
    data = document(processes=padding + '<bpmn:process id="p"><bpmn:startEvent id="s"/>'
                    '</bpmn:process>').encode()
    assert len(data) > MAX_XML_BYTES
    exc = refuse(data, "huge.bpmn")
    assert "过大" in exc.message


def test_file_just_under_the_size_limit_is_accepted():
    xml = document(text="")
    padding = "x" * (MAX_XML_BYTES - len(xml.encode()) - 200)
    data = document(text=padding).encode()
    assert len(data) <= MAX_XML_BYTES
    assert read_bpmn(data, "big.bpmn").key == "p"


def test_megabyte_attribute_is_refused_naming_the_element():
    name = "长" * (1024 * 1024 // 3)
    assert len(name) > MAX_ATTRIBUTE_CHARS
    exc = refuse(document(name=name), "attr.bpmn")
    assert exc.problems[0].element_id == "p"
    assert "name" in exc.message
    assert name[:1000] not in exc.message  # the value itself is not echoed back


# -- not a BPMN file --------------------------------------------------------------------------

def test_non_bpmn_root_is_refused():
    with pytest.raises(InvalidDefinition) as caught:
        read_bpmn(b'<?xml version="1.0"?><html><body>hi</body></html>', "page.bpmn")
    assert not isinstance(caught.value, UnsafeXML)
    assert "bpmn:definitions" in caught.value.message


def test_definitions_in_the_wrong_namespace_is_refused():
    with pytest.raises(InvalidDefinition):
        read_bpmn(b'<definitions xmlns="http://example.com/not-bpmn"><process id="p"/>'
                  b'</definitions>', "other.bpmn")


def test_file_without_executable_process_is_refused():
    with pytest.raises(InvalidDefinition) as caught:
        read_bpmn(document(processes="").encode(), "none.bpmn")
    assert "0" in caught.value.message


def test_file_whose_only_process_is_not_executable_is_refused():
    processes = '<bpmn:process id="p" isExecutable="false"><bpmn:startEvent id="s"/></bpmn:process>'
    with pytest.raises(InvalidDefinition):
        read_bpmn(document(processes=processes).encode(), "draft.bpmn")


def test_file_with_two_executable_processes_is_refused():
    processes = ('<bpmn:process id="a" isExecutable="true"><bpmn:startEvent id="s1"/>'
                 '</bpmn:process>'
                 '<bpmn:process id="b" isExecutable="true"><bpmn:startEvent id="s2"/>'
                 '</bpmn:process>')
    with pytest.raises(InvalidDefinition) as caught:
        read_bpmn(document(processes=processes).encode(), "two.bpmn")
    assert "2" in caught.value.message
    assert caught.value.problems[0].file == "two.bpmn"


def test_one_executable_process_next_to_a_non_executable_one_is_accepted():
    processes = ('<bpmn:process id="draft" isExecutable="false"><bpmn:startEvent id="s1"/>'
                 '</bpmn:process>'
                 '<bpmn:process id="real" name="正式" isExecutable="true"><bpmn:startEvent id="s2"/>'
                 '</bpmn:process>')
    bpmn = read_bpmn(document(processes=processes).encode(), "mixed.bpmn")
    assert (bpmn.key, bpmn.title) == ("real", "正式")


def test_plain_valid_document_reads_key_title_and_hash():
    import hashlib

    data = document(name="审查").encode()
    bpmn = read_bpmn(data, "ok.bpmn")
    assert (bpmn.key, bpmn.title, bpmn.name) == ("p", "审查", "ok.bpmn")
    assert bpmn.content_hash == hashlib.sha256(data).hexdigest()
