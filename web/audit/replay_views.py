"""Step-through replay of one case: the diagram as of any event (completed, active and
waiting elements, tokens on parallel branches), the case data as of then, stepping
forward and back; and the re-execution check (一致, or the first deviation).

The state comes from `engine.audit.replay.state_at`, which re-runs the case in memory from its
pinned definitions and recorded inputs; nothing is written."""
from __future__ import annotations

from typing import Any

from flask import abort, jsonify, render_template, request
from flask_babel import gettext as _

from engine.audit import replay as replaying
from engine.worktime.clock import SHANGHAI
from engine.cases.eventlog import EVENT_LABELS
from engine.errors import NotFound
from engine.hall.audit import case_timeline

from . import bp
from ..auth import current_actor
from ..runtime import runtime
from .common import auditor_required, display_names, field_labels, readable
from .history import STATUS_LABELS


def _case(case_id: int) -> dict[str, Any]:
    return dict(vars(case_timeline(runtime(), case_id, current_actor())))


def _seq(total: int) -> int:
    raw = request.args.get("seq", type=int)
    if raw is None:
        return total
    return max(0, min(raw, total))


def snapshot_json(snapshot: replaying.Snapshot, labels: dict[str, str],
                  options: dict[str, dict], top: str) -> dict[str, Any]:
    """What the page script needs to redraw: per process (the case's own first) the
    marked elements, and the data as of the event in readable form."""
    processes = []
    ordered = sorted(snapshot.processes.items(), key=lambda pair: pair[0] != top)
    for key, state in ordered:
        processes.append({"key": key, "name": state.name or key, "version": state.version,
                          "completed": list(state.completed), "active": list(state.active),
                          "waiting": list(state.waiting), "tokens": dict(state.tokens)})
    data = [{"id": k, "label": labels.get(k, k), "value": readable(v, options.get(k))}
            for k, v in sorted(snapshot.data.items()) if not k.startswith("_")]
    deviation = snapshot.deviation
    return {"seq": snapshot.seq, "status": snapshot.status,
            "at": snapshot.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
            if snapshot.at else None,
            "processes": processes, "data": data,
            "deviation": {"seq": deviation.seq, "message": deviation.message}
            if deviation else None}


@bp.get("/audit/cases/<int:case_id>/replay")
@auditor_required
def replay(case_id: int):
    return _replay_page(case_id)


@bp.post("/audit/cases/<int:case_id>/reexecute")
@auditor_required
def reexecute(case_id: int):
    """The re-execution check, shown on the replay page."""
    try:
        conformance = replaying.reexecute(runtime(), case_id)
    except NotFound:
        abort(404)
    return _replay_page(case_id, conformance)


@bp.get("/audit/cases/<int:case_id>/state.json")
@auditor_required
def state_json(case_id: int):
    info = _case(case_id)
    seq = _seq(len(info["steps"]))
    labels, options = field_labels(runtime(), info["pins"])
    try:
        snapshot = replaying.state_at(runtime(), case_id, seq)
    except NotFound:
        abort(404)
    return jsonify(snapshot_json(snapshot, labels, options, info["top"]))


def _replay_page(case_id: int, conformance: replaying.Conformance | None = None):
    rt = runtime()
    info = _case(case_id)
    steps = info["steps"]
    seq = _seq(len(steps))
    if request.method == "POST":
        seq = max(0, min(request.form.get("seq", type=int) or len(steps), len(steps)))
    labels, options = field_labels(rt, info["pins"])
    snapshot = replaying.state_at(rt, case_id, seq)
    state = snapshot_json(snapshot, labels, options, info["top"])
    selected = request.args.get("process") or info["top"]
    if selected not in info["pins"]:
        selected = info["top"]
    names = display_names(rt, [s.actor for s in steps])
    return render_template(
        "audit/replay.html", **info, seq=seq, state=state, selected=selected,
        labels=EVENT_LABELS, names=names, conformance=conformance,
        status_labels=STATUS_LABELS,
        i18n={"completed": _("已完成"), "active": _("办理中"), "waiting": _("等待中"),
              "tokens": _("令牌"), "failed": _("流程图无法显示"), "none": _("（无）"),
              "event": _("事件"), "start": _("开始前")})
