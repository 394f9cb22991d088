"""Pulling a department-issued material into the file store (零材料)."""
from __future__ import annotations

import io
from dataclasses import dataclass

from engine.cases.uploads import StoredUpload, UploadStore
from engine.acceptance.connectors.interfaces import DataSharing, SharedDocument


@dataclass(frozen=True)
class PulledMaterial:
    upload: StoredUpload
    document: SharedDocument

    def record(self) -> dict[str, str | None]:
        """What a case keeps: the stored file's id and where the material came from."""
        return {"upload": self.upload.id, "sha256": self.upload.sha256,
                **self.document.record()}


def pull_material(sharing: DataSharing, uploads: UploadStore, material_code: str,
                  subject: str, *, actor: str | None) -> PulledMaterial | None:
    """Fetch `material_code` issued to `subject` and store its PDF as an upload; None when
    the platform holds no such material. `SharingUnavailable` passes through."""
    document = sharing.fetch_material(material_code, subject)
    if document is None:
        return None
    stored = uploads.save(io.BytesIO(document.pdf), document.file_name(), actor)
    return PulledMaterial(stored, document)
