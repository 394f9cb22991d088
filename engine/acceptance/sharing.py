"""综合受理's conversation with the data-sharing platform: 零材料 (department-issued
materials pulled instead of asked for) and 核验 (what the registers say about the
organisations typed in, including the dishonesty list that closes 容缺受理)."""
from __future__ import annotations

from engine.acceptance.connectors import DataSharing, SharingUnavailable, pull_material
from engine.acceptance.rules import Application, credit_refusal
from engine.cases.uploads import UploadStore
from forms.dictionary import DICTIONARY
from forms.messages import InvalidValue


def subject_of(app: Application, values: dict, field_id: str | None) -> str | None:
    """The normalised identifier typed into `field_id` (credit code, ID number), or None."""
    raw = str(values.get(field_id) or "").strip() if field_id else ""
    field = app.form.get(field_id) if field_id else None
    if not raw or field is None:
        return None
    if field.dict is None or field.dict not in DICTIONARY:
        return raw
    try:
        return DICTIONARY[field.dict].validate(raw)
    except InvalidValue:
        return None


def pull_shared(app: Application, values: dict, sharing: DataSharing, uploads: UploadStore,
                actor: str) -> tuple[dict, dict]:
    """零材料: pull every department-issued material the platform holds into the file store,
    in place of anything posted for it (`values` is updated). Returns
    ({field: PulledMaterial}, {field: note for the clerk})."""
    pulled, notes = {}, {}
    for row in app.materials:
        if not row.shared:
            continue
        subject = subject_of(app, values, row.subject_field)
        if subject is None or row.catalogued is None:
            asked = app.form.get(row.subject_field) if row.subject_field else None
            label = asked.label if asked is not None else row.subject_field
            notes[row.field.id] = f"填写有效的「{label}」后可自动调取"
            continue
        try:
            material = pull_material(sharing, uploads, row.catalogued.material_code, subject,
                                     actor=actor)
        except SharingUnavailable as exc:
            notes[row.field.id] = f"数据共享平台暂不可用：{exc.message}"
            continue
        if material is None:
            notes[row.field.id] = "数据共享平台未查到该材料，可由申请人提供"
            continue
        pulled[row.field.id] = material
        values[row.field.id] = material.upload.id
    return pulled, notes


def deficiency_refusal(sharing: DataSharing, applicant: str) -> str | None:
    """Why 容缺受理 is not open to this applicant (dishonesty list, or no credit answer)."""
    try:
        flag = sharing.credit_flag(applicant)
    except SharingUnavailable as exc:
        return credit_refusal(False, None, exc.message)
    return credit_refusal(flag.bad, flag.reason, None)


def verify_registers(app: Application, values: dict,
                     sharing: DataSharing) -> list[tuple[str, str]]:
    """核验: what the registers say about the organisations typed in."""
    try:
        return _register_checks(app, values, sharing)
    except SharingUnavailable as exc:
        return [("warning", f"数据共享平台暂不可用：{exc.message}")]


def _register_checks(app: Application, values: dict,
                     sharing: DataSharing) -> list[tuple[str, str]]:
    checks = []
    for field in app.form.fields:
        if field.dict != "credit_code" or not (code := subject_of(app, values, field.id)):
            continue
        name_field = field.id.removesuffix("_credit_code") + "_name"
        typed = str(values.get(name_field) or "").strip()
        company = sharing.company(code)
        if company is None:
            checks.append(("warning", f"{field.label}：登记信息未查到"))
        elif typed and typed != company.name:
            checks.append(("warning", f"{field.label}：登记名称为「{company.name}」，"
                                      f"与填写的「{typed}」不一致"))
        else:
            checks.append(("ok", f"{field.label}：{company.name}（{company.status}）"))
        flag = sharing.credit_flag(code)
        if flag.bad:
            checks.append(("error", f"{typed or code} 列入失信名单：{flag.reason or ''}"
                                    "（不适用容缺受理）"))
    return checks
