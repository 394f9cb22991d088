"""The clerk's task list and task page: claim, hand over, complete the generated form."""
from __future__ import annotations

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _
from flask_login import login_required

from engine.cases import canonical
from engine.cases.clocks import SPECIAL_PROCEDURES
from engine.errors import Conflict, ValidationFailed
from engine.hall import policy
from engine.people.users import actor_of
from engine.runtime import Runtime
from engine.store.models import TASK_STATES

from . import formpost, formsource
from .auth import current_actor
from .results import item_results
from .i18n import N_

bp = Blueprint("tasks", __name__)

CLOCK_STATES = {"normal": N_("正常"), "warning": N_("预警"), "overdue": N_("逾期")}
TABS = {"mine": N_("我的任务"), "group": N_("本部门队列"), "all": N_("全部可见")}
EVENT_LABELS = {
    "case_started": N_("收件"), "task_created": N_("任务到达"), "task_claimed": N_("认领"),
    "task_unclaimed": N_("退回认领"), "task_assigned": N_("改派"),
    "task_completed": N_("办理完成"), "task_cancelled": N_("任务取消"),
    "case_completed": N_("办结"), "case_cancelled": N_("撤销"), "incident_raised": N_("故障"),
    "incident_retried": N_("故障重试"), "timer_fired": N_("计时器触发"),
    "clock_started": N_("开始计时"), "clock_paused": N_("暂停计时"),
    "clock_resumed": N_("恢复计时"), "clock_extended": N_("延期"),
    "rating_given": N_("好差评"), "applicant_submitted": N_("申请人网上提交补正"),
    "case_migrated": N_("迁移到新版本"), "migration_reverted": N_("撤销迁移"),
    "supervision_auto_claimed": N_("超时自动认领"), "violation_notice": N_("违法违规通知"),
    "workorder_urged": N_("督办"), "renewal_reminded": N_("续期提醒"),
    "material_supplied": N_("容缺材料补齐"), "result_revoked": N_("撤销许可（核查不通过）"),
}


def runtime() -> Runtime:
    return current_app.extensions["onething"]


@bp.get("/tasks")
@login_required
def index():
    actor = current_actor()
    tab = request.args.get("tab") if request.args.get("tab") in TABS else "group"
    state = request.args.get("state") if request.args.get("state") in (*TASK_STATES, "all") else "open"
    clock = request.args.get("clock") if request.args.get("clock") in CLOCK_STATES else None
    process = request.args.get("process") or None
    rt = runtime()
    filters = {"state": state, "process": process, "clock": clock}
    due = rt.clocks.band(clock) if clock and rt.clocks else None
    tasks = rt.tasks.visible(actor, mine=tab == "mine", departments=tab == "group",
                             state=state, process=process, due=due, limit=200)
    counts = rt.tasks.counts(actor, state=state, process=process, due=due)
    with rt.db.reading() as session:
        processes = [(d.key, d.name) for d in rt.definitions.all_latest(session)]
    clocks = {t.id: rt.clocks.state_of(t.due_at) for t in tasks} if rt.clocks else {}
    return render_template("tasks/index.html", tasks=tasks, tab=tab, tabs=TABS, counts=counts,
                           filters=filters, processes=processes, states=TASK_STATES,
                           clocks=clocks, clock_states=CLOCK_STATES)


def _task_page(task_id: str, *, values=None, errors=None, status: int = 200):
    rt, actor = runtime(), current_actor()
    task = rt.tasks.get(task_id, actor)
    case = rt.cases.get_case(task.case_id, actor)
    form = formsource.task_form(rt, task)
    current = rt.cases.task_data(task.id)
    if values is None:
        values = {f.id: _display(current.get(f.id)) for f in form.fields if f.id in current}
    events = rt.cases.events(task.case_id, actor)
    application = canonical.loads(events[0].payload).get("data", {}) if events else {}
    with rt.db.reading() as session:
        definition = rt.definitions.latest(session, case.process_key)
    start_form = formsource.start_form(rt, definition) if definition else None
    colleagues = _assignees(rt, task) if task.lane and actor_is_lead(task.lane) else []
    task_names = {e.task_spec: canonical.loads(e.payload).get("name", e.task_spec)
                  for e in events if e.kind == "task_created"}
    results = item_results(rt, case.process_key, events, case.tasks, current)
    clock = rt.clocks.summary_of(case.id) if rt.clocks else None
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


