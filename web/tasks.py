"""The clerk's task list and task page: claim, hand over, complete the generated form."""
from __future__ import annotations

from flask import (Blueprint, abort, flash, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _
from flask_login import login_required

from engine.cases import canonical
from engine.cases.eventlog import EVENT_LABELS, application_of
from engine.hall.results import item_results
from engine.cases.clocks import SPECIAL_PROCEDURES
from engine.errors import Conflict, ValidationFailed
from engine.hall import tasks as hall_tasks
from engine.hall.tasks import TASK_STATES
from forms.validate import values_to_json
from engine.cases import policy
from engine.people.users import actor_of
from engine.runtime import Runtime

from . import formpost, formsource
from .auth import current_actor
from .i18n import N_
from .runtime import runtime

bp = Blueprint("tasks", __name__)

CLOCK_STATES = {"normal": N_("正常"), "warning": N_("预警"), "overdue": N_("逾期")}
TABS = {"mine": N_("我的任务"), "group": N_("本部门队列"), "all": N_("全部可见")}


@bp.get("/tasks")
@login_required
def index():
    actor = current_actor()
    tab = request.args.get("tab") if request.args.get("tab") in TABS else "group"
    state = request.args.get("state") if request.args.get("state") in (*TASK_STATES, "all") else "open"
    clock = request.args.get("clock") if request.args.get("clock") in CLOCK_STATES else None
    process = request.args.get("process") or None
    filters = {"state": state, "process": process, "clock": clock}
    found = hall_tasks.queue(runtime(), actor, tab=tab, state=state, process=process,
                             clock=clock)
    return render_template("tasks/index.html", tasks=found.tasks, tab=tab, tabs=TABS,
                           counts=found.counts, filters=filters, processes=found.processes,
                           states=TASK_STATES, clocks=found.clocks, clock_states=CLOCK_STATES)


def _task_page(task_id: str, *, values=None, errors=None, status: int = 200):
    rt, actor = runtime(), current_actor()
    detail = hall_tasks.detail(rt, task_id, actor)
    task, case, form, current = detail.task, detail.case, detail.form, detail.data
    if values is None:
        values = values_to_json(detail.values)
    events = rt.cases.events(task.case_id, actor)
    application = application_of(events)
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, case.process_key)
    start_form = formsource.start_form(rt, definition) if definition else None
    colleagues = _assignees(rt, task) if task.lane and actor_is_lead(task.lane) else []
    task_names = {e.task_spec: canonical.loads(e.payload).get("name", e.task_spec)
                  for e in events if e.kind == "task_created"}
    results = item_results(rt, case.process_key, events, case.tasks, current)
    clock = rt.clocks.summary_of(case.id)
    return render_template(
        "tasks/task.html", task=task, case=case, form=form, values=values, errors=errors or {},
        clock=clock, task_clock=_task_clock(clock, task), procedures=SPECIAL_PROCEDURES,
        can_work=policy.may_work_on(actor, task.lane, task.process_key),
        is_lead=actor_is_lead(task.lane) if task.lane else False,
        application=application, start_form=start_form, events=events,
        labels=EVENT_LABELS, colleagues=colleagues, task_names=task_names,
        results=results), status


def _task_clock(clock: dict | None, task) -> dict | None:
    """The clock this task runs on: its item's, else the case's."""
    if not clock:
        return None
    return next((c for c in clock.get("items", []) if c["scope"] == task.process_key), clock)


def actor_is_lead(lane: str) -> bool:
    return policy.leads(current_actor(), lane)


def _assignees(rt: Runtime, task) -> list[tuple[str, str]]:
    """The colleagues a lead may hand the task to: people of its lane who may work on it
    (审管分离: never a supervisor for an approval task)."""
    return [(username, name) for username, name in rt.users.in_group(task.lane)
            if (user := rt.users.get(username)) is not None
            and policy.may_work_on(actor_of(user), task.lane, task.process_key)]


@bp.get("/tasks/<task_id>")
@login_required
def show(task_id: str):
    return _task_page(task_id)


@bp.post("/tasks/<task_id>")
@login_required
def complete(task_id: str):
    rt, actor = runtime(), current_actor()
    try:
        target = hall_tasks.form_to_complete(rt, task_id, actor)  # refused before any upload
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for("tasks.index"))
    values = formpost.submitted_values(request, target.form, rt, actor.username)
    try:
        done = hall_tasks.complete(rt, task_id, values, actor, lang=_lang())
    except ValidationFailed as exc:
        return _task_page(task_id, values=values, errors=exc.fields, status=422)
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    flash(_("已办结：%(name)s（%(number)s）", name=done.task.name, number=done.case.number),
          "success")
    if done.next_task is None:
        return redirect(url_for("tasks.index"))
    return redirect(url_for("tasks.show", task_id=done.next_task.id))


def _lang() -> str:
    from .i18n import select_locale

    return select_locale()


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str):
    hall_tasks.claim(runtime(), task_id, current_actor())
    flash(_("已认领"), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str):
    hall_tasks.hand_back(runtime(), task_id, current_actor())
    flash(_("已退回本部门队列"), "success")
    return redirect(url_for("tasks.index"))


@bp.post("/tasks/<task_id>/assign")
@login_required
def assign(task_id: str):
    assignee = (request.form.get("assignee") or "").strip()
    if not assignee:
        flash(_("请选择改派对象"), "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    hall_tasks.assign(runtime(), task_id, assignee, current_actor())
    flash(_("已改派给 %(who)s", who=assignee), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<task_id>/extend")
@login_required
def extend(task_id: str):
    raw = (request.form.get("amount") or "").strip()
    amount = int(raw) if raw.isdigit() and len(raw) < 4 else 0
    hall_tasks.extend(runtime(), task_id, amount, request.form.get("reason") or "",
                      current_actor())
    flash(_("已延期 %(n)s 个工作日", n=amount), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<task_id>/procedure")
@login_required
def procedure(task_id: str):
    chosen = request.form.get("procedure") or None
    hall_tasks.special_procedure(runtime(), task_id, chosen, current_actor())
    flash(_("特别程序开始，计时暂停") if chosen else _("特别程序结束，计时恢复"), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.get("/notifications")
@login_required
def notifications():
    rt = runtime()
    items = rt.escalations.unread(current_actor().username)
    return render_template("tasks/notifications.html", items=items)


@bp.post("/notifications/read")
@login_required
def notifications_read():
    runtime().escalations.mark_read(current_actor().username)
    return redirect(url_for("tasks.index"))


@bp.get("/materials/<upload_id>")
@login_required
def material(upload_id: str):
    # Only for readers of a case it belongs to, or its uploader while unused; 404 otherwise
    # (also for an id that exists), so ids cannot be probed.
    stored = runtime().uploads.readable(upload_id, current_actor())
    if stored is None:
        abort(404)
    path = runtime().uploads.path_of(stored.sha256)
    inline = stored.content_type.startswith("image/") or stored.content_type == "application/pdf"
    return send_file(path, mimetype=stored.content_type, as_attachment=not inline,
                     download_name=stored.name, max_age=0)
