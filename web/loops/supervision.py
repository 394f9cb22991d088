"""审管联动: the supervising departments' page — pushes and their state, and per department
how many waited for 签收, were claimed by the system (超时自动认领) or ended in a violation
notice. 签收 and 监管核查 themselves are tasks in the department's task list."""
from __future__ import annotations

from flask import render_template, request

from engine.loops.supervision import PUSH_STATES
from engine.loops.supervision import ACTIONS, PUSH_LABELS

from ..auth import current_actor, roles_required
from . import bp
from ..runtime import runtime


@bp.get("/supervision")
@roles_required("supervisor", "lead", "auditor")
def supervision():
    rt, actor = runtime(), current_actor()
    state = request.args.get("state") if request.args.get("state") in PUSH_STATES else None
    service = rt.loops.supervision
    return render_template("loops/supervision.html", pushes=service.pushes(actor, state=state),
                           tally=service.tally(actor), state=state, labels=PUSH_LABELS,
                           actions=ACTIONS)
