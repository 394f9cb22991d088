"""综合受理 — the general front desk (一窗受理).

The clerk picks a one-thing or item from the catalogue, fills the one merged application
form (一表申请) with the applicant, records an agent when someone files on the applicant's
behalf (帮办代办), checks the materials — department-issued ones are pulled by data sharing,
never asked from the applicant (零材料) — and then either accepts (受理) or gives ONE notice
of everything missing (一次性告知). Both start the case with the clerk as its first-asked
responsible person (首问负责) and complete the case's front-desk step with the decision.
There is no refuse button: the window has no veto (窗口无权否决).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _

from engine.cases import canonical
from engine.definitions.catalogue import SHARED_SOURCE, Catalogue, Entry, Material
from engine.acceptance.connectors import SharingUnavailable
from engine.acceptance.deficiency import MissingMaterial
from engine.definitions.service import BPMN_NS, BpmnFile
from engine.cases import policy
from engine.errors import NotAllowed, NotFound, OneThingError, ValidationFailed
from engine.runtime import Runtime
from engine.store.models import ProcessDefinition
from engine.cases.uploads import TooLarge, TypeNotAllowed
from forms.model import Field, Form

from . import counter_documents as documents
from . import formpost, formsource
from .auth import current_actor, roles_required
from .counter_sharing import pull_shared, sharing, verify_registers

bp = Blueprint("counter", __name__)

ACCEPTANCE_TASK, ACCEPT, NOTIFY = documents.ACCEPTANCE_TASK, documents.ACCEPT, documents.NOTIFY
FETCH = "fetch"
AGENT_IDS = ("agent_name", "agent_id_number", "agent_mobile", "power_of_attorney")
PAGE_FIELDS = ("acceptance_note", "missing_materials",  # the clerk's own inputs on the page
               "deficiency_commitment", "deficiency_signer")
REQUIRED, DEFERRABLE = "必要", "容缺后补"


# -- collaborators -------------------------------------------------------------------------

def runtime() -> Runtime:
    return current_app.extensions["onething"]


def catalogue() -> Catalogue:
    """The runtime's item catalogue (config CATALOGUE / env ONETHING_CATALOGUE)."""
    return runtime().catalogue


# -- what one application page is made of --------------------------------------------------

@dataclass(frozen=True)
class MaterialRow:
    """One material of the checklist: the diagram's file field plus what the catalogue adds."""

    field: Field
    item: str
    catalogued: Material | None

    @property
    def necessity(self) -> str:
        return self.field.necessity or (self.catalogued.necessity if self.catalogued else "")

    @property
    def shared(self) -> bool:
        source = self.field.source or (self.catalogued.source if self.catalogued else "")
        return source == SHARED_SOURCE and bool(self.subject_field)

    @property
    def subject_field(self) -> str | None:
        return self.catalogued.subject_field if self.catalogued else None

    def line(self) -> str:
        """How the material is named in a notice."""
        return f"{self.field.label}（{self.item}；{self.necessity or _('材料')}）"


@dataclass(frozen=True)
class Application:
    definition: ProcessDefinition
    entry: Entry | None
    form: Form                 # the merged application form (一表申请)
    acceptance: Form | None    # the front-desk step's form; None for an item without one
    acceptance_lane: str | None
    materials: tuple[MaterialRow, ...]

    @property
    def fields(self) -> Form:
        return Form(tuple(f for f in self.form.fields if f.type != "file"))

    @property
    def can_notify(self) -> bool:
        decision = self.acceptance.get("acceptance_decision") if self.acceptance else None
        return decision is not None and NOTIFY in decision.option_ids()

    @property
    def applicant_code_field(self) -> Field | None:
        return next((f for f in self.form.fields if f.dict == "credit_code"), None)


def _application(key: str) -> Application:
    rt, cat = runtime(), catalogue()
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, key)
        if definition is None:
            raise NotFound(_("事项 %(key)s 未部署", key=key[:200]))
        policy.check_start(current_actor(), key, cat)
        document = rt.definitions.document(session, key, definition.content_hash)
        names = {k: d.name for k in definition.called_keys
                 if (d := rt.definitions.latest(session, k)) is not None}
    form = formsource.start_form(rt, definition)
    entry = cat.get(key)
    rows = []
    for field in form.fields:
        if field.type != "file":
            continue
        item_key = next((s for s in field.sources if s in names), key)
        item = cat.get(item_key)
        rows.append(MaterialRow(field, item.name if item else names.get(item_key, definition.name),
                                cat.material(key, field.id) if entry else None))
    lane = _lane_of(document, ACCEPTANCE_TASK)
    acceptance = formsource.forms_of(document).get(ACCEPTANCE_TASK, formsource.EMPTY) \
        if lane is not None else None
    return Application(definition, entry, form, acceptance, lane, tuple(rows))