def _display(value):
    """A stored value as an input shows it (dates and decimals as text)."""
    encoded = canonical.encode(value)
    if isinstance(encoded, dict) and len(encoded) == 1 and next(iter(encoded)).startswith("$"):
        return next(iter(encoded.values()))
    return encoded


@bp.get("/tasks/<task_id>")
@login_required
def show(task_id: str):
    return _task_page(task_id)


@bp.post("/tasks/<task_id>")
@login_required
def complete(task_id: str):
    rt, actor = runtime(), current_actor()
    task = rt.tasks.get(task_id, actor)
    if task.state != "open":
        flash(_("该任务已办结或已取消"), "error")
        return redirect(url_for("tasks.index"))
    policy.check_work_on(actor, task.lane, task.process_key)  # refused before any input
    form = formsource.task_form(rt, task)
    values = formpost.submitted_values(request, form, rt, actor.username)
    try:
        data = formsource.clean(form, values, lang=_lang(),
                                current=rt.cases.task_data(task_id))
        case = rt.cases.complete(task_id, data, actor)
    except ValidationFailed as exc:
        return _task_page(task_id, values=values, errors=exc.fields, status=422)
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    flash(_("已办结：%(name)s（%(number)s）", name=task.name, number=case.number), "success")
    return redirect(_next_task_url(exclude=task_id))


def _next_task_url(exclude: str) -> str:
    """Straight on to the next task: mine first, then my departments' queue."""
    actor = current_actor()
    for mine in (True, False):
        for task in runtime().tasks.visible(actor, mine=mine, limit=5):
            if task.id != exclude and (mine or task.assignee in (None, actor.username)):
                return url_for("tasks.show", task_id=task.id)
    return url_for("tasks.index")


def _lang() -> str:
    from .i18n import select_locale

    return select_locale()


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str):
    runtime().cases.claim(task_id, current_actor())
    flash(_("已认领"), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str):
    runtime().cases.unclaim(task_id, current_actor())
    flash(_("已退回本部门队列"), "success")
    return redirect(url_for("tasks.index"))


@bp.post("/tasks/<task_id>/assign")
@login_required
def assign(task_id: str):
    assignee = (request.form.get("assignee") or "").strip()
    if not assignee:
        flash(_("请选择改派对象"), "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    runtime().cases.assign(task_id, assignee, current_actor())
    flash(_("已改派给 %(who)s", who=assignee), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<task_id>/extend")
@login_required
def extend(task_id: str):
    raw = (request.form.get("amount") or "").strip()
    amount = int(raw) if raw.isdigit() and len(raw) < 4 else 0
    runtime().cases.extend_clock(task_id, amount, request.form.get("reason") or "",
                                 current_actor())
    flash(_("已延期 %(n)s 个工作日", n=amount), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<task_id>/procedure")
@login_required
def procedure(task_id: str):
    chosen = request.form.get("procedure") or None
    runtime().cases.special_procedure(task_id, chosen, current_actor())
    flash(_("特别程序开始，计时暂停") if chosen else _("特别程序结束，计时恢复"), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.get("/notifications")
@login_required
def notifications():
    rt = runtime()
    items = rt.escalations.unread(current_actor().username) if rt.escalations else []
    return render_template("tasks/notifications.html", items=items)


@bp.post("/notifications/read")
@login_required
def notifications_read():
    rt = runtime()
    if rt.escalations:
        rt.escalations.mark_read(current_actor().username)
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
