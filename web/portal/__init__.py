"""Applicant portal (/portal, no account): look up a case, follow it, supplement materials, rate.

After a successful look-up the signed session cookie names that one case; every page and
form below works on the session's case only, so no URL ever carries a case id.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import (Blueprint, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _

from engine.acceptance.deficiency import ONLINE
from engine.errors import Conflict, NotFound, OneThingError, ValidationFailed
from engine.loops.portal import PORTAL_ACTOR, TooManyAttempts
from engine.loops.ratings import BAD_SCORES, SCORES
from ..i18n import N_
from ..runtime import runtime

bp = Blueprint("portal", __name__)

# Labels the engine hands over (engine.loops.portal STEPS and item states, engine.loops.ratings SCORES,
# clock states), listed so the English catalogue has them; the templates translate them.
ENGINE_LABELS = (N_("收件"), N_("受理"), N_("审查"), N_("决定"), N_("制证"), N_("送达"),
                 N_("补正中"), N_("审查中"), N_("准予许可"), N_("不予许可"), N_("待受理"),
                 N_("非常满意"), N_("满意"), N_("基本满意"), N_("不满意"), N_("非常不满意"),
                 N_("正常"), N_("预警"), N_("逾期"))
SESSION_KEY = "portal_case"
SESSION_HOURS = 2
MAX_FILES = 10


def _case_id() -> int | None:
    """The case this browser looked up, while the look-up is fresh."""
    grant = session.get(SESSION_KEY)
    if not isinstance(grant, dict):
        return None
    try:
        at = datetime.fromisoformat(grant["at"])
        case_id = int(grant["case"])
    except (KeyError, TypeError, ValueError):
        return None
    if runtime().clock.now() - at > timedelta(hours=SESSION_HOURS):
        session.pop(SESSION_KEY, None)
        return None
    return case_id


@bp.get("/portal")
def index():
    return render_template("portal/index.html", has_case=_case_id() is not None, number="")


@bp.post("/portal/lookup")
def lookup():
    number = (request.form.get("number") or "").strip()
    digits = (request.form.get("digits") or "").strip()
    rt = runtime()
    try:
        case_id = rt.portal.lookup(number, digits, request.remote_addr or "-")
    except TooManyAttempts:
        return render_template("portal/index.html", number=number, has_case=False,
                               error=_("查询过于频繁，请 %(n)s 分钟后再试",
                                       n=rt.portal.settings.window_minutes)), 429
    if case_id is None:
        return render_template("portal/index.html", number=number, has_case=False,
                               error=_("办件编号或验证信息不正确，请核对后重试")), 422
    session[SESSION_KEY] = {"case": case_id, "at": rt.clock.now().isoformat()}
    return redirect(url_for("portal.case"))


@bp.post("/portal/leave")
def leave():
    session.pop(SESSION_KEY, None)
    return redirect(url_for("portal.index"))


@bp.get("/portal/case")
def case():
    case_id = _case_id()
    if case_id is None:
        flash(_("请先查询办件"), "error")
        return redirect(url_for("portal.index"))
    rt = runtime()
    progress = rt.portal.progress(case_id)
    deficiencies = rt.deficiencies.outstanding(case_id, PORTAL_ACTOR)
    targets = rt.ratings.targets(case_id)
    return render_template("portal/case.html", progress=progress, deficiencies=deficiencies,
                           targets=targets, ratings=rt.ratings.current(case_id),
                           invitation=rt.ratings.invitation(case_id), scores=SCORES,
                           bad_scores=BAD_SCORES)


def _uploads(files) -> list[str]:
    """Store each uploaded file; the ids of what was stored."""
    rt = runtime()
    return [rt.uploads.save(f.stream, f.filename or "", "applicant").id
            for f in files[:MAX_FILES] if f and f.filename]


@bp.post("/portal/supply")
def supply():
    """容缺后补: one outstanding material, uploaded by the applicant (网上提交)."""
    case_id = _case_id()
    if case_id is None:
        return redirect(url_for("portal.index"))
    rt = runtime()
    field = (request.form.get("field") or "")[:200]
    try:
        stored = _uploads(request.files.getlist("file"))
        if not stored:
            raise ValidationFailed(_("请选择要上传的文件"), {"file": _("必填")})
        rt.deficiencies.supply(case_id, field, stored[0], PORTAL_ACTOR, source=ONLINE)
    except OneThingError as exc:
        flash(exc.message, "error")
    else:
        flash(_("材料已提交，窗口工作人员将尽快核验"), "success")
    return redirect(url_for("portal.case") + "#materials")


@bp.post("/portal/submit")
def submit():
    """补正 / 补齐: what the applicant sends for an open request of the case."""
    case_id = _case_id()
    if case_id is None:
        return redirect(url_for("portal.index"))
    try:
        stored = _uploads(request.files.getlist("files"))
        runtime().portal.submit(case_id, request.form.get("task_id") or "",
                                request.form.get("note"), stored)
    except OneThingError as exc:
        flash(exc.message, "error")
    else:
        flash(_("补正材料已提交，综合受理窗口将尽快核验"), "success")
    return redirect(url_for("portal.case") + "#requests")


@bp.post("/portal/rate")
def rate():
    case_id = _case_id()
    if case_id is None:
        return redirect(url_for("portal.index"))
    raw = (request.form.get("score") or "").strip()
    score = int(raw) if raw.isdigit() and len(raw) == 1 else None
    try:
        rating = runtime().ratings.rate(case_id, request.form.get("scope") or "", score,
                                        request.form.get("comment"))
    except (ValidationFailed, Conflict, NotFound) as exc:
        flash(exc.message, "error")
    else:
        flash(_("感谢您的评价") + (_("：我们将回访核实并反馈整改情况") if rating.bad else ""),
              "success")
    return redirect(url_for("portal.case") + "#rating")


@bp.app_template_global()
def portal_submissions(task_id: str) -> list[dict]:
    """What applicants sent through the portal for a clerk's task (补正/补齐)."""
    return runtime().portal.submissions(task_id)
