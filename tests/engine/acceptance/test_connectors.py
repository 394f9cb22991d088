"""The data-sharing connector: the fake registry answers like a platform would, materials
come with a real PDF, pulled materials land in the file store, and the implementation is
chosen by configuration."""
from __future__ import annotations

import json
import re
import sys
import types

import pytest

from engine.definitions import catalogue
from engine.acceptance.connectors import (SHARED, DataSharing, FakeRegistry, SharingUnavailable,
    data_sharing, pull_material)
from engine.acceptance.connectors.pdf import one_page
from demo import CONSTRUCTION_APPLICATION

BAD_CREDIT = "91371500MA3N6UXW4Q"
ROLES = ("builder", "contractor", "designer", "surveyor")


@pytest.fixture(scope="module")
def registry() -> FakeRegistry:
    return FakeRegistry.from_file()


def test_the_fake_registry_is_a_data_sharing_platform(registry):
    assert isinstance(registry, DataSharing)
    assert isinstance(data_sharing(), FakeRegistry)
    assert isinstance(data_sharing("fake"), FakeRegistry)


@pytest.mark.parametrize("role", ROLES)
def test_it_knows_the_demo_companies(registry, role):
    code = CONSTRUCTION_APPLICATION[f"{role}_credit_code"]
    company = registry.company(code)
    assert company is not None
    assert company.name == CONSTRUCTION_APPLICATION[f"{role}_name"]
    assert company.credit_code == code and company.status == "存续"


def test_lookups_normalise_identifiers_and_say_none_for_unknown_ones(registry):
    assert registry.company(" 91110000802100433b ").name == "山东鲁建建设集团有限公司"
    assert registry.company("９１１１００００８０２１００４３３Ｂ") is not None  # typed full-width
    assert registry.company("91350100M000100Y44") is None
    assert registry.id_card("11010519491231002x").name == "马强"
    assert registry.id_card("110105194912310021") is None


def test_business_licences_exist_for_registered_companies_only(registry):
    licence = registry.business_licence("91110000802100433B")
    assert licence.name == "山东鲁建建设集团有限公司" and licence.valid_until is None
    assert "施工总承包" in licence.scope
    assert registry.business_licence(CONSTRUCTION_APPLICATION["builder_credit_code"]) is None


def test_id_card(registry):
    card = registry.id_card("11010519491231002X")
    assert card.birth_date.isoformat() == "1949-12-31" and card.sex == "女"
    assert card.valid_until is None  # 长期


def test_one_company_is_flagged_for_bad_credit(registry):
    flag = registry.credit_flag(BAD_CREDIT)
    assert flag.bad and "失信" in flag.reason and flag.listed_on is not None
    assert not registry.credit_flag(CONSTRUCTION_APPLICATION["builder_credit_code"]).bad
    assert not registry.credit_flag("11010519491231002X").bad
    assert not registry.credit_flag("whatever").bad


def test_a_material_comes_with_its_record_and_a_pdf(registry):
    document = registry.fetch_material("construction_permit-03",
                                       CONSTRUCTION_APPLICATION["builder_credit_code"])
    assert document.name == "建设工程规划许可证"
    assert document.department == "聊城市自然资源和规划局"
    assert document.number == CONSTRUCTION_APPLICATION["planning_permit_no"]
    assert document.holder == CONSTRUCTION_APPLICATION["builder_name"]
    assert document.valid_until is None and document.source == SHARED
    assert document.file_name().endswith("数据共享）.pdf")
    record = document.record()
    assert record["issued_on"] == "2026-08-12" and record["valid_until"] is None
    json.dumps(record)  # storable in case data
    assert_valid_pdf(document.pdf)
    # The document's data is in the file (UCS-2 hex in the content stream).
    assert "".join(f"{ord(c):04X}" for c in document.number).encode() in document.pdf
    again = registry.fetch_material("construction_permit-03",
                                    CONSTRUCTION_APPLICATION["builder_credit_code"])
    assert again.pdf == document.pdf  # deterministic: one file in the store


