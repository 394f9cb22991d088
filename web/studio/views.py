"""Studio pages: processes and versions, the modeler, drafts, validate, form preview, deploy,
upload and download. HTTP only: what a draft is and how it becomes a version lives in
engine/drafts.py, what is deployed in engine/deployments.py, how forms look in
web/studio/preview.py (the clerk's own form code)."""
from __future__ import annotations

from flask import (Response, current_app, flash, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _

from engine.definitions import deployments
from engine.studio import log as studio_log
from engine.definitions.service import read_bpmn
from engine.errors import Conflict, InvalidDefinition, NotFound, ValidationFailed
from engine.studio.log import StudioLog

from ..auth import current_actor, roles_required
from ..errors import status_of, wants_json
from . import bp, preview
from ..i18n import N_
from ..runtime import runtime

ANALYST = "analyst"


LOG_KINDS = {studio_log.DRAFT_SAVED: N_("保存草稿"), studio_log.DRAFT_UPLOADED: N_("上传草稿"),
             studio_log.DRAFT_DISCARDED: N_("放弃草稿"),
             studio_log.DEFINITION_DEPLOYED: N_("部署新版本")}
# Pages the other studio module adds (version diff, migration, catalogue): linked when present.
RELATED = {"diff": "studio.diff", "migrate": "studio.migrations", "catalogue": "studio.catalogue"}


def related_pages() -> dict[str, str]:
    return {name: endpoint for name, endpoint in RELATED.items()
            if endpoint in current_app.view_functions}


def _index_page(status: int = 200, refusal=None):
    rt = runtime()
    with rt.db.reading() as session:
        processes = deployments.overview(session)
    drafts = {d.key: d for d in rt.drafts.of(current_actor())}
    deployed = {p.key for p in processes}
    return render_template(
        "studio/index.html", processes=processes, drafts=drafts,
        new_drafts=[d for k, d in drafts.items() if k not in deployed],
        log=StudioLog(rt.db).recent(limit=20), kinds=LOG_KINDS, refusal=refusal,
        related=related_pages()), status


@bp.get("/studio")
@roles_required(ANALYST)
def index():
    return _index_page()


@bp.get("/studio/processes/<key>/edit")
@roles_required(ANALYST)
def edit(key: str):
    """The modeler, opened on the analyst's draft, else on the latest (or a chosen) version."""
    return _edit_page(key, request.args.get("version", type=int))


def _edit_page(key: str, version: int | None = None, *, refusal=None, status: int = 200):
    rt, actor = runtime(), current_actor()
    _data, base_version, is_draft = rt.drafts.starting_point(key, actor, version)
    draft = rt.drafts.get(key, actor)
    with rt.db.reading() as session:
        latest = rt.definitions.latest(session, key)
    source = (url_for(".download_draft", key=key) if is_draft
              else url_for(".download_version", key=key, version=base_version))
    return render_template("studio/edit.html", key=key, draft=draft, is_draft=is_draft,
                           base_version=base_version, latest=latest, source=source,
                           refusal=refusal, related=related_pages()), status


@bp.get("/studio/processes/<key>/versions/<int:version>.bpmn")
@roles_required(ANALYST)
def download_version(key: str, version: int):
    """A deployed version, byte for byte as it was deployed."""
    with runtime().db.reading() as session:
        row = deployments.version(session, key, version)
        return _bpmn_file(row.bpmn_xml.encode("utf-8"),
                          _versioned_name(row.file_name, f"v{row.version}"))


@bp.get("/studio/processes/<key>/draft.bpmn")
@roles_required(ANALYST)
def download_draft(key: str):
    rt, actor = runtime(), current_actor()
    draft = rt.drafts.get(key, actor)
    if draft is None:
        raise NotFound(_("没有该流程的草稿"))
    return _bpmn_file(rt.drafts.content(key, actor), _versioned_name(draft.file_name, "draft"))


@bp.get("/studio/log/<int:entry_id>.bpmn")
@roles_required(ANALYST)
def download_logged(entry_id: int):
    """What a studio log entry recorded (a saved, uploaded or discarded draft)."""
    entry, data = StudioLog(runtime().db).content(entry_id)
    return _bpmn_file(data, f"{entry.process_key or 'process'}-{entry.id}.bpmn")


@bp.post("/studio/processes/<key>/draft")
@roles_required(ANALYST)
def save_draft(key: str):
    data = _posted_xml()
    draft = runtime().drafts.save(key, data, current_actor(),
                                  base_version=request.form.get("base_version", type=int))
    if wants_json():
        return jsonify({"saved": True, "hash": draft.content_hash, "size": draft.size,
                        "updated_at": draft.updated_at.isoformat(),
                        "message": _("草稿已保存")})
    flash(_("草稿已保存"), "success")
    return redirect(url_for(".edit", key=key))


@bp.post("/studio/processes/<key>/draft/discard")
@roles_required(ANALYST)
def discard_draft(key: str):
    runtime().drafts.discard(key, current_actor())
    flash(_("草稿已放弃；已部署的版本没有变化"), "success")
    return redirect(url_for(".index"))


@bp.post("/studio/processes/<key>/validate")
@roles_required(ANALYST)
def validate(key: str):
    """The checks of `onething deploy` on what the modeler shows now (or the saved draft)."""
    rt, actor = runtime(), current_actor()
    try:
        if request.form.get("xml"):
            found = rt.drafts.validate(_posted_xml(), f"{key}.bpmn")
        else:
            found = rt.drafts.validate_draft(key, actor)
    except InvalidDefinition as exc:  # unsafe or unreadable XML: no element to mark
        return jsonify({"ok": False, "message": exc.message,
                        "problems": [p.to_json() for p in exc.problems], "elsewhere": []})
    message = (_("校验通过：可以部署") if found.ok
               else _("发现 %(n)s 个问题", n=len(found.all)))
    return jsonify({"ok": found.ok, "message": message,
                    "problems": [p.to_json() for p in found.problems],
                    "elsewhere": [p.to_json() for p in found.elsewhere]})


@bp.post("/studio/processes/<key>/preview")
@roles_required(ANALYST)
def preview_posted(key: str):
    """The form of one element of the diagram the modeler shows now (JSON with the HTML)."""
    document = read_bpmn(_posted_xml(), f"{key}.bpmn")
    element, form = preview.preview_form(runtime(), document, request.form.get("element", ""))
    return jsonify({"element": element.id,
                    "html": render_template("studio/_preview.html", element=element, form=form)})


@bp.get("/studio/processes/<key>/draft/preview/<element_id>")
@roles_required(ANALYST)
def preview_draft(key: str, element_id: str):
    """The same preview as a page, from the saved draft (or the latest version)."""
    rt, actor = runtime(), current_actor()
    data, _version, _is_draft = rt.drafts.starting_point(key, actor)
    document = read_bpmn(data, f"{key}.bpmn")
    element, form = preview.preview_form(rt, document, element_id)
    return render_template("studio/preview.html", key=key, element=element, form=form,
                           elements=preview.form_elements(document))


@bp.post("/studio/processes/<key>/deploy")
@roles_required(ANALYST)
def deploy(key: str):
    """Deploy the saved draft as the next version; refused, with every problem, if invalid."""
    try:
        result = runtime().drafts.deploy(key, current_actor(),
                                         over_newer=request.form.get("over_newer") == "1")
    except (InvalidDefinition, Conflict) as exc:
        if wants_json():
            raise
        return _edit_page(key, refusal=exc, status=status_of(exc))
    if result.created:
        message = _("已部署为 %(name)s v%(version)s；新收件的办件使用新版本，办理中的办件不受影响",
                    name=result.name, version=result.version)
    else:
        message = _("内容与已部署的 v%(version)s 相同，没有产生新版本", version=result.version)
    flash(message, "success")  # shown on the page the modeler goes to next
    if wants_json():
        return jsonify({"created": result.created, "version": result.version,
                        "hash": result.content_hash, "message": message,
                        "redirect": url_for(".index")})
    return redirect(url_for(".index"))


@bp.post("/studio/upload")
@roles_required(ANALYST)
def upload():
    """A .bpmn file from the analyst's computer becomes their draft of its process."""
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("请选择要上传的 .bpmn 文件"), "error")
        return _index_page(422)
    try:
        draft = runtime().drafts.upload(file.read(), file.filename, current_actor())
    except (InvalidDefinition, ValidationFailed) as exc:
        return _index_page(422, refusal=exc)
    flash(_("已上传为「%(title)s」的草稿；请校验后部署", title=draft.title), "success")
    return redirect(url_for(".edit", key=draft.key))


def _posted_xml() -> bytes:
    """The diagram posted by the modeler (form field `xml`), as the UTF-8 bytes it saved."""
    text = request.form.get("xml", "")
    if not text.strip():
        raise ValidationFailed(_("没有收到流程图内容"))
    # A lone surrogate cannot be UTF-8: keep it, so the XML check refuses it with a message.
    return text.encode("utf-8", "surrogatepass")


def _versioned_name(file_name: str, suffix: str) -> str:
    stem = file_name[:-5] if file_name.endswith(".bpmn") else file_name
    return f"{stem}-{suffix}.bpmn"


def _bpmn_file(data: bytes, file_name: str) -> Response:
    response = Response(data, mimetype="application/xml")
    response.headers.set("Content-Disposition", "attachment", filename=file_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
