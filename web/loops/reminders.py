"""主动提醒: licences nearing expiry. The front desk sees each reminder with its 续期提醒 task
and starts the renewal at the counter, pre-filled from the old case."""
from __future__ import annotations

from flask import render_template, request

from engine.loops.reminders import STATE_LABELS

from ..auth import roles_required
from . import bp
from ..runtime import runtime


@bp.get("/reminders")
@roles_required("frontdesk", "lead", "auditor")
def reminders():
    rt = runtime()
    state = request.args.get("state") if request.args.get("state") in STATE_LABELS else None
    service = rt.loops.reminders
    return render_template("loops/reminders.html", reminders=service.listing(state=state),
                           upcoming=service.upcoming(), state=state, labels=STATE_LABELS,
                           days_before=service.days_before)
