"""The front desk's printable documents — 受理通知书 and 一次性告知书 — built from what the
case's audit events recorded, so a reprint always says what was decided at the time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import render_template
from flask_babel import gettext as _

from engine.cases import eventlog as audit, canonical
from engine.definitions.catalogue import Catalogue
from engine.errors import NotFound
from engine.runtime import Runtime
from engine.cases.dto import Actor

from engine.acceptance.rules import ACCEPT, ACCEPTANCE_TASK, NOTIFY, lines  # noqa: F401


@dataclass(frozen=True)
class Acceptance:
    """One decision of the front desk, as the case's audit events recorded it."""

    decision: str
    data: dict       # what the front-desk step was completed with
    clerk: str | None
    at: datetime
    lane: str | None


def acceptance_of(events, wanted: str) -> Acceptance | None:
    """The decision a document is about: the standing acceptance (the last decision, when it
    is `accept`), or the latest one-time notice. A process without a front-desk step accepts
    on receipt."""
    lane = next((canonical.loads(e.payload).get("lane") for e in events
                 if e.kind == audit.TASK_CREATED and e.task_spec == ACCEPTANCE_TASK), None)
    decisions = [Acceptance((data := canonical.loads(e.payload).get("data", {}))
                            .get("acceptance_decision", ACCEPT), data, e.actor, e.at, lane)
                 for e in events
                 if e.kind == audit.TASK_COMPLETED and e.task_spec == ACCEPTANCE_TASK]
    if lane is None and events and wanted == ACCEPT:
        return Acceptance(ACCEPT, {}, events[0].actor, events[0].at, None)
    if wanted == ACCEPT:
        return decisions[-1] if decisions and decisions[-1].decision == ACCEPT else None
    return next((d for d in reversed(decisions) if d.decision == NOTIFY), None)


def render(rt: Runtime, cat: Catalogue, actor: Actor, case_id: int, wanted: str,
           template: str):
    """The printable 受理通知书 (wanted=accept) or 一次性告知书 (notify) of a case."""
    case = rt.cases.get_case(case_id, actor)
    events = rt.cases.events(case_id, actor)
    acceptance = acceptance_of(events, wanted)
    if acceptance is None:
        raise NotFound(_("办件 %(number)s 尚未受理", number=case.number) if wanted == ACCEPT
                       else _("办件 %(number)s 没有一次性告知记录", number=case.number))
    application = audit.application_of(events)
    entry = cat.get(case.process_key)
    clerk = rt.users.get(acceptance.clerk or "")
    first_asked = rt.users.get(case.created_by or "")
    return render_template(
        template, case=case, application=application, acceptance=acceptance, entry=entry,
        items=cat.items_of(case.process_key) if entry else [], region=cat.region,
        missing=lines(acceptance.data.get("missing_materials") or "").splitlines(),
        clerk=clerk.display_name if clerk else acceptance.clerk,
        first_asked=first_asked.display_name if first_asked else case.created_by,
        applicant=applicant_of(application))


def applicant_of(application: dict) -> dict:
    """Who applied, from the application data (builder for construction, else company)."""
    for prefix in ("builder", "company", "applicant"):
        if application.get(f"{prefix}_name"):
            return {"name": application[f"{prefix}_name"],
                    "code": application.get(f"{prefix}_credit_code")
                    or application.get(f"{prefix}_id_number"),
                    "contact": application.get("contact_name"),
                    "mobile": application.get("contact_mobile")}
    return {"name": application.get("project_name", ""), "code": None, "contact": None,
            "mobile": None}


def render_deficiency(rt: Runtime, cat: Catalogue, actor: Actor, case_id: int, template: str):
    """The printable 容缺受理通知书: the deferred materials and their deadlines as recorded
    when the case was accepted, the applicant's commitment, and what is supplied since."""
    from engine.acceptance.deficiency import deficiency_of

    case = rt.cases.get_case(case_id, actor, with_data=True)
    events = rt.cases.events(case_id, actor)
    application = audit.application_of(events)
    deferred = deficiency_of(application)
    acceptance = acceptance_of(events, ACCEPT)
    if not deferred or acceptance is None:
        raise NotFound(_("办件 %(number)s 不是容缺受理", number=case.number))
    now = {d.field: d for d in deficiency_of(case.data or {})}
    clerk = rt.users.get(acceptance.clerk or "")
    first_asked = rt.users.get(case.created_by or "")
    return render_template(
        template, case=case, application=application, acceptance=acceptance,
        entry=cat.get(case.process_key), region=cat.region,
        deferred=[(d, now.get(d.field)) for d in deferred],
        commitment=application.get("deficiency_commitment") or {},
        deadline=max(d.deadline for d in deferred),
        clerk=clerk.display_name if clerk else acceptance.clerk,
        first_asked=first_asked.display_name if first_asked else case.created_by,
        applicant=applicant_of(application))
