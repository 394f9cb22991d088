"""综合受理's conversation with the data-sharing platform: 零材料 (department-issued
materials pulled instead of asked for) and 核验 (what the registers say about the
organisations typed in, including the dishonesty list that closes 容缺受理)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import gettext as _

from engine.acceptance.connectors import (DataSharing, SharingUnavailable, data_sharing,
    pull_material)
from forms.dictionary import DICTIONARY
from forms.messages import InvalidValue

from .auth import current_actor

if TYPE_CHECKING:
    from .counter import Application


def sharing() -> DataSharing:
    """The data-sharing platform (config DATA_SHARING / env ONETHING_DATA_SHARING)."""
    if "data_sharing" not in current_app.extensions:
        try:
            current_app.extensions["data_sharing"] = data_sharing(
                current_app.config.get("DATA_SHARING"), local_flags=current_app.extensions["onething"].credit)
        except (ImportError, AttributeError, TypeError, ValueError) as exc:
            raise SharingUnavailable(_("数据共享配置有误：%(why)s", why=str(exc))) from None
    return current_app.extensions["data_sharing"]


def subject_of(app: "Application", values: dict, field_id: str) -> str | None:
    """The normalised identifier typed into `field_id` (credit code, ID number), or None."""
    raw = str(values.get(field_id) or "").strip()
    field = app.form.get(field_id)
    if not raw or field is None:
        return None
    try:
        return DICTIONARY[field.dict].validate(raw) if field.dict in DICTIONARY else raw
    except InvalidValue:
        return None


def pull_shared(app: "Application", values: dict) -> tuple[dict, dict]:
    """零材料: pull every department-issued material the platform holds into the file store,
    in place of anything posted for it. Returns {field: PulledMaterial} and {field: note}."""
    pulled, notes = {}, {}
    for row in app.materials:
        if not row.shared:
            continue
        subject = subject_of(app, values, row.subject_field)
        if subject is None:
            label = app.form.get(row.subject_field).label if row.subject_field in app.form \
                else row.subject_field
            notes[row.field.id] = _("填写有效的「%(label)s」后可自动调取", label=label)
            continue
        try:
            material = pull_material(sharing(), current_app.extensions["onething"].uploads, row.catalogued.material_code,
                                     subject, actor=current_actor().username)
        except SharingUnavailable as exc:
            notes[row.field.id] = _("数据共享平台暂不可用：%(why)s", why=exc.message)
            continue
        if material is None:
            notes[row.field.id] = _("数据共享平台未查到该材料，可由申请人提供")
            continue
        pulled[row.field.id] = material
        values[row.field.id] = material.upload.id
    return pulled, notes


def verify_registers(app: "Application", values: dict) -> list[tuple[str, str]]:
    """核验: what the registers say about the organisations typed in."""
    try:
        return _register_checks(app, values)
    except SharingUnavailable as exc:
        return [("warning", _("数据共享平台暂不可用：%(why)s", why=exc.message))]


def _register_checks(app: "Application", values: dict) -> list[tuple[str, str]]:
    checks = []
    for field in app.form.fields:
        if field.dict != "credit_code" or not (code := subject_of(app, values, field.id)):
            continue
        name_field = field.id.removesuffix("_credit_code") + "_name"
        typed = str(values.get(name_field) or "").strip()
        company = sharing().company(code)
        if company is None:
            checks.append(("warning", _("%(label)s：登记信息未查到", label=field.label)))
        elif typed and typed != company.name:
            checks.append(("warning", _("%(label)s：登记名称为「%(name)s」，与填写的「%(typed)s」不一致",
                                        label=field.label, name=company.name, typed=typed)))
        else:
            checks.append(("ok", _("%(label)s：%(name)s（%(status)s）", label=field.label,
                                   name=company.name, status=company.status)))
        flag = sharing().credit_flag(code)
        if flag.bad:
            checks.append(("error", _("%(name)s 列入失信名单：%(reason)s（不适用容缺受理）",
                                      name=typed or code, reason=flag.reason or "")))
    return checks
