"""Tamper evidence on the auditor's desk: verify every hash chain (per-case results),
verify the database against a signed checkpoint (rewritten histories show up even when
every hash was recomputed), and download the selected cases as XES for process mining."""
from __future__ import annotations

from dataclasses import replace

from flask import Response, abort, render_template, request, stream_with_context
from flask_babel import gettext as _

from engine.audit import checkpoints, xes
from engine.errors import NotFound
from engine.hall import audit as hall_audit

from . import bp
from ..auth import current_actor
from ..runtime import runtime
from .common import auditor_required, query_from_args, search_args

MAX_CHECKPOINT_BYTES = 20 * 1024 * 1024
EXPORT_LIMIT = 100_000


@bp.get("/audit/verify")
@auditor_required
def verify_page():
    """With ?run=1 the chains of all cases (or those the search filters select) are
    verified; the page also lists the recorded checkpoints to verify against."""
    rt = runtime()
    errors: dict[str, str] = {}
    query = query_from_args(errors)
    reports = None
    if request.args.get("run") and not errors:
        reports = hall_audit.verify_chains(rt, current_actor(), query=query, limit=EXPORT_LIMIT)
    stored = hall_audit.recorded_checkpoints(rt, current_actor())
    return render_template("audit/verify.html", reports=reports, stored=stored,
                           args=search_args(), errors=errors, check=None), \
        422 if errors else 200


@bp.post("/audit/verify/checkpoint")
@auditor_required
def verify_checkpoint():
    """Verify against an uploaded checkpoint file, or a recorded one (checkpoint_id)."""
    rt, actor = runtime(), current_actor()
    problem = None
    report = checkpoint = None
    stored = hall_audit.recorded_checkpoints(rt, actor)
    try:
        checkpoint = _chosen_checkpoint(rt, actor)
        report = hall_audit.verify_checkpoint(rt, actor, checkpoint, _trusted_key())
    except ValueError as exc:
        problem = str(exc)
    except NotFound:
        problem = _("没有这个检查点")
    status = 422 if problem else 200
    return render_template("audit/verify.html", reports=None, stored=stored, args={},
                           errors={}, check=report, checkpoint=checkpoint,
                           problem=problem), status


def _chosen_checkpoint(rt, actor) -> checkpoints.Checkpoint:
    upload = request.files.get("checkpoint")
    if upload is not None and upload.filename:
        data = upload.read(MAX_CHECKPOINT_BYTES + 1)
        if len(data) > MAX_CHECKPOINT_BYTES:
            raise ValueError(_("检查点文件过大"))
        return checkpoints.Checkpoint.from_json(data)
    text = (request.form.get("checkpoint_text") or "").strip()
    if text:
        return checkpoints.Checkpoint.from_json(text)
    chosen = request.form.get("checkpoint_id", type=int)
    if chosen:
        return hall_audit.recorded_checkpoint(rt, actor, chosen)
    raise ValueError(_("请上传检查点文件，或选择一个已记录的检查点"))


def _trusted_key():
    """The public key to trust: one the auditor pasted, else this installation's own
    signing key (when it exists); None falls back to the key inside the checkpoint,
    which the report flags as proving integrity only."""
    pasted = (request.form.get("public_key") or "").strip()
    if pasted:
        return checkpoints.load_public_key(pasted)
    path = runtime().audit_key
    if path.exists():
        return checkpoints.load_or_create_key(path).public_key()
    return None


@bp.get("/audit/export.xes")
@auditor_required
def export_xes():
    """The cases the search form selects (all without filters) as an XES download."""
    rt = runtime()
    errors: dict[str, str] = {}
    query = query_from_args(errors)
    if errors:
        abort(422)
    if query.is_empty():
        selection = xes.XesFilter()
    else:
        ids = [hit.id for hit in hall_audit.search_cases(
            rt, current_actor(), replace(query, limit=EXPORT_LIMIT)).hits]
        # An empty list would mean "every case": no hit exports no trace.
        selection = xes.XesFilter(case_ids=ids or [-1])
    stamp = rt.clock.now().strftime("%Y%m%d-%H%M")
    response = Response(stream_with_context(xes.iter_xes(rt.db, selection)),
                        mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="onething-{stamp}.xes"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
