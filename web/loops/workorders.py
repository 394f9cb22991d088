"""12345 work orders: the hotline's intake page (受理), the order list with counts per
state, one order's page, and 派单 from a list of departments. The other steps (签收/退单,
办理答复, 延期审批, 回访) are ordinary tasks in the task list, routed by the diagram."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import ValidationFailed
from engine.loops.workorders import STATE_LABELS

from .. import formsource
from ..auth import current_actor, roles_required
from ..i18n import select_locale
from . import bp
from ..runtime import runtime

INTAKE_FIELDS = ("citizen_name", "citizen_phone", "category", "content", "address")
READERS = ("hotline", "frontdesk", "approver", "lead", "auditor", "admin")


@bp.get("/workorders")
@roles_required(*READERS)
def workorders():
    rt, actor = runtime(), current_actor()
    state = request.args.get("state") if request.args.get("state") in STATE_LABELS else None
    return render_template("loops/workorders.html", orders=rt.loops.workorders.orders(
        actor, state=state), counts=rt.loops.workorders.counts(actor), state=state,
        labels=STATE_LABELS, may_intake=bool({"hotline", "admin"} & actor.roles),
        now=rt.clock.now())


@bp.get("/workorders/new")
@roles_required("hotline")
def workorder_new():
    return _intake_page({}, {})


@bp.post("/workorders/new")
@roles_required("hotline")
def workorder_create():
    rt = runtime()
    values = {key: request.form.get(key, "") for key in INTAKE_FIELDS}
    try:
        case = rt.loops.workorders.intake(current_actor(), values)
    except ValidationFailed as exc:
        return _intake_page(values, exc.fields, status=422)
    flash(_("工单已受理：%(number)s，请派单", number=case.number), "success")
    return redirect(url_for("loops.workorder", case_id=case.id))


def _intake_page(values, errors, status=200):
    categories = runtime().loops.workorders.limits
    return render_template("loops/workorder_new.html", values=values, errors=errors,
                           categories=categories), status


@bp.get("/workorders/<int:case_id>")
@roles_required(*READERS)
def workorder(case_id: int):
    return _order_page(case_id)


@bp.post("/workorders/<int:case_id>/dispatch")
@roles_required("hotline")
def workorder_dispatch(case_id: int):
    """派单 from the order page: the same validation as the task page, with the
    departments offered as a list instead of typed."""
    rt, actor = runtime(), current_actor()
    task = _open_task(case_id, "dispatch")
    if task is None:
        flash(_("该工单当前不在派单环节"), "error")
        return redirect(url_for("loops.workorder", case_id=case_id))
    co = request.form.getlist("co_departments")
    values = {"handler_department": request.form.get("handler_department", ""),
              "co_departments": ",".join(c for c in co if c),
              "dispatch_note": request.form.get("dispatch_note", "")}
    try:
        form = formsource.task_form(rt, task)
        data = formsource.clean(form, values, lang=select_locale(),
                                current=rt.cases.task_data(task.id))
        rt.cases.complete(task.id, data, actor)
    except ValidationFailed as exc:
        return _order_page(case_id, values=values, errors=exc.fields, status=422)
    flash(_("已派单至 %(department)s", department=values["handler_department"]), "success")
    return redirect(url_for("loops.workorder", case_id=case_id))


def _open_task(case_id: int, spec: str):
    rt = runtime()
    case = rt.cases.get_case(case_id, current_actor())
    return next((t for t in case.tasks if t.task_spec == spec), None)


def _order_page(case_id: int, *, values=None, errors=None, status=200):
    rt, actor = runtime(), current_actor()
    order = rt.loops.workorders.get(case_id, actor)
    case = rt.cases.get_case(case_id, actor)
    if case.process_key != "hotline_workorder":
        abort(404)
    dispatch = next((t for t in case.tasks if t.task_spec == "dispatch"), None)
    return render_template("loops/workorder.html", order=order, case=case, dispatch=dispatch,
                           departments=rt.loops.workorders.departments(),
                           may_dispatch="hotline" in actor.roles or actor.is_admin,
                           values=values or {}, errors=errors or {}, labels=STATE_LABELS), status