def test_no_material_for_an_unknown_subject_or_code(registry):
    assert registry.fetch_material("construction_permit-03", "91110000802100433B") is None
    builder = CONSTRUCTION_APPLICATION["builder_credit_code"]
    assert registry.fetch_material("nope-01", builder) is None


def test_every_department_issued_material_of_the_demo_application_can_be_pulled(registry):
    cat = catalogue.load()
    shared = [m for m in cat.materials_of("onething_construction_permit") if m.shared]
    assert len(shared) == 5
    for material in shared:
        subject = CONSTRUCTION_APPLICATION[material.subject_field]
        document = registry.fetch_material(material.material_code, subject)
        assert document is not None, material.material_code
        assert document.name == material.name


def assert_valid_pdf(data: bytes) -> None:
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    start = int(re.search(rb"startxref\n(\d+)\n", data).group(1))
    assert data[start:start + 4] == b"xref"
    offsets = [int(o) for o in re.findall(rb"(\d{10}) 00000 n ", data)]
    for number, offset in enumerate(offsets, start=1):
        assert data[offset:].startswith(b"%d 0 obj" % number)
    length = int(re.search(rb"/Length (\d+)", data).group(1))
    stream = data.index(b"stream\n") + len(b"stream\n")
    assert data[stream + length:].startswith(b"\nendstream")


def test_the_pdf_writer_handles_any_text():
    data = one_page("标题 Title", ["第一行：ABC-123", "", "𠀀 outside the BMP", "(括号) \\ 反斜杠"],
                    footer="页脚")
    assert_valid_pdf(data)


# --- choosing an implementation -----------------------------------------------------------

def test_the_fake_reads_another_file_when_told(tmp_path):
    path = tmp_path / "registry.json"
    path.write_text(json.dumps({"companies": {"91110000802100433B": {
        "name": "别的公司", "kind": "有限责任公司", "legal_person": "某人", "address": "某地",
        "status": "注销"}}}), encoding="utf-8")
    sharing = data_sharing(f"fake:{path}")
    assert sharing.company("91110000802100433B").status == "注销"
    with pytest.raises(SharingUnavailable, match="无法读取"):
        data_sharing(f"fake:{tmp_path / 'missing.json'}")


class _Platform:
    """A stand-in for a real platform adapter."""

    def company(self, credit_code):
        return None

    def business_licence(self, credit_code):
        return None

    def id_card(self, id_number):
        return None

    def credit_flag(self, subject):
        raise SharingUnavailable("信用平台维护中")

    def fetch_material(self, material_code, subject):
        return None


def test_a_real_platform_is_plugged_in_by_module_and_name(monkeypatch):
    module = types.ModuleType("city_sharing")
    module.Platform = _Platform
    module.Half = type("Half", (), {"company": lambda self, code: None})
    monkeypatch.setitem(sys.modules, "city_sharing", module)
    assert isinstance(data_sharing("city_sharing:Platform"), _Platform)
    with pytest.raises(TypeError, match="DataSharing"):
        data_sharing("city_sharing:Half")
    with pytest.raises(ValueError, match="无效"):
        data_sharing("city_sharing")


def test_pulling_a_material_stores_its_pdf_as_an_upload(runtime, registry):
    pulled = pull_material(registry, runtime.uploads, "safety_supervision-02",
                           "91110000802100433B", actor="fd")
    stored = runtime.uploads.get(pulled.upload.id)
    assert stored.content_type == "application/pdf"
    assert stored.name == "施工企业安全生产许可证（山东省住房和城乡建设厅·数据共享）.pdf"
    assert runtime.uploads.path_of(stored.sha256).read_bytes() == pulled.document.pdf
    record = pulled.record()
    assert record["upload"] == stored.id and record["source"] == SHARED
    assert record["valid_until"] == "2027-03-15"
    assert pull_material(registry, runtime.uploads, "safety_supervision-02", BAD_CREDIT,
                         actor="fd") is None
