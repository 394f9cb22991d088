"""POST /api/v1/uploads: materials stored by content, refused by size and by real type.

The runtime fixture sets the upload limit to 1 MiB. Every response is checked as in
test_api.py: JSON, no 500, no traceback, contract error shape, status documented.
"""
from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from engine.cases.uploads import clean_name
from web import create_app
from tests.web.apicheck import check_response
from web.api.openapi import openapi_document

API = "/api/v1"
LIMIT = 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def png_bytes() -> bytes:
    """A real 1×1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


PNG = png_bytes()
JPEG = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\x00" * 64 + b"\xff\xd9")
DOCX = b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64


class Uploader:
    def __init__(self, app, token: str | None):
        self.app, self.client, self.token = app, app.test_client(), token
        self.document = openapi_document()

    def post(self, data: dict[str, Any] | bytes | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.client.post(f"{API}/uploads", data=data, headers=headers, **kwargs)
        check_response(self.app, response, self.document)
        return response

    def file(self, content: bytes, name: str, **kwargs):
        return self.post({"file": (io.BytesIO(content), name)},
                         content_type="multipart/form-data", **kwargs)


@pytest.fixture
def token(runtime) -> str:
    runtime.users.create("fd", "fd-pw", roles=["frontdesk"], groups=["综合受理窗口"])
    return runtime.users.issue_token("fd")


@pytest.fixture
def upload(app, token) -> Uploader:
    return Uploader(app, token)


@pytest.fixture
def folder(runtime) -> Path:
    return Path(runtime.instance)


def stored_files(instance: Path) -> list[Path]:
    return sorted(p for p in instance.rglob("*") if p.is_file() and p.name != "secret_key")


def stored_file(instance: Path, sha256: str) -> Path:
    matches = [p for p in stored_files(instance) if p.name == sha256]
    assert len(matches) == 1, matches
    return matches[0]


@pytest.mark.parametrize("content, name, content_type", [
    (PDF, "施工许可申请表.pdf", "application/pdf"),
    (PNG, "现场照片.png", "image/png"),
    (JPEG, "photo.JPG", "image/jpeg"),
    (DOCX, "合同.docx", "application/vnd.openxmlformats-officedocument"),
])
def test_a_valid_material_is_stored_by_its_sha256(upload, folder, runtime, content, name,
                                                  content_type):
    response = upload.file(content, name)
    assert response.status_code == 201
    body = response.get_json()
    assert UUID.match(body["id"])
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["size"] == len(content)
    assert body["name"] == name
    assert body["content_type"] == content_type
    path = stored_file(folder, body["sha256"])
    assert path.read_bytes() == content
    assert str(path).startswith(str(folder))
    assert runtime.uploads.get(body["id"]).sha256 == body["sha256"]


def test_the_same_bytes_twice_give_two_ids_and_one_file(upload, folder):
    first = upload.file(PDF, "a.pdf").get_json()
    second = upload.file(PDF, "b.pdf").get_json()
    assert first["id"] != second["id"]
    assert first["sha256"] == second["sha256"]
    assert (first["name"], second["name"]) == ("a.pdf", "b.pdf")
    assert [p.name for p in stored_files(folder)] == [first["sha256"]]


def test_exactly_the_limit_is_accepted_one_byte_more_is_413(upload, folder):
    at_limit = PDF + b"0" * (LIMIT - len(PDF))
    response = upload.file(at_limit, "max.pdf")
    assert response.status_code == 201 and response.get_json()["size"] == LIMIT
    before = stored_files(folder)
    response = upload.file(at_limit + b"0", "over.pdf")
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large"
    assert "MB" in response.get_json()["message"]
    assert stored_files(folder) == before  # no partial or temporary file left behind


def test_much_too_large_is_413_without_reading_it_all(upload, folder):
    response = upload.file(PDF + b"0" * (5 * LIMIT), "huge.pdf")
    assert response.status_code == 413
    assert stored_files(folder) == []


@pytest.mark.parametrize("content, name", [
    pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 100, "setup.exe", id="exe"),
    pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 100, "setup.pdf",
                 id="exe-named-pdf"),
    pytest.param(PDF, "scan.png", id="pdf-named-png"),
    pytest.param(PNG, "photo.pdf", id="png-named-pdf"),
    pytest.param(b"<!DOCTYPE html><html><script>alert(1)</script></html>", "page.html",
                 id="html"),
    pytest.param(b"<html><body>x</body></html>", "page.pdf", id="html-named-pdf"),
    pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "a.svg",
                 id="svg"),
    pytest.param(b"#!/bin/sh\nrm -rf /\n", "run.sh", id="script"),
    pytest.param(PDF, "no-extension", id="no-extension"),
    pytest.param(PDF, "a.pdf.exe", id="double-extension"),
    pytest.param(b"", "empty.pdf", id="empty"),
    pytest.param(b"%PD", "short.pdf", id="truncated-magic"),
    pytest.param(DOCX, "archive.zip", id="zip"),
])
def test_types_that_are_not_allowed_are_415(upload, folder, content, name):
    response = upload.file(content, name)
    assert response.status_code == 415
    assert response.get_json()["error"] == "unsupported_media_type"
    assert stored_files(folder) == []


def test_the_client_declared_type_is_ignored(upload):
    response = upload.post({"file": (io.BytesIO(b"<html></html>"), "x.pdf", "application/pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 415
    response = upload.post({"file": (io.BytesIO(PDF), "x.pdf", "text/html")},
                           content_type="multipart/form-data")
    assert response.status_code == 201
    assert response.get_json()["content_type"] == "application/pdf"


@pytest.mark.parametrize("data, content_type", [
    pytest.param(lambda: {}, "multipart/form-data", id="no-fields"),
    pytest.param(lambda: {"document": (io.BytesIO(PDF), "a.pdf")}, "multipart/form-data",
                 id="wrong-field-name"),
    pytest.param(lambda: {"file": "not a file"}, "multipart/form-data", id="file-as-text-field"),
    pytest.param(lambda: b"garbage", "multipart/form-data", id="no-boundary"),
    pytest.param(lambda: b"garbage", "multipart/form-data; boundary=xyz", id="broken-multipart"),
    pytest.param(lambda: PDF, "application/pdf", id="raw-body"),
    pytest.param(lambda: b'{"file": "x"}', "application/json", id="json"),
])
def test_a_missing_file_field_is_422(upload, folder, data, content_type):
    response = upload.post(data(), content_type=content_type)
    assert response.status_code == 422
    assert "file" in response.get_json()["fields"]
    assert stored_files(folder) == []


@pytest.mark.parametrize("name, stored_as", [
    ("../../../../etc/passwd.pdf", "passwd.pdf"),
    ("/absolute/path/scan.pdf", "scan.pdf"),
    ("a\x00b.pdf", "ab.pdf"),
    ("tab\tand\x7f\x1b.pdf", "taband.pdf"),
    ("\u202eevil.pdf", "\u202eevil.pdf"),
    ("  spaced.pdf  ", "spaced.pdf"),
    ("长" * 400 + ".pdf", "长" * 296 + ".pdf"),
])
def test_hostile_file_names_are_stored_harmlessly(upload, folder, runtime, name, stored_as):
    response = upload.file(PDF, name)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["name"] == stored_as
    assert runtime.uploads.get(body["id"]).name == stored_as
    # whatever the name, the bytes live only under the instance folder, by hash
    assert stored_files(folder) == [folder / "uploads" / body["sha256"][:2] / body["sha256"]]


@pytest.mark.parametrize("name", ["", "..", ".", "/", "\x00"])
def test_a_file_without_a_usable_name_has_no_extension_to_agree_with(upload, folder, name):
    response = upload.file(PDF, name)
    assert response.status_code in (415, 422)
    assert stored_files(folder) == []


@pytest.mark.parametrize("name, kept", [
    # (a multipart header cannot carry these through the test client unchanged)
    ("..\\..\\windows\\win.pdf", "win.pdf"),
    ("C:\\Users\\王受理\\Desktop\\扫描件.pdf", "扫描件.pdf"),
    ("line\nbreak\r.pdf", "linebreak.pdf"),
    ("\ud800.pdf", ".pdf"),
    ("..", "file"), (None, "file"), ("长" * 400 + ".docx", "长" * 295 + ".docx"),
])
def test_file_names_are_cleaned_before_storing(name, kept):
    assert clean_name(name) == kept


def test_uploads_need_a_token(app, folder):
    for token in (None, "wrong"):
        response = Uploader(app, token).file(PDF, "a.pdf")
        assert response.status_code == 401
    assert stored_files(folder) == []


def test_a_request_over_max_content_length_is_413_json(runtime, token, folder):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "MAX_CONTENT_LENGTH": 64 * 1024},
                     runtime=runtime)
    upload = Uploader(app, token)
    response = upload.file(PDF + b"0" * (128 * 1024), "a.pdf")
    assert response.status_code == 413
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "request_entity_too_large"
    assert stored_files(folder) == []
    # the default app: a body over 25 MiB is refused by the request limit, as JSON
    default = Uploader(create_app({"TESTING": True, "SECRET_KEY": "test"}, runtime=runtime),
                       token)
    response = default.file(PDF + b"0" * (26 * LIMIT), "b.pdf")
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"


def test_wrong_method_on_uploads_is_405_json(upload):
    response = upload.client.get(f"{API}/uploads",
                                 headers={"Authorization": f"Bearer {upload.token}"})
    check_response(upload.app, response, upload.document)
    assert response.status_code == 405
