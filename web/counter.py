"""综合受理 — the general front desk (一窗受理), its pages.

The clerk picks a one-thing or item from the catalogue, fills the one merged application
form (一表申请) with the applicant, records an agent when someone files on the applicant's
behalf (帮办代办), checks the materials — department-issued ones are pulled by data sharing,
never asked from the applicant (零材料) — and then either accepts (受理) or gives ONE notice
of everything missing (一次性告知). The rules and the one transaction that starts the case
with its decision are the service's (`engine.hall.counter.Counter`); these views read the
form, call it, and render or redirect. There is no refuse button: the window has no veto.
"""
from __future__ import annotations

from dataclasses import replace

from flask import (Blueprint, abort, flash, jsonify, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _

from engine.acceptance import rules
from engine.acceptance.rules import ACCEPT, AGENT_IDS, DEFERRABLE, NOTIFY, Application, Decision
from engine.cases import policy
from engine.cases.eventlog import application_of
from engine.cases.uploads import TooLarge, TypeNotAllowed
from engine.definitions.catalogue import Catalogue
from engine.errors import NotAllowed, NotFound
from engine.hall.counter import DEFICIENCY_NOTICE, NOTICE, ApplicationRefused, Counter, Filing
from forms.model import Form

from . import counter_documents as documents
from . import formpost
from .auth import current_actor, roles_required
from .counter_sharing import LazySharing
from .i18n import N_
from .runtime import runtime

bp = Blueprint("counter", __name__)

FETCH = "fetch"
PAGE_FIELDS = rules.DECISION_FIELDS  # the clerk's own inputs on the page
# The service says its refusals in Chinese; the page shows them in the page's language.
TRANSLATED = (N_("必要材料未提交，不能受理：请补齐，或出具一次性告知书"),
              N_("容缺受理须申请人签署容缺受理承诺书：请确认已签署，或补齐材料后受理"),
              N_("请填写签署承诺书的申请人（或代办人）姓名"), N_("姓名不能超过 50 个字"),
              N_("一次性告知须列明需要补正的全部材料或内容"),
              N_("代办人姓名"), N_("代办人居民身份证号码"), N_("代办人手机号码"),
              N_("授权委托书"), N_("帮办代办"), N_("申请人签章的授权委托书扫描件"))


# -- collaborators -------------------------------------------------------------------------

def catalogue() -> Catalogue:
    """The runtime's item catalogue (config CATALOGUE / env ONETHING_CATALOGUE)."""
    return runtime().catalogue


def counter() -> Counter:
    """The front desk's service, with this app's data-sharing platform."""
    return Counter(runtime(), LazySharing())


def agent_form(*, required: bool = False) -> Form:
    """帮办代办 as the page shows it (labels in the page's language)."""
    return Form(tuple(replace(f, label=_(f.label), section=_(f.section) if f.section else None,
                              help=_(f.help) if f.help else None)
                      for f in rules.agent_form(required=required).fields))


# -- pages ---------------------------------------------------------------------------------

@bp.get("/counter")
@roles_required("frontdesk", refusal=policy.NOT_A_STARTER)
def index():
    onethings, items = counter().errands(current_actor())
    return render_template("counter/index.html", onethings=onethings, items=items,
                           region=catalogue().region)


@bp.get("/counter/<key>")
@roles_required("frontdesk", refusal=policy.NOT_A_STARTER)
def apply(key: str):
    """The application page; `?from_case=<id>` pre-fills it with that case's application
    (renewal: only fields of the current form, validated on submit as usual)."""
    desk = counter()
    app = desk.application(key, current_actor())
    defaults = {f.id: _shown(f.default) for f in app.form.fields if f.default is not None}
    if request.args.get("from_case"):
        defaults.update(_previous_application(app, request.args["from_case"]))
    missing = desk.notice_list(app, defaults, skip_shared=True)
    return _page(app, values=defaults, extra={"missing_materials": missing,
                                              "missing_auto": missing})


def _previous_application(app: Application, case_ref: str) -> dict[str, str]:
    """The scalar values an earlier case was started with, for the fields this form has."""
    try:
        events = runtime().cases.events(int(case_ref), current_actor())
    except (ValueError, OverflowError, NotFound, NotAllowed):
        flash(_("未找到办件 %(ref)s，无法带出原申请信息", ref=str(case_ref)[:40]), "error")
        return {}
    old = application_of(events)
    return {f.id: _shown(old[f.id]) for f in app.form.fields
            if f.type != "file" and old.get(f.id) not in (None, "")}


@bp.post("/counter/<key>")
@roles_required("frontdesk", refusal=policy.NOT_A_STARTER)
def submit(key: str):
    desk, actor = counter(), current_actor()
    app = desk.application(key, current_actor())
    action = request.form.get("action")
    if action not in (ACCEPT, NOTIFY, FETCH) or (action == NOTIFY and not app.can_notify):
        abort(400)
    values, errors = _collect(app)
    extra = {k: request.form.get(k, "").strip() if k == "deficiency_signer"
             else request.form.get(k, "") for k in (*PAGE_FIELDS, "missing_auto")}
    decision = Decision(**{k: extra[k] for k in (*PAGE_FIELDS, "missing_auto")})
    if action == FETCH:
        seen = desk.preview(app, values, actor)
        return _page(app, values=seen.values, errors=errors,
                     extra=_refresh_missing(desk, app, seen.values, decision, extra),
                     pulled=seen.pulled, notes=seen.notes,
                     checks=seen.checks,
                     status=422 if errors else 200)
    from .i18n import select_locale

    try:
        filed = desk.file(Filing(key, action, values, decision, select_locale(), errors), actor)
    except ApplicationRefused as refused:
        errors = {k: _(v) if v in TRANSLATED else v for k, v in refused.fields.items()}
        return _page(app, values=refused.values, errors=errors,
                     extra=_refresh_missing(desk, app, refused.values, decision, extra),
                     pulled=refused.pulled, notes=refused.notes, status=422)
    if filed.notice == NOTICE:
        flash(_("已出具一次性告知书：%(number)s", number=filed.number), "success")
        return redirect(url_for("counter.notice", case_id=filed.case_id))
    if filed.notice == DEFICIENCY_NOTICE:
        flash(_("已容缺受理：%(number)s，请打印容缺受理通知书交申请人", number=filed.number),
              "success")
        return redirect(url_for("counter.deficiency_notice", case_id=filed.case_id))
    flash(_("已受理：%(number)s", number=filed.number), "success")
    return redirect(url_for("counter.receipt", case_id=filed.case_id))


def _shown(value) -> str:
    """A typed default as an input shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _page(app: Application, *, values, errors=None, extra=None, pulled=None, notes=None,
          checks=None, status: int = 200):
    desk = counter()
    return render_template(
        "counter/apply.html", app=app, values=values, errors=errors or {}, extra=extra or {},
        hidden=sorted(set(app.form.ids) - desk.visible_ids(app, values)),
        deciding=desk.deciding_fields(app),
        deferrable=any(r.necessity == DEFERRABLE for r in app.materials),
        agent=agent_form(), pulled=pulled or {}, notes=notes or {}, checks=checks or [],
        field_ids=set(app.form.ids) | set(AGENT_IDS) | set(PAGE_FIELDS)), status


# -- reading what was posted ---------------------------------------------------------------

def _collect(app: Application) -> tuple[dict, dict]:
    """The posted values of the application and agent fields (uploads stored), and the
    per-field errors of uploads that were refused."""
    rt, actor = runtime(), current_actor()
    agent = rules.agent_form()
    scalar = Form(tuple(f for f in (*app.form.fields, *agent.fields) if f.type != "file"))
    posted = formpost.submitted_values(request, scalar, rt, actor.username)
    values = {k: v for k, v in posted.items() if k in scalar}
    errors: dict[str, str] = {}
    for field in (*app.form.fields, *agent.fields):
        if field.type != "file":
            continue
        upload = request.files.get(field.id)
        kept = request.form.get(field.id + formpost.KEEP_SUFFIX, "")
        if upload is not None and upload.filename:
            try:
                values[field.id] = rt.uploads.save(upload.stream, upload.filename,
                                                   actor.username).id
            except (TooLarge, TypeNotAllowed) as exc:
                errors[field.id] = exc.message
        elif kept and len(kept) <= 36 and rt.uploads.get(kept) is not None:
            values[field.id] = kept
    return values, errors


@bp.post("/counter/<key>/applicable")
@roles_required("frontdesk", refusal=policy.NOT_A_STARTER)
def applicable(key: str):
    """Which application fields the items that apply to the posted values do NOT ask
    (the page hides them as the clerk types; the server decides again on submit)."""
    desk = counter()
    app = desk.application(key, current_actor())
    values = {k: v for k, v in request.form.items() if k in app.form}
    return jsonify({"hidden": sorted(set(app.form.ids) - desk.visible_ids(app, values))})


def _refresh_missing(desk: Counter, app: Application, values: dict, decision: Decision,
                     extra: dict) -> dict:
    """Keep the clerk's own notice text; an untouched prefilled list follows the materials."""
    text, auto = desk.notice_text(app, values, decision)
    return {**extra, "missing_materials": text, "missing_auto": auto}


@bp.get("/counter/<key>/report")
@roles_required("frontdesk", "analyst")
def report(key: str):
    """The one-form report (表单优化率) of a one-thing, as halls publish it."""
    published = counter().form_report(key)
    return render_template("counter/report.html", definition=published.definition,
                           names=published.names, report=published.report,
                           shared=published.shared)


@bp.get("/counter/cases/<int:case_id>/receipt")
@roles_required("frontdesk")
def receipt(case_id: int):
    return documents.render(runtime(), catalogue(), current_actor(), case_id, ACCEPT,
                            "counter/receipt.html")


@bp.get("/counter/cases/<int:case_id>/notice")
@roles_required("frontdesk")
def notice(case_id: int):
    return documents.render(runtime(), catalogue(), current_actor(), case_id, NOTIFY,
                            "counter/notice.html")


from . import counter_deficiency  # noqa: E402,F401 - its pages join this blueprint
