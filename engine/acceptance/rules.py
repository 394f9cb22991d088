"""The front desk's legal rules (综合受理), pure: what an application needs before it is
accepted, when 容缺受理 is open, and what the one-time notice (一次性告知) must list.

- Every 必要 material the application needs must be there to accept (受理); otherwise the
  window gives ONE notice of everything missing. The window has no veto (窗口无权否决).
- 容缺受理: when only 容缺后补 materials are missing, the case is accepted on the
  applicant's signed commitment (容缺受理承诺书), naming who signed; an applicant on the
  dishonesty list (or flagged by the hall, or whose credit cannot be checked) is not
  trusted with it and must bring everything.
- The one-time notice lists every material or item to put right; it may not be empty.

Nothing here reads the database or the clock: the service layer (`engine.hall.counter`)
gathers the application, the applicable fields and the credit answer, and runs the case.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from engine.definitions.catalogue import SHARED_SOURCE, Entry, Material
from forms.model import Field, Form
from forms.validate import FormInvalid, validate

ACCEPTANCE_TASK = "front_desk_acceptance"  # the one-thing's front-desk step (processes/README)
ACCEPT, NOTIFY = "accept", "notify"
REQUIRED, DEFERRABLE = "必要", "容缺后补"
SIGNED = "signed"  # the page's checkbox value: the commitment was signed before the clerk
AGENT_IDS = ("agent_name", "agent_id_number", "agent_mobile", "power_of_attorney")
# The clerk's own inputs beside the application: the decision and the 容缺 commitment.
DECISION_FIELDS = ("acceptance_note", "missing_materials", "deficiency_commitment",
                   "deficiency_signer")

MISSING_REQUIRED = "必要材料未提交，不能受理：请补齐，或出具一次性告知书"
COMMITMENT_UNSIGNED = "容缺受理须申请人签署容缺受理承诺书：请确认已签署，或补齐材料后受理"
SIGNER_MISSING = "请填写签署承诺书的申请人（或代办人）姓名"
SIGNER_TOO_LONG = "姓名不能超过 50 个字"
NOTICE_EMPTY = "一次性告知须列明需要补正的全部材料或内容"
CREDIT_UNAVAILABLE = "信用核查暂不可用（{why}），不能容缺受理，须补齐后受理"
CREDIT_REFUSED = "申请人列入失信名单（{reason}），不适用容缺受理，须补齐后受理"


def agent_form(*, required: bool = False) -> Form:
    """帮办代办: who files on the applicant's behalf. All or nothing: blank means in person."""
    section = "帮办代办"
    return Form((
        Field("agent_name", "代办人姓名", "string", required=required, dict="contact_name",
              maxlength=30, section=section),
        Field("agent_id_number", "代办人居民身份证号码", "string", required=required,
              dict="id_number", maxlength=18, section=section),
        Field("agent_mobile", "代办人手机号码", "string", required=required, dict="mobile",
              maxlength=11, section=section),
        Field("power_of_attorney", "授权委托书", "file", required=required, section=section,
              help="申请人签章的授权委托书扫描件"),
    ))


@dataclass(frozen=True)
class ProcessRef:
    """The deployed version an application is filed on (plain data, not a database row)."""

    key: str
    name: str
    version: int
    content_hash: str
    called_keys: tuple[str, ...]


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
        return f"{self.field.label}（{self.item}；{self.necessity or '材料'}）"


@dataclass(frozen=True)
class Application:
    """What one application page is made of."""

    definition: ProcessRef
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


@dataclass(frozen=True)
class Decision:
    """The clerk's decision fields, as typed (page or API)."""

    acceptance_note: str = ""
    missing_materials: str = ""   # the notice text the clerk kept or edited
    missing_auto: str = ""        # the list the page last prefilled (to tell edits apart)
    deficiency_commitment: Any = ""
    deficiency_signer: str = ""

    @property
    def signed(self) -> bool:
        return self.deficiency_commitment in (SIGNED, True)


