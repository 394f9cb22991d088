"""The case page (`/cases/<id>`): header, the diagram with what has been done, what is being
worked on and what is overdue, the per-item states of a one-thing, and the timeline.

The diagram is drawn in the browser by bpmn-js (installed from npm by `make assets`) from
two small endpoints: the pinned BPMN XML of one process of the case, and the marks as
JSON. Without JavaScript the same marks are shown as tables.
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request
from flask_login import login_required

from engine.cases import canonical
from engine.cases.eventlog import EVENT_LABELS
from engine.audit.casemap import ACTIVE, CANCELLED, COMPLETED, CaseMaps
from engine.runtime import Runtime

from .auth import current_actor
from .runtime import runtime

bp = Blueprint("cases", __name__)

ELEMENT_LABELS = {COMPLETED: "已完成", ACTIVE: "办理中", CANCELLED: "已取消", None: "未到达"}
CASE_LABELS = {"running": "办理中", "completed": "已办结", "cancelled": "已撤销",
               "incident": "故障"}


def case_maps() -> CaseMaps:
    rt = runtime()
    return CaseMaps(rt.db, rt.definitions, rt.clock)


def reader():
    """The signed-in person; whether they may read the case is the service's answer
    (engine.cases.policy), a case they may not read is one that does not exist (404)."""
    return current_actor()


@bp.get("/cases/<int:case_id>")
@login_required
def show(case_id: int):
    actor = reader()
    rt = runtime()
    case = rt.cases.get_case(case_id, actor)
    casemap = case_maps().get(case_id, actor)
    events = rt.cases.events(case_id, actor)
    selected = request.args.get("process")
    if casemap.process(selected or "") is None:
        selected = casemap.process_key
    task_names = {}
    for event in events:
        if event.kind == "task_created":
            task_names[event.task_spec] = canonical.loads(event.payload).get("name",
                                                                             event.task_spec)
    names = _display_names(rt, {case.created_by, *(e.actor for e in events)})
    clock = rt.clocks.summary_of(case.id)
    item_clocks = {c["scope"]: c for c in (clock or {}).get("items", [])}
    return render_template(
        "cases/show.html", case=case, casemap=casemap, selected=selected, events=events,
        labels=EVENT_LABELS, element_labels=ELEMENT_LABELS, case_labels=CASE_LABELS,
        task_names=task_names, names=names, clock=clock, item_clocks=item_clocks,
        **_loop_notices(rt, case.id))


@bp.get("/cases/<int:case_id>/map.json")
@login_required
def map_json(case_id: int):
    return jsonify(case_maps().get(case_id, reader()).to_json())


@bp.get("/cases/<int:case_id>/diagram.xml")
@login_required
def diagram(case_id: int):
    """The BPMN XML of one process of the case, exactly the version the case is pinned to."""
    actor = reader()
    key = request.args.get("process")
    if not key:
        key = runtime().cases.get_case(case_id, actor).process_key
    found = case_maps().diagram(case_id, key, actor)
    response = Response(found.xml, mimetype="application/xml")
    # Analyst-uploaded XML: never let a browser run anything in it if opened directly.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Process-Version"] = str(found.version)
    response.headers["ETag"] = f'"{found.content_hash}"'
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _display_names(rt: Runtime, usernames) -> dict[str, str]:
    """username -> display name for the people named on the page."""
    names = {}
    for username in sorted(u for u in usernames if u):
        user = rt.users.get(username)
        names[username] = user.display_name if user is not None else username
    return names


def _loop_notices(rt: Runtime, case_id: int) -> dict:
    """审管联动 pushes (with any violation notice) and renewal reminders of the case."""
    return {"supervision": rt.loops.supervision.for_case(case_id),
            "reminders": rt.loops.reminders.for_case(case_id)}
