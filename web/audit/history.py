"""The auditor's search (/audit) and the history of one case: every event with who,
when, what kind, and the data it changed (old → new per field, with the form's labels)."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import lazy_gettext as N_

from engine.cases.eventlog import EVENT_LABELS
from engine.hall.audit import CASE_STATES, case_timeline, search_cases

from . import bp
from ..auth import current_actor
from ..runtime import runtime
from .common import (auditor_required, display_names, field_labels, query_from_args,
                     readable, search_args)

STATUS_LABELS = {"running": N_("办理中"), "completed": N_("已办结"), "cancelled": N_("已撤销"),
                 "incident": N_("故障")}
OUTCOME_LABELS = {"0": N_("出证办结"), "1": N_("不予许可"), "2": N_("作废"), "3": N_("删除"),
                  "4": N_("转报"), "5": N_("退件"), "6": N_("不予受理")}


@bp.get("/audit")
@auditor_required
def index():
    errors: dict[str, str] = {}
    query = query_from_args(errors)
    found = search_cases(runtime(), current_actor(), None if errors else query)
    return render_template(
        "audit/index.html", hits=found.hits, errors=errors, query=query, args=search_args(),
        processes=found.processes, statuses=[(s, STATUS_LABELS[s]) for s in CASE_STATES],
        outcomes=OUTCOME_LABELS, status_labels=STATUS_LABELS), 422 if errors else 200


@bp.get("/audit/cases/<int:case_id>")
@auditor_required
def case_history(case_id: int):
    rt = runtime()
    history = case_timeline(rt, case_id, current_actor())
    pins, number, title, status = history.pins, history.number, history.title, history.status
    steps = history.steps
    kind = request.args.get("kind") or None
    actor = request.args.get("actor") or None
    kinds = sorted({s.kind for s in steps}, key=lambda k: list(EVENT_LABELS).index(k)
                   if k in EVENT_LABELS else 99)
    actors = sorted({s.actor for s in steps if s.actor})
    shown = [s for s in steps if (kind is None or s.kind == kind)
             and (actor is None or s.actor == actor)]
    labels, options = field_labels(rt, pins)
    names = display_names(rt, actors)
    return render_template(
        "audit/history.html", case_id=case_id, number=number, title=title, status=status,
        steps=shown, total=len(steps), kinds=kinds, actors=actors, kind=kind, actor=actor,
        labels=EVENT_LABELS, field_labels=labels, options=options, names=names,
        readable=readable, status_labels=STATUS_LABELS)
