"""What the hall asks of the government data-sharing platform (数据共享交换平台).

The counter looks up who an applicant is and pulls department-issued materials instead of
asking the applicant for them (零材料). Any implementation — the local fake registry, or an
adapter to a real provincial platform — provides `DataSharing`. Lookups return None when the
platform holds no such record; `SharingUnavailable` means the platform could not be asked.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from engine.errors import OneThingError

SHARED = "数据共享"  # how a pulled material is labelled wherever its source is shown


class SharingUnavailable(OneThingError):
    """The data-sharing platform did not answer (network, maintenance, refused)."""

    code = "data_sharing_unavailable"


@dataclass(frozen=True)
class Company:
    """A market subject or public body as its registration authority records it."""

    credit_code: str
    name: str
    kind: str
    legal_person: str
    address: str
    status: str  # 存续 / 注销 / 吊销 …
    registered_on: dt.date | None = None
    authority: str | None = None


@dataclass(frozen=True)
class BusinessLicence:
    """营业执照 (electronic licence) of a company registered by 市场监督管理局."""

    credit_code: str
    name: str
    kind: str
    legal_person: str
    registered_capital: str
    established_on: dt.date
    valid_until: dt.date | None  # None: 长期
    address: str
    scope: str
    authority: str


@dataclass(frozen=True)
class IdCard:
    """居民身份证 as the public-security population register holds it."""

    id_number: str
    name: str
    sex: str
    birth_date: dt.date
    address: str
    authority: str
    valid_until: dt.date | None  # None: 长期


@dataclass(frozen=True)
class CreditFlag:
    """Whether a subject is on a dishonesty list (失信主体名单): excluded from 容缺受理."""

    subject: str
    bad: bool
    reason: str | None = None
    authority: str | None = None
    listed_on: dt.date | None = None


@dataclass(frozen=True)
class SharedDocument:
    """A department-issued material pulled by data sharing, with a PDF rendering of it."""

    material_code: str
    name: str
    department: str
    number: str
    subject: str
    holder: str
    issued_on: dt.date | None
    valid_until: dt.date | None  # None: 长期有效
    pdf: bytes = field(repr=False)
    source: str = SHARED

    def file_name(self) -> str:
        return f"{self.name}（{self.department}·{self.source}）.pdf"

    def record(self) -> dict[str, str | None]:
        """What a case keeps about the material besides the file (JSON-safe)."""
        return {"material_code": self.material_code, "name": self.name,
                "department": self.department, "number": self.number, "subject": self.subject,
                "holder": self.holder, "source": self.source,
                "issued_on": self.issued_on.isoformat() if self.issued_on else None,
                "valid_until": self.valid_until.isoformat() if self.valid_until else None}


@runtime_checkable
class DataSharing(Protocol):
    """The data-sharing platform as the counter uses it."""

    def company(self, credit_code: str) -> Company | None:
        """The registered subject with this 统一社会信用代码."""

    def business_licence(self, credit_code: str) -> BusinessLicence | None:
        """The electronic business licence of a company (None for public bodies)."""

    def id_card(self, id_number: str) -> IdCard | None:
        """The resident ID card with this number."""

    def credit_flag(self, subject: str) -> CreditFlag:
        """Dishonesty-list status of a credit code or an ID number (never None)."""

    def fetch_material(self, material_code: str, subject: str) -> SharedDocument | None:
        """The material `material_code` (a diagram's `<item_key>-NN`) issued to `subject`
        (credit code or ID number), with its PDF; None when none was issued."""
