"""Studio pages for the item catalogue (事项目录): list, edit an entry in a form or the whole
catalogue as JSON, validate, and save as a new version. HTTP only: validation and
versioning live in engine/catalogue_store.py."""
from __future__ import annotations

import copy
import json

from flask import (Response, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _

from engine.definitions.catalogue import CASE_TYPES, NECESSITIES, SOURCES, TYPE_CODES, UNIT_HOURS
from engine.definitions.catalogue_store import CatalogueInvalid, CatalogueStore, decode
from engine.errors import Conflict, NotFound

from ..auth import current_actor, roles_required
from . import bp
from ..runtime import runtime

ANALYST = "analyst"
MATERIAL_KEYS = ("name", "field", "material_code", "necessity", "source", "issuer",
                 "subject_field", "not_needed_when")
MAX_MATERIALS = 60


def store() -> CatalogueStore:
    return runtime().catalogues


def _saved(view) -> None:
    live = runtime().catalogue
    if hasattr(live, "refresh"):
        live.refresh()  # this worker at once; others within their check interval
    if view.created:
        flash(_("事项目录已保存为 v%(v)s", v=view.version), "success")
    else:
        flash(_("内容与 v%(v)s 相同，未产生新版本", v=view.version), "info")


def _base_version() -> int | None:
    raw = request.form.get("base_version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@bp.get("/studio/catalogue", endpoint="catalogue")
@roles_required(ANALYST)
def catalogue_index():
    version, document = store().document()
    entries = document.get("entries") if isinstance(document, dict) else []
    return render_template("studio/catalogue.html", version=version,
                           entries=[e for e in entries or [] if isinstance(e, dict)],
                           history=store().history(),
                           warnings=store().warnings(runtime().definitions))


@bp.get("/studio/catalogue/versions/<int:version>.json")
@roles_required(ANALYST)
def catalogue_version(version: int):
    view, document = store().load(version)
    body = json.dumps(document, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename=items-v{view.version}.json"})


@bp.route("/studio/catalogue/json", methods=["GET", "POST"])
@roles_required(ANALYST)
def catalogue_json():
    """The whole catalogue as JSON, validated on save."""
    version, document = store().document()
    if request.method == "GET":
        return render_template("studio/catalogue_json.html", version=version,
                               text=json.dumps(document, ensure_ascii=False, indent=2),
                               problems=[])
    text = request.form.get("content", "")
    try:
        data = decode(text)
        view = store().save(data, current_actor().username, base_version=_base_version())
    except CatalogueInvalid as invalid:
        return render_template("studio/catalogue_json.html", version=_base_version(),
                               text=text, problems=invalid.problems), 422
    except Conflict as conflict:
        return render_template("studio/catalogue_json.html", version=_base_version(),
                               text=text, problems=[conflict.message]), 409
    _saved(view)
    return redirect(url_for("studio.catalogue"))


@bp.route("/studio/catalogue/entries/<process>", methods=["GET", "POST"])
@roles_required(ANALYST)
def catalogue_entry(process: str):
    """One entry in a form: code, name, department, type, limits, case type, materials."""
    version, document = store().document()
    entries = document.get("entries") if isinstance(document, dict) else None
    index = next((i for i, e in enumerate(entries or [])
                  if isinstance(e, dict) and e.get("process") == process), None)
    if index is None:
        raise NotFound(_("事项目录中没有 %(key)s", key=process[:200]))
    if request.method == "GET":
        return _entry_page(process, version, document, entries[index], [])
    base = _base_version()
    edited = _entry_from_form(entries[index])
    if base != version:
        return _entry_page(process, base, document, edited, [
            _("事项目录已被他人保存为 v%(v)s，请在最新版本上重新修改", v=version)], 409)
    changed = copy.deepcopy(document)
    changed["entries"][index] = edited
    try:
        view = store().save(changed, current_actor().username, base_version=base)
    except CatalogueInvalid as invalid:
        return _entry_page(process, base, document, edited, invalid.problems, 422)
    except Conflict as conflict:
        return _entry_page(process, base, document, edited, [conflict.message], 409)
    _saved(view)
    return redirect(url_for("studio.catalogue"))


def _entry_page(process, version, document, entry, problems, status: int = 200):
    departments = document.get("departments") if isinstance(document, dict) else {}
    materials = [m for m in entry.get("materials") or [] if isinstance(m, dict)]
    return render_template(
        "studio/catalogue_entry.html", process=process, version=version, entry=entry,
        materials=materials, departments=list(departments or {}), problems=problems,
        types=list(TYPE_CODES), case_types=CASE_TYPES, units=list(UNIT_HOURS),
        necessities=NECESSITIES, sources=SOURCES), status


def _entry_from_form(original: dict) -> dict:
    """The entry as the form says it; keys the form does not show are kept as they were
    (the schema grows: results, supervisors …)."""
    form = request.form
    entry = copy.deepcopy(original)
    for key in ("code", "name", "department", "type", "case_type"):
        entry[key] = form.get(key, "").strip()[:500]
    entry["note"] = form.get("note", "").strip()[:2000] or None
    for key in ("statutory_limit", "promised_limit"):
        raw = form.get(f"{key}-amount", "").strip()
        amount = int(raw) if raw.isdigit() and len(raw) < 7 else raw[:20]
        entry[key] = {"amount": amount, "unit": form.get(f"{key}-unit", "")[:10]}
    materials = []
    old = [m for m in original.get("materials") or [] if isinstance(m, dict)]
    rows = form.get("material_rows", "")
    rows = int(rows) if rows.isdigit() and len(rows) < 4 else len(old) + 1
    for i in range(min(rows, MAX_MATERIALS)):
        if form.get(f"m{i}-delete"):
            continue
        values = {k: form.get(f"m{i}-{k}", "").strip()[:500] for k in MATERIAL_KEYS}
        if i >= len(old) and not any(values.values()):
            continue  # the empty row for a new material
        material = copy.deepcopy(old[i]) if i < len(old) else {}
        for key, value in values.items():
            if value:
                material[key] = value
            else:
                material.pop(key, None)
        materials.append(material)
    entry["materials"] = materials
    return entry
