"""A local stand-in for the data-sharing platform, read from a JSON file.

Development, demos and tests use it; it holds the demo companies of demo/, a few
resident ID cards, one company on the dishonesty list and the department-issued materials
of the construction-permit items. It answers like a real platform would: None for what it
does not hold, a generated PDF for each material it does.
"""
from __future__ import annotations

import datetime as dt
import json
import unicodedata
from pathlib import Path
from typing import Any, Mapping

from engine.acceptance.connectors import pdf
from engine.acceptance.connectors.interfaces import (BusinessLicence, Company, CreditFlag, IdCard,
    SharedDocument, SharingUnavailable)

DEFAULT_REGISTRY = Path(__file__).resolve().parent / "fake_registry.json"


def _key(value: str) -> str:
    """Identifiers as registers store them: ASCII (full-width typed with an IME), upper-case."""
    return "".join(unicodedata.normalize("NFKC", value or "").split()).upper()


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


class FakeRegistry:
    """`DataSharing` over a JSON file (default: fake_registry.json beside this module)."""

    name = "本地模拟数据共享平台"

    def __init__(self, data: Mapping[str, Any]):
        self._companies = {_key(k): v for k, v in (data.get("companies") or {}).items()}
        self._id_cards = {_key(k): v for k, v in (data.get("id_cards") or {}).items()}
        self._flags = {_key(k): v for k, v in (data.get("credit_flags") or {}).items()}
        self._materials = dict(data.get("materials") or {})
        self._documents = {(d["material_code"], _key(d["subject"])): d
                           for d in data.get("documents") or ()}

    @classmethod
    def from_file(cls, path: str | Path | None = None) -> FakeRegistry:
        path = Path(path or DEFAULT_REGISTRY)
        try:
            return cls(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise SharingUnavailable(f"模拟数据共享平台数据文件 {path.name} 无法读取：{exc}") from None

    def company(self, credit_code: str) -> Company | None:
        code = _key(credit_code)
        row = self._companies.get(code)
        if row is None:
            return None
        return Company(code, row["name"], row["kind"], row["legal_person"], row["address"],
                       row["status"], _date(row.get("registered_on")), row.get("authority"))

    def business_licence(self, credit_code: str) -> BusinessLicence | None:
        code = _key(credit_code)
        row = self._companies.get(code)
        if row is None or not row.get("licence"):
            return None
        licence = row["licence"]
        return BusinessLicence(code, row["name"], row["kind"], row["legal_person"],
                               licence["registered_capital"], _date(row["registered_on"]),
                               _date(licence.get("valid_until")), row["address"],
                               licence["scope"], row["authority"])

    def id_card(self, id_number: str) -> IdCard | None:
        number = _key(id_number)
        row = self._id_cards.get(number)
        if row is None:
            return None
        return IdCard(number, row["name"], row["sex"], _date(row["birth_date"]), row["address"],
                      row["authority"], _date(row.get("valid_until")))

    def credit_flag(self, subject: str) -> CreditFlag:
        key = _key(subject)
        row = self._flags.get(key)
        if row is None:
            return CreditFlag(key, False)
        return CreditFlag(key, True, row["reason"], row.get("authority"),
                          _date(row.get("listed_on")))

    def fetch_material(self, material_code: str, subject: str) -> SharedDocument | None:
        key = _key(subject)
        row = self._documents.get((material_code, key))
        kind = self._materials.get(material_code)
        if row is None or kind is None:
            return None
        holder = self._holder(key)
        issued, valid = _date(row.get("issued_on")), _date(row.get("valid_until"))
        lines = [f"证照编号：{row['number']}", f"持证主体：{holder}", f"主体代码：{key}",
                 f"核发部门：{kind['department']}",
                 f"核发日期：{issued.isoformat() if issued else '—'}",
                 f"有效期至：{valid.isoformat() if valid else '长期'}"]
        lines += [f"{label}：{value}" for label, value in (row.get("details") or {}).items()]
        content = pdf.one_page(kind["name"], lines,
                               footer=f"本件经{self.name}调取（材料编码 {material_code}），与原件一致。")
        return SharedDocument(material_code, kind["name"], kind["department"], row["number"], key,
                              holder, issued, valid, content)

    def _holder(self, key: str) -> str:
        if key in self._companies:
            return self._companies[key]["name"]
        if key in self._id_cards:
            return self._id_cards[key]["name"]
        return key
