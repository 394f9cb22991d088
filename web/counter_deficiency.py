"""容缺受理 at the counter after acceptance: the printable 容缺受理通知书, the page where
the applicant's deferred materials are supplied (uploaded, or pulled from the data-sharing
platform when a department issues them), and the printable 退件通知书 of a case the timer
withdrew because they never came. The logic is `engine.acceptance.deficiency.Deficiencies`; these
views only read the request and render."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.cases.eventlog import application_of
from engine.acceptance.connectors import SharingUnavailable, pull_material
from engine.acceptance.deficiency import AT_COUNTER, SHARED, Deficiency
from engine.errors import NotFound, OneThingError

from . import counter_documents as documents
from .auth import current_actor, roles_required
from .counter import bp, catalogue, runtime
from .counter_sharing import sharing
from .errors import status_of

WITHDRAWN = "5"  # 办结结果 退件


@bp.get("/counter/cases/<int:case_id>/deficiency-notice")
@roles_required("frontdesk")
def deficiency_notice(case_id: int):
    """容缺受理通知书: each deferred material with its deadline, as recorded at acceptance."""
    return documents.render_deficiency(runtime(), catalogue(), current_actor(), case_id,
                                       "counter/deficiency_notice.html")


@bp.get("/counter/cases/<int:case_id>/materials")
@roles_required("frontdesk")
def materials(case_id: int):
    return _supply_page(case_id)


@bp.post("/counter/cases/<int:case_id>/materials")
@roles_required("frontdesk")
def supply(case_id: int):
    rt, actor = runtime(), current_actor()
    case, items = rt.deficiencies.status(case_id, actor)
    field_id = request.form.get("field", "")
    entry = next((d for d in items if d.field == field_id), None)
    if entry is None:
        return _supply_page(case_id, errors={"_form": _("请选择容缺清单中的材料")}, status=422)
    try:
        if request.form.get("action") == "pull":
            upload_id, issuer = _pull(case, entry)
            source = SHARED
        else:
            upload_id, issuer, source = _upload(field_id), None, AT_COUNTER
        rt.deficiencies.supply(case_id, field_id, upload_id, actor, source=source, issuer=issuer)
    except (OneThingError, SharingUnavailable) as exc:
        return _supply_page(case_id, errors={field_id: exc.message}, status=_status(exc))
    left = rt.deficiencies.outstanding(case_id, actor)
    if left:
        flash(_("已补交「%(name)s」，还有 %(n)s 份材料待补", name=entry.name, n=len(left)),
              "success")
    else:
        flash(_("容缺材料已全部补齐，办件可以统一出件"), "success")
    return redirect(url_for("counter.materials", case_id=case_id))


def _status(exc) -> int:
    """The HTTP status of a refusal (web/errors.py has the one mapping)."""
    return status_of(exc) if isinstance(exc, OneThingError) else 503


def _upload(field_id: str) -> str:
    upload = request.files.get("upload")
    if upload is None or not upload.filename:
        raise _Missing(_("请选择要上传的材料文件"))
    return runtime().uploads.save(upload.stream, upload.filename, current_actor().username).id


def _pull(case, entry: Deficiency) -> tuple[str, str]:
    """零材料: fetch a department-issued material from the data-sharing platform."""
    material = catalogue().material(case.process_key, entry.field)
    if material is None or not material.shared or not material.subject_field:
        raise _Missing(_("该材料不是部门核发材料，不能通过数据共享调取，请上传"))
    subject = str((case.data or {}).get(material.subject_field) or "")
    pulled = pull_material(sharing(), runtime().uploads, material.material_code, subject,
                           actor=current_actor().username) if subject else None
    if pulled is None:
        raise _Missing(_("数据共享平台未查到该材料，请申请人提供后上传"))
    return pulled.upload.id, pulled.document.department


class _Missing(OneThingError):
    code = "validation_failed"


def _supply_page(case_id: int, *, errors=None, status: int = 200):
    rt = runtime()
    case, items = rt.deficiencies.status(case_id, current_actor())
    shared = {d.field for d in items
              if (m := catalogue().material(case.process_key, d.field)) is not None and m.shared}
    return render_template("counter/supply.html", case=case, items=items, shared=shared,
                           errors=errors or {},
                           gate=[t for t in case.tasks if t.task_spec == "deficiency_supply"]
                           ), status


@bp.get("/counter/cases/<int:case_id>/withdrawal")
@roles_required("frontdesk")
def withdrawal(case_id: int):
    """退件通知书 of a case ended because deferred materials were not supplied in time."""
    rt, actor = runtime(), current_actor()
    case, items = rt.deficiencies.status(case_id, actor)
    data = case.data or {}
    if str(data.get("outcome_code")) != WITHDRAWN:
        raise NotFound(_("办件 %(number)s 未作退件处理", number=case.number))
    events = rt.cases.events(case_id, actor)
    application = application_of(events)
    clerk = rt.users.get(case.created_by or "")
    return render_template(
        "counter/withdrawal.html", case=case, application=application,
        applicant=documents.applicant_of(application), entry=catalogue().get(case.process_key),
        region=catalogue().region, reason=data.get("withdrawn_reason"),
        missing=[d for d in items if not d.supplied], supplied=[d for d in items if d.supplied],
        first_asked=clerk.display_name if clerk else case.created_by)
