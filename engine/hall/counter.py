"""综合受理 — the general front desk (一窗受理), as one call per action.

The clerk (or a system filing for the front desk through the API) hands in an application:
the merged form's values (一表申请), an agent when someone files on the applicant's behalf
(帮办代办), the materials — department-issued ones are pulled by data sharing, never asked
from the applicant (零材料) — and a decision:

- `accept` (受理): every 必要 material is there. When only 容缺后补 materials are missing
  this is 容缺受理: the applicant's signed commitment is required, the deferred materials get
  their deadlines, and an applicant the credit check does not clear must bring everything.
- `notify` (一次性告知): one notice of everything missing.

Either way the case starts with the clerk as its first-asked responsible person (首问负责)
and its front-desk step completed with the decision, in ONE transaction. There is no
refuse: the window has no veto (窗口无权否决). The HTML counter and `POST /api/v1/cases`
both call `Counter.file`; the rules themselves are `engine.acceptance.rules`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from engine.acceptance import rules
from engine.acceptance.connectors import DataSharing
from engine.acceptance.deficiency import MissingMaterial
from engine.acceptance.rules import (ACCEPT, ACCEPTANCE_TASK, AGENT_IDS, DEFERRABLE, NOTIFY,
    Application, Decision, MaterialRow, ProcessRef)
from engine.acceptance.sharing import deficiency_refusal, pull_shared, verify_registers
from engine.cases.service import FirstStep
from engine.cases.dto import Actor, CaseView
from engine.definitions.service import BPMN_NS, BpmnFile
from engine.cases import policy
from engine.errors import NotAllowed, NotFound, ValidationFailed
from engine.hall import forms
from engine.runtime import Runtime

RECEIPT, NOTICE, DEFICIENCY_NOTICE = "receipt", "notice", "deficiency_notice"
ACTIONS = (ACCEPT, NOTIFY)


@dataclass(frozen=True)
class Filing:
    """One application handed in at the front desk: `values` are the raw application, agent
    and material (upload id) values; `decision` the clerk's own fields."""

    process: str
    action: str
    values: dict[str, Any]
    decision: Decision = field(default_factory=Decision)
    lang: str = "zh"
    refused_uploads: dict[str, str] = field(default_factory=dict)  # {field: why} (too large …)


@dataclass(frozen=True)
class Filed:
    """What the front desk prints next: the receipt (受理通知书), the one-time notice
    (一次性告知书) or the 容缺受理通知书 with each deferred material's deadline."""

    case: CaseView
    action: str
    notice: str
    deferred: tuple[dict[str, Any], ...] = ()

    @property
    def case_id(self) -> int:
        return self.case.id

    @property
    def number(self) -> str:
        return self.case.number

    def to_json(self) -> dict[str, Any]:
        return {**self.case.to_json(), "action": self.action, "notice": self.notice,
                "deficiency": list(self.deferred)}


class ApplicationRefused(ValidationFailed):
    """The application was not accepted (422): `fields` says why, per field. The page shows
    it again with what was already done for the clerk: `values` (uploads and pulled
    materials in place), `pulled` and the sharing `notes`."""

    def __init__(self, fields: dict[str, str], *, values: dict, pulled: dict, notes: dict):
        reasons = list(dict.fromkeys(fields.values()))
        count = f"（{len(fields)} 项，见各字段）" if len(fields) > 1 else ""
        super().__init__(f"申请未受理{count}：" + "；".join(reasons[:3])
                         + ("……" if len(reasons) > 3 else ""), fields)
        self.values, self.pulled, self.notes = values, pulled, notes


@dataclass(frozen=True)
class Errand:
    """One line of the counter's catalogue: a deployed process, its catalogue entry (None:
    not catalogued) and how many materials the catalogue lists for it."""

    definition: ProcessRef
    entry: Any
    materials: int | None

    def __iter__(self):
        return iter((self.definition, self.entry, self.materials))


@dataclass(frozen=True)
class FormReport:
    """A one-thing's 一表申请 report: its items' names, the figures, the shared fields."""

    definition: ProcessRef
    names: dict[str, str]
    report: Any
    shared: list


@dataclass(frozen=True)
class Preview:
    """The 调取/核验 button: materials pulled, notes on the ones that were not, register checks."""

    values: dict[str, Any]
    pulled: dict
    notes: dict
    checks: list[tuple[str, str]]