def _lane_of(document: BpmnFile, element_id: str) -> str | None:
    for lane in document.process.iter(f"{{{BPMN_NS}}}lane"):
        if any(ref.text == element_id for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef")):
            return lane.get("name") or ""
    return None


def agent_form(*, required: bool = False) -> Form:
    """帮办代办: who files on the applicant's behalf. All or nothing: blank means in person."""
    section = _("帮办代办")
    return Form((
        Field("agent_name", _("代办人姓名"), "string", required=required, dict="contact_name",
              maxlength=30, section=section),
        Field("agent_id_number", _("代办人居民身份证号码"), "string", required=required,
              dict="id_number", maxlength=18, section=section),
        Field("agent_mobile", _("代办人手机号码"), "string", required=required, dict="mobile",
              maxlength=11, section=section),
        Field("power_of_attorney", _("授权委托书"), "file", required=required, section=section,
              help=_("申请人签章的授权委托书扫描件")),
    ))


# -- pages ---------------------------------------------------------------------------------

@bp.get("/counter")
@roles_required("frontdesk")
def index():
    rt, cat = runtime(), catalogue()
    with rt.db.reading() as session:
        definitions = rt.definitions.all_latest(session)
    # Only what the public applies for directly (engine.cases.policy): never a loop or a
    # common part that other processes call (e.g. the 容缺 gate).
    actor = current_actor()
    rows = [(d, cat.get(d.key), len(cat.materials_of(d.key)))
            for d in definitions if policy.may_start(actor, d.key, cat)]
    onethings = [r for r in rows if r[0].called_keys]
    items = [r for r in rows if not r[0].called_keys]
    return render_template("counter/index.html", onethings=onethings, items=items,
                           region=cat.region)


@bp.get("/counter/<key>")
@roles_required("frontdesk")
def apply(key: str):
    """The application page; `?from_case=<id>` pre-fills it with that case's application
    (renewal: only fields of the current form, validated on submit as usual)."""
    app = _application(key)
    defaults = {f.id: _shown(f.default) for f in app.form.fields if f.default is not None}
    if request.args.get("from_case"):
        defaults.update(_previous_application(app, request.args["from_case"]))
    missing = _notice_list(app, defaults, skip_shared=True)
    return _page(app, values=defaults, extra={"missing_materials": missing,
                                              "missing_auto": missing})


def _previous_application(app: Application, case_ref: str) -> dict[str, str]:
    """The scalar values an earlier case was started with, for the fields this form has."""
    try:
        events = runtime().cases.events(int(case_ref), current_actor())
    except (ValueError, OverflowError, NotFound, NotAllowed):
        flash(_("未找到办件 %(ref)s，无法带出原申请信息", ref=str(case_ref)[:40]), "error")
        return {}
    old = canonical.loads(events[0].payload).get("data", {}) if events else {}
    return {f.id: _shown(old[f.id]) for f in app.form.fields
            if f.type != "file" and old.get(f.id) not in (None, "")}


@bp.post("/counter/<key>")
@roles_required("frontdesk")
def submit(key: str):
    app, actor = _application(key), current_actor()
    action = request.form.get("action")
    if action not in (ACCEPT, NOTIFY, FETCH) or (action == NOTIFY and not app.can_notify):
        abort(400)
    if app.acceptance_lane and not actor.works_in(app.acceptance_lane):
        raise NotAllowed(_("您不在「%(lane)s」，不能受理申请", lane=app.acceptance_lane))
    values, errors = _collect(app)
    pulled, notes = pull_shared(app, values)
    extra = {k: request.form.get(k, "").strip() if k == "deficiency_signer"
             else request.form.get(k, "") for k in (*PAGE_FIELDS, "missing_auto")}
    if action == FETCH:
        return _page(app, values=values, errors=errors, extra=_refresh_missing(app, values, extra),
                     pulled=pulled, notes=notes, checks=verify_registers(app, values),
                     status=422 if errors else 200)
    data, agent = _clean(app, values, errors)
    decision = None
    if not errors:
        decision = _decide(app, action, data, values, extra, errors)
    if errors:
        return _page(app, values=values, errors=errors, extra=_refresh_missing(app, values, extra),
                     pulled=pulled, notes=notes, status=422)
    data.update(agent)
    if pulled:
        data["shared_materials"] = {field_id: p.record() for field_id, p in pulled.items()}
    deferred = _missing(app, values, (DEFERRABLE,)) if action == ACCEPT else []
    if deferred:
        data.update(runtime().deficiencies.plan(
            app.definition.key,
            [MissingMaterial(r.field.id, r.field.label, r.item) for r in deferred],
            signed_by=extra["deficiency_signer"], witnessed_by=actor.username))
    case = runtime().cases.start_case(app.definition.key, data, actor)
    task = next((t for t in case.tasks if t.task_spec == ACCEPTANCE_TASK), None)
    if task is not None and decision is not None:
        try:
            case = runtime().cases.complete(task.id, decision, actor)
        except OneThingError as exc:  # received, but the decision could not be recorded
            flash(_("办件 %(number)s 已收件，但受理决定未能记录（%(why)s），请在任务页办理",
                    number=case.number, why=exc.message), "error")
            return redirect(url_for("tasks.show", task_id=task.id))
    if action == NOTIFY:
        flash(_("已出具一次性告知书：%(number)s", number=case.number), "success")
        return redirect(url_for("counter.notice", case_id=case.id))
    if deferred:
        flash(_("已容缺受理：%(number)s，请打印容缺受理通知书交申请人", number=case.number),
              "success")
        return redirect(url_for("counter.deficiency_notice", case_id=case.id))
    flash(_("已受理：%(number)s", number=case.number), "success")
    return redirect(url_for("counter.receipt", case_id=case.id))


def _shown(value) -> str:
    """A typed default as an input shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _page(app: Application, *, values, errors=None, extra=None, pulled=None, notes=None,
          checks=None, status: int = 200):
    visible = visible_ids(app, values)
    with runtime().db.reading() as session:
        document = runtime().definitions.document(session, app.definition.key,
                                                  app.definition.content_hash)
    return render_template(
        "counter/apply.html", app=app, values=values, errors=errors or {}, extra=extra or {},
        hidden=sorted(set(app.form.ids) - visible),
        deciding=sorted(formsource.deciding_fields(formsource.applies_when_of(document))),
        deferrable=any(r.necessity == DEFERRABLE for r in app.materials),
        agent=agent_form(), pulled=pulled or {}, notes=notes or {}, checks=checks or [],
        field_ids=set(app.form.ids) | set(AGENT_IDS) | set(PAGE_FIELDS)), status


# -- reading what was posted ---------------------------------------------------------------

def _collect(app: Application) -> tuple[dict, dict]:
    """The posted values of the application and agent fields (uploads stored), and the
    per-field errors of uploads that were refused."""
    rt, actor = runtime(), current_actor()
    agent = agent_form()
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


# -- deciding ------------------------------------------------------------------------------

def _clean(app: Application, values: dict, errors: dict) -> tuple[dict, dict]:
    """The validated application (fanned out to the items) and agent; errors collected."""
    from .i18n import select_locale

    data, agent = {}, {}
    try:
        data = formsource.clean_application(
            runtime(), app.definition, {k: v for k, v in values.items() if k in app.form},
            lang=select_locale())
    except ValidationFailed as exc:
        errors.update(exc.fields)
    given = {k: values[k] for k in AGENT_IDS if str(values.get(k) or "").strip()}
    if given:
        try:
            agent = formsource.clean(agent_form(required=True), given, lang=select_locale())
        except ValidationFailed as exc:
            errors.update(exc.fields)
    return data, agent


def _missing(app: Application, values: dict, necessities: tuple[str, ...], *,
             skip_shared: bool = False) -> list[MaterialRow]:
    """Materials of these necessities that the application needs and nobody has supplied
    (with `skip_shared`, department-issued ones are left out: they are pulled at acceptance)."""
    visible = visible_ids(app, values)
    return [r for r in app.materials if r.necessity in necessities and not values.get(r.field.id)
            and not (skip_shared and r.shared) and r.field.id in visible
            and (r.catalogued is None or r.catalogued.needed(values))]


@bp.post("/counter/<key>/applicable")
@roles_required("frontdesk")
def applicable(key: str):
    """Which application fields the items that apply to the posted values do NOT ask
    (the page hides them as the clerk types; the server decides again on submit)."""
    app = _application(key)
    values = {k: v for k, v in request.form.items() if k in app.form}
    return jsonify({"hidden": sorted(set(app.form.ids) - visible_ids(app, values))})


def visible_ids(app: Application, values: dict) -> set[str]:
    """The ids of the application fields the items that apply to `values` ask for."""
    return set(formsource.application_form(runtime(), app.definition, values).ids)


def _notice_list(app: Application, values: dict, *, skip_shared: bool = False) -> str:
    rows = _missing(app, values, (REQUIRED, DEFERRABLE), skip_shared=skip_shared)
    return "\n".join(row.line() for row in rows)


def _refresh_missing(app: Application, values: dict, extra: dict) -> dict:
    """Keep the clerk's own notice text; an untouched prefilled list follows the materials."""
    text, auto = documents.lines(extra.get("missing_materials", "")), _notice_list(app, values)
    if not text or text == documents.lines(extra.get("missing_auto", "")):
        text = auto
    return {**extra, "missing_materials": text, "missing_auto": auto}


def _deficiency_refused(applicant: str) -> str | None:
    """Why 容缺受理 is not open to this applicant (dishonesty list), or None."""
    try:
        flag = sharing().credit_flag(applicant)
    except SharingUnavailable as exc:
        return _("信用核查暂不可用（%(why)s），不能容缺受理，须补齐后受理", why=exc.message)
    if flag.bad:
        return _("申请人列入失信名单（%(reason)s），不适用容缺受理，须补齐后受理",
                 reason=flag.reason or "")
    return None


def _decide(app: Application, action: str, data: dict, values: dict, extra: dict,
            errors: dict) -> dict | None:
    """The front-desk step's data for accept or notify (only the fields its form has), or
    None when the process has no such step; refusals go into `errors`."""
    deferred = _missing(app, values, (DEFERRABLE,))
    if action == ACCEPT:
        for row in _missing(app, values, (REQUIRED,)):
            errors[row.field.id] = _("必要材料未提交，不能受理：请补齐，或出具一次性告知书")
        code_field = app.applicant_code_field
        refusal = None
        if deferred and code_field and data.get(code_field.id):
            refusal = _deficiency_refused(data[code_field.id])
            for row in deferred if refusal else ():
                errors[row.field.id] = refusal
        if deferred and not refusal:
            if extra.get("deficiency_commitment") != "signed":
                errors["deficiency_commitment"] = _(
                    "容缺受理须申请人签署容缺受理承诺书：请确认已签署，或补齐材料后受理")
            if not extra.get("deficiency_signer"):
                errors["deficiency_signer"] = _("请填写签署承诺书的申请人（或代办人）姓名")
            elif len(extra["deficiency_signer"]) > 50:
                errors["deficiency_signer"] = _("姓名不能超过 50 个字")
        missing_text = "\n".join(row.line() for row in deferred)
    else:
        missing_text = _refresh_missing(app, values, extra)["missing_materials"]
        if not missing_text:
            errors["missing_materials"] = _("一次性告知须列明需要补正的全部材料或内容")
    if app.acceptance is None or errors:
        return None
    complete = action == ACCEPT and not deferred
    wanted = {"acceptance_decision": action, "materials_complete": complete,
              "missing_materials": missing_text or None,
              "acceptance_note": extra.get("acceptance_note", "").strip() or None}
    try:
        return formsource.clean(app.acceptance, {k: v for k, v in wanted.items()
                                                 if k in app.acceptance and v is not None})
    except ValidationFailed as exc:
        for key, message in exc.fields.items():
            if key in PAGE_FIELDS:
                errors[key] = message
            else:
                errors["_form"] = _("受理环节表单无法自动填写：%(key)s：%(why)s", key=key,
                                    why=message)
        return None


@bp.get("/counter/<key>/report")
@roles_required("frontdesk", "analyst")
def report(key: str):
    """The one-form report (表单优化率) of a one-thing, as halls publish it."""
    rt = runtime()
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, key)
        names = {d.key: d.name for d in rt.definitions.all_latest(session)}
    if definition is None:
        abort(404)
    merged = formsource.start_form(rt, definition)
    return render_template("counter/report.html", definition=definition, names=names,
                           report=formsource.application_report(rt, definition),
                           shared=[f for f in merged.fields if len(f.sources) > 1])


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
