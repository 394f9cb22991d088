"""Materials: bytes stored content-addressed by SHA-256 outside the database, metadata
inside. The type is decided by the file's own leading bytes, not by what the client says."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from engine.worktime.clock import Clock
from engine.errors import OneThingError
from engine.cases.materials_access import cases_of, may_open
from engine.store.db import Database
from engine.store.models import Upload
from engine.cases.dto import Actor


class TooLarge(OneThingError):
    code = "too_large"


class TypeNotAllowed(OneThingError):
    code = "unsupported_media_type"


# (magic prefix, content type, allowed extensions)
_SIGNATURES = [
    (b"%PDF-", "application/pdf", {".pdf"}),
    (b"\x89PNG\r\n\x1a\n", "image/png", {".png"}),
    (b"\xff\xd8\xff", "image/jpeg", {".jpg", ".jpeg"}),
    (b"PK\x03\x04", "application/vnd.openxmlformats-officedocument", {".docx", ".xlsx", ".pptx", ".ofd"}),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword", {".doc", ".xls"}),
]


# Control characters and lone surrogates: PostgreSQL refuses NUL in text, and a surrogate
# cannot be encoded as UTF-8 — neither belongs in a file name shown to clerks.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_name(name: str | None) -> str:
    """The file name to keep: its last path part (old browsers send C:\\…\\scan.pdf), no
    control characters, at most 300 characters — the stem is shortened, so the extension that
    `sniff` checks survives."""
    name = _CONTROL_RE.sub("", Path((name or "").replace("\\", "/")).name).strip()
    if len(name) > 300:
        suffix = Path(name).suffix[:20]
        name = name[:300 - len(suffix)] + suffix
    return name if name.strip(".") else "file"


@dataclass(frozen=True)
class StoredUpload:
    id: str
    sha256: str
    size: int
    name: str
    content_type: str

    def to_json(self) -> dict:
        return {"id": self.id, "sha256": self.sha256, "size": self.size, "name": self.name,
                "content_type": self.content_type}


def sniff(head: bytes, name: str) -> str:
    """The content type of an allowed material, or TypeNotAllowed."""
    extension = Path(name).suffix.lower()
    for magic, content_type, extensions in _SIGNATURES:
        if head.startswith(magic) and extension in extensions:
            return content_type
    raise TypeNotAllowed("文件类型不允许：仅接受 PDF、图片（PNG/JPEG）和 Office/OFD 文档，"
                         "且扩展名须与内容一致")


class UploadStore:
    DEFAULT_MAX_BYTES = 20 * 1024 * 1024

    def __init__(self, db: Database, clock: Clock, folder: Path, *, max_bytes: int):
        self.db, self.clock, self.folder, self.max_bytes = db, clock, Path(folder), max_bytes

    def save(self, stream: BinaryIO, name: str, actor: str | None) -> StoredUpload:
        """Stream to a temporary file while hashing; refuse early when over the limit."""
        name = clean_name(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        digest, size, head = hashlib.sha256(), 0, b""
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(64 * 1024):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise TooLarge(f"文件过大：上限 {self.max_bytes // (1024 * 1024)} MB")
                    if len(head) < 16:
                        head += chunk[:16]
                    digest.update(chunk)
                    out.write(chunk)
            content_type = sniff(head, name)
            sha = digest.hexdigest()
            target = self.path_of(sha)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        upload = StoredUpload(str(uuid.uuid4()), sha, size, name, content_type)
        with self.db.transaction() as session:
            session.add(Upload(id=upload.id, sha256=sha, size=size, name=name,
                               content_type=content_type, created_at=self.clock.now(),
                               created_by=actor))
        return upload

    def path_of(self, sha256: str) -> Path:
        return self.folder / sha256[:2] / sha256

    def get(self, upload_id: str) -> StoredUpload | None:
        with self.db.reading() as session:
            row = session.get(Upload, upload_id)
            return StoredUpload(row.id, row.sha256, row.size, row.name, row.content_type) if row else None

    def readable(self, upload_id: str, actor: Actor) -> StoredUpload | None:
        """The upload when `actor` may open it (see engine.cases.materials_access), else None —
        the same None as for an unknown id, so a download answers 404 either way."""
        with self.db.reading() as session:
            if not may_open(session, upload_id, actor):
                return None
            row = session.get(Upload, upload_id)
            return StoredUpload(row.id, row.sha256, row.size, row.name, row.content_type)

    def cases_of(self, upload_id: str) -> list[int]:
        """The ids of the cases the upload is a material of (empty while unused)."""
        with self.db.reading() as session:
            return cases_of(session, upload_id)