def lines(text: str) -> str:
    """Notice text one item per line, whatever line breaks were sent."""
    return "\n".join(line.strip() for line in (text or "").splitlines() if line.strip())


def missing(app: Application, values: dict, visible: set[str], necessities: tuple[str, ...],
            *, skip_shared: bool = False) -> list[MaterialRow]:
    """Materials of these necessities that the application needs (its field is asked for
    the answers given, and the catalogue's condition holds) and nobody has supplied. With
    `skip_shared`, department-issued ones are left out: they are pulled at acceptance."""
    return [r for r in app.materials if r.necessity in necessities and not values.get(r.field.id)
            and not (skip_shared and r.shared) and r.field.id in visible
            and (r.catalogued is None or r.catalogued.needed(values))]


def notice_list(app: Application, values: dict, visible: set[str], *,
                skip_shared: bool = False) -> str:
    """The one-time notice's list: every material the applicant still has to bring."""
    rows = missing(app, values, visible, (REQUIRED, DEFERRABLE), skip_shared=skip_shared)
    return "\n".join(row.line() for row in rows)


def notice_text(app: Application, values: dict, visible: set[str],
                decision: Decision) -> tuple[str, str]:
    """(the notice text, the automatic list): the clerk's own text is kept; an untouched
    prefilled list follows the materials."""
    text, auto = lines(decision.missing_materials), notice_list(app, values, visible)
    if not text or text == lines(decision.missing_auto):
        text = auto
    return text, auto


def credit_refusal(flag_bad: bool, reason: str | None, unavailable: str | None) -> str | None:
    """Why 容缺受理 is not open to the applicant, or None: on the dishonesty list, or the
    credit check could not be made (no trust without it)."""
    if unavailable is not None:
        return CREDIT_UNAVAILABLE.format(why=unavailable)
    if flag_bad:
        return CREDIT_REFUSED.format(reason=reason or "")
    return None


def decide(app: Application, action: str, data: dict, values: dict, visible: set[str],
           decision: Decision, refusal_of: Callable[[str], str | None], *,
           lang: str = "zh") -> tuple[dict | None, dict[str, str]]:
    """(the front-desk step's data for accept or notify — only the fields its form has —
    or None when the process has no such step, {field: why refused}).

    `refusal_of(credit code)` answers whether 容缺受理 is closed to that applicant; it is
    asked only when something would be deferred."""
    errors: dict[str, str] = {}
    deferred = missing(app, values, visible, (DEFERRABLE,))
    if action == ACCEPT:
        for row in missing(app, values, visible, (REQUIRED,)):
            errors[row.field.id] = MISSING_REQUIRED
        code_field = app.applicant_code_field
        refusal = None
        if deferred and code_field and data.get(code_field.id):
            refusal = refusal_of(data[code_field.id])
            if refusal:
                for row in deferred:
                    errors[row.field.id] = refusal
        if deferred and not refusal:
            signer = (decision.deficiency_signer or "").strip()
            if not decision.signed:
                errors["deficiency_commitment"] = COMMITMENT_UNSIGNED
            if not signer:
                errors["deficiency_signer"] = SIGNER_MISSING
            elif len(signer) > 50:
                errors["deficiency_signer"] = SIGNER_TOO_LONG
        missing_text = "\n".join(row.line() for row in deferred)
    else:
        missing_text = notice_text(app, values, visible, decision)[0]
        if not missing_text:
            errors["missing_materials"] = NOTICE_EMPTY
    if app.acceptance is None or errors:
        return None, errors
    wanted = {"acceptance_decision": action, "materials_complete": action == ACCEPT
              and not deferred, "missing_materials": missing_text or None,
              "acceptance_note": (decision.acceptance_note or "").strip() or None}
    try:
        return validate(app.acceptance, {k: v for k, v in wanted.items()
                                         if k in app.acceptance and v is not None},
                        lang=lang), errors
    except FormInvalid as exc:
        for key, message in exc.fields.items():
            if key in DECISION_FIELDS:
                errors[key] = message
            else:
                errors["_form"] = f"受理环节表单无法自动填写：{key}：{message}"
        return None, errors