class Counter:
    """The front desk's actions. `sharing` is the data-sharing platform in use (its
    dishonesty list answers whether 容缺受理 is open)."""

    def __init__(self, runtime: Runtime, sharing: DataSharing):
        self.runtime, self.sharing = runtime, sharing

    # -- reading -------------------------------------------------------------------------

    def application(self, key: str, actor: Actor | None = None) -> Application:
        """The application page of the process `key`: merged form, front-desk step and the
        material checklist (NotFound when it is not deployed). With `actor`: only an entry
        process that actor may start (policy; 403 with the reason otherwise)."""
        rt = self.runtime
        catalogue = rt.catalogue
        if catalogue is None:
            raise NotFound("未配置事项目录")
        with rt.db.reading() as session:
            definition = rt.definitions.latest(session, key)
            if definition is None:
                raise NotFound(f"事项 {key[:200]} 未部署")
            if actor is not None:
                policy.check_start(actor, key, catalogue)
            document = rt.definitions.document(session, key, definition.content_hash)
            names = {k: d.name for k in definition.called_keys
                     if (d := rt.definitions.latest(session, k)) is not None}
            ref = ProcessRef(definition.key, definition.name, definition.version,
                             definition.content_hash, tuple(definition.called_keys))
        form = forms.start_form(rt, ref)
        entry = catalogue.get(key)
        rows = []
        for field_ in form.fields:
            if field_.type != "file":
                continue
            item_key = next((s for s in field_.sources if s in names), key)
            item = catalogue.get(item_key)
            rows.append(MaterialRow(field_, item.name if item else names.get(item_key, ref.name),
                                    catalogue.material(key, field_.id) if entry else None))
        lane = lane_of(document, ACCEPTANCE_TASK)
        acceptance = forms.forms_of(document).get(ACCEPTANCE_TASK, forms.EMPTY) \
            if lane is not None else None
        return Application(ref, entry, form, acceptance, lane, tuple(rows))

    def errands(self, actor: Actor) -> tuple[list[Errand], list[Errand]]:
        """The catalogue the counter offers `actor`: (one-things, single items), each the
        latest deployed version with its catalogue entry — only what the public applies for
        directly (policy): never a loop, nor a common part other processes call (the 容缺
        gate)."""
        rt = self.runtime
        if rt.catalogue is None:
            raise NotFound("未配置事项目录")
        with rt.db.reading() as session:
            definitions = [ProcessRef(d.key, d.name, d.version, d.content_hash,
                                      tuple(d.called_keys))
                           for d in rt.definitions.all_latest(session)]
        called = {k for d in definitions for k in d.called_keys}
        rows = [Errand(d, rt.catalogue.get(d.key), len(rt.catalogue.materials_of(d.key))
                       if d.key in rt.catalogue else None) for d in definitions]
        rows = [r for r in rows if (r.entry is not None or r.definition.key not in called)
                and policy.may_start(actor, r.definition.key, rt.catalogue)]
        return ([r for r in rows if r.definition.called_keys],
                [r for r in rows if not r.definition.called_keys])

    def form_report(self, key: str) -> FormReport:
        """The one-form report (表单优化率) of a one-thing, as halls publish it."""
        rt = self.runtime
        with rt.db.reading() as session:
            definition = rt.definitions.latest(session, key)
            if definition is None:
                raise NotFound(f"事项 {key[:200]} 未部署")
            ref = ProcessRef(definition.key, definition.name, definition.version,
                             definition.content_hash, tuple(definition.called_keys))
            names = {d.key: d.name for d in rt.definitions.all_latest(session)}
        merged = forms.start_form(rt, ref)
        return FormReport(ref, names, forms.application_report(rt, ref),
                          [f for f in merged.fields if len(f.sources) > 1])

    def deciding_fields(self, app: Application) -> list[str]:
        """The fields whose answers decide which items apply (the page refreshes on them)."""
        rt = self.runtime
        with rt.db.reading() as session:
            document = rt.definitions.document(session, app.definition.key,
                                               app.definition.content_hash)
        return sorted(forms.deciding_fields(forms.applies_when_of(document)))

    def visible_ids(self, app: Application, values: dict) -> set[str]:
        """The ids of the application fields the items that apply to `values` ask for."""
        return set(forms.application_form(self.runtime, app.definition, values).ids)

    def notice_list(self, app: Application, values: dict, *, skip_shared: bool = False) -> str:
        """Everything the applicant still has to bring, one line each."""
        return rules.notice_list(app, values, self.visible_ids(app, values),
                                 skip_shared=skip_shared)

    def notice_text(self, app: Application, values: dict, decision: Decision) -> tuple[str, str]:
        """(the notice text to show, the automatic list): see `rules.notice_text`."""
        return rules.notice_text(app, values, self.visible_ids(app, values), decision)

    def preview(self, app: Application, values: dict, actor: Actor) -> Preview:
        """零材料 and 核验 before deciding: pull what the platform holds, check the registers."""
        self._check_may_accept(app, actor)
        values = dict(values)
        pulled, notes = pull_shared(app, values, self.sharing, self.runtime.uploads,
                                    actor.username)
        return Preview(values, pulled, notes, verify_registers(app, values, self.sharing))

    # -- the actions ---------------------------------------------------------------------

    def accept(self, filing: Filing, actor: Actor) -> Filed:
        """受理 — or 容缺受理 when only 容缺后补 materials are missing (commitment signed)."""
        return self.file(replace(filing, action=ACCEPT), actor)

    def notify(self, filing: Filing, actor: Actor) -> Filed:
        """一次性告知: receive the application and give one notice of everything missing."""
        return self.file(replace(filing, action=NOTIFY), actor)

    def file(self, filing: Filing, actor: Actor) -> Filed:
        """Apply every front-desk rule to `filing` and start the case with its decision in
        one transaction. Raises NotFound (process not deployed), NotAllowed (not the front
        desk), ApplicationRefused (422, per field) — and then nothing is written."""
        app = self.application(filing.process, actor)
        if filing.action not in ACTIONS or (filing.action == NOTIFY and not app.can_notify):
            raise ValidationFailed("未知的受理决定" if filing.action not in ACTIONS
                                   else "该事项没有一次性告知环节", {"action": "须为 accept"
                                   + (" 或 notify" if app.can_notify else "")})
        self._check_may_accept(app, actor)
        values = {k: v for k, v in filing.values.items() if k not in rules.DECISION_FIELDS}
        pulled, notes = pull_shared(app, values, self.sharing, self.runtime.uploads,
                                    actor.username)
        data, agent, errors = self._clean(app, values, filing.lang)
        errors.update(filing.refused_uploads)
        decision = None
        visible = self.visible_ids(app, values)
        if not errors:
            decision, errors = rules.decide(
                app, filing.action, data, values, visible, filing.decision,
                lambda code: deficiency_refusal(self.sharing, code), lang=filing.lang)
        if errors:
            raise ApplicationRefused(errors, values=values, pulled=pulled, notes=notes)
        data.update(agent)
        if pulled:
            data["shared_materials"] = {field_id: p.record() for field_id, p in pulled.items()}
        deferred = rules.missing(app, values, visible, (DEFERRABLE,)) \
            if filing.action == ACCEPT else []
        if deferred and self.runtime.deficiencies is not None:
            data.update(self.runtime.deficiencies.plan(
                app.definition.key,
                [MissingMaterial(r.field.id, r.field.label, r.item) for r in deferred],
                signed_by=filing.decision.deficiency_signer, witnessed_by=actor.username))
        first = FirstStep(ACCEPTANCE_TASK, decision) if decision is not None else None
        case = self.runtime.cases.start_case(app.definition.key, data, actor, first_step=first)
        notice = NOTICE if filing.action == NOTIFY else DEFICIENCY_NOTICE if deferred \
            else RECEIPT
        return Filed(case, filing.action, notice, tuple(
            {k: d[k] for k in ("field", "name", "item", "deadline")}
            for d in data.get("deficiency") or ()))

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _check_may_accept(app: Application, actor: Actor) -> None:
        """The front desk accepts; a clerk must work in the lane of the acceptance step
        (systems with an API token file for the front desk)."""
        if not policy.files_applications(actor):
            raise NotAllowed(policy.NOT_A_STARTER)
        lane = app.acceptance_lane
        if lane and not actor.works_in(lane) and "api" not in actor.roles:
            raise NotAllowed(f"您不在「{lane}」，不能受理申请")

    def _clean(self, app: Application, values: dict,
               lang: str) -> tuple[dict, dict, dict[str, str]]:
        """(the validated application fanned out to the items, the validated agent,
        {field: why refused})."""
        errors: dict[str, str] = {}
        data, agent = {}, {}
        own = {k: v for k, v in values.items() if k not in AGENT_IDS}
        try:
            data = forms.clean_application(self.runtime, app.definition, own, lang=lang)
        except ValidationFailed as exc:
            errors.update(exc.fields)
        given = {k: values[k] for k in AGENT_IDS if str(values.get(k) or "").strip()}
        if given:
            try:
                agent = forms.clean(rules.agent_form(required=True), given, lang=lang,
                                    today=self.runtime.clock.now().date())
            except ValidationFailed as exc:
                errors.update(exc.fields)
        return data, agent, errors


def lane_of(document: BpmnFile, element_id: str) -> str | None:
    """The name of the lane holding `element_id`, or None when it is in none."""
    for lane in document.process.iter(f"{{{BPMN_NS}}}lane"):
        if any(ref.text == element_id for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef")):
            return lane.get("name") or ""
    return None
