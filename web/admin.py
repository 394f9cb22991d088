"""Administration: people (roles, departments, sign-in, API tokens) and the departments and
windows they belong to. Only role admin. Every change goes through engine.people.users /
engine.people.departments, which log it on "onething.admin" with who made it."""
from __future__ import annotations

import logging

from flask import (Blueprint, flash, make_response, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional

from engine.errors import Conflict, ValidationFailed
from engine.hall import admin as hall_admin, calendar as hall_calendar
from engine.people.departments import KIND_LABELS, Departments, guess_kind
from engine.people.users import PASSWORD_MIN, ROLES

from .auth import current_actor, roles_required
from .i18n import N_
from .runtime import runtime

bp = Blueprint("admin", __name__, url_prefix="/admin")
log = logging.getLogger("onething.admin")


def departments() -> Departments:
    return Departments(runtime().db)


def actor_name() -> str:
    return current_actor().username


# --- forms ----------------------------------------------------------------------------------

# Choices are not WTForms' business here: the templates list the options, and engine.people.users
# / engine.people.departments refuse an unknown role, a department that is not active or a wrong
# kind with their own (Chinese) messages, shown next to the field.
class UserCreateForm(FlaskForm):
    username = StringField(N_("用户名"), validators=[
        DataRequired(message=N_("请填写用户名")), Length(max=100, message=N_("不能超过 100 个字符"))])
    display_name = StringField(N_("姓名"), validators=[
        Optional(), Length(max=100, message=N_("不能超过 100 个字符"))])
    password = PasswordField(N_("初始密码"), validators=[
        Optional(), Length(min=PASSWORD_MIN, max=200, message=N_("密码至少 8 个字符"))])
    roles = SelectMultipleField(N_("角色"), choices=[], validate_choice=False)
    groups = SelectMultipleField(N_("部门/窗口"), choices=[], validate_choice=False)


class UserEditForm(FlaskForm):
    display_name = StringField(N_("姓名"), validators=[
        DataRequired(message=N_("请填写姓名")), Length(max=100, message=N_("不能超过 100 个字符"))])
    roles = SelectMultipleField(N_("角色"), choices=[], validate_choice=False)
    groups = SelectMultipleField(N_("部门/窗口"), choices=[], validate_choice=False)


class DepartmentForm(FlaskForm):
    name = StringField(N_("名称"), validators=[
        DataRequired(message=N_("请填写名称")), Length(max=200, message=N_("不能超过 200 个字符"))])
    code = StringField(N_("编码"), validators=[
        Optional(), Length(max=50, message=N_("不能超过 50 个字符"))])
    kind = SelectField(N_("类型"), choices=[], default="department", validate_choice=False)


def _role_options(keep: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(role, Chinese label msgid), plus any odd role the person already has."""
    return list(ROLES.items()) + [(r, r) for r in keep if r not in ROLES]


def _group_options(active: list[str], keep: tuple[str, ...] = ()) -> list[str]:
    """Active departments, plus what the person already has (even if since deactivated)."""
    return active + [g for g in keep if g not in active]


def _active_departments() -> list[str]:
    return [d.name for d in departments().list(active_only=True)]


def _apply_errors(form: FlaskForm, exc: ValidationFailed) -> None:
    """Put the engine's field messages next to the form's fields (or above the form)."""
    placed = False
    for name, message in exc.fields.items():
        if name in form._fields:
            form[name].errors = list(form[name].errors) + [message]
            placed = True
    if not placed:
        form.form_errors.append(exc.message)


def _secret(title: str, label: str, secret: str, username: str, note: str):
    """A password or token shown once: never cached, never put in the session."""
    response = make_response(render_template("admin/secret.html", title=title, label=label,
                                             secret=secret, username=username, note=note))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


# --- people ---------------------------------------------------------------------------------

@bp.get("/")
@roles_required("admin")
def index():
    return redirect(url_for("admin.users"))


def _users_page(form: UserCreateForm, status: int = 200):
    active = _active_departments()
    return render_template("admin/users.html", users=runtime().users.list(), form=form,
                           roles=ROLES, role_options=_role_options(), group_options=active,
                           active_departments=set(active), password_min=PASSWORD_MIN), status


@bp.get("/users")
@roles_required("admin")
def users():
    return _users_page(UserCreateForm())


@bp.post("/users")
@roles_required("admin")
def create_user():
    form = UserCreateForm()
    if not form.validate_on_submit():
        return _users_page(form, 422)
    try:
        user, password = runtime().users.add(
            form.username.data, form.password.data or None, display_name=form.display_name.data,
            roles=form.roles.data, groups=form.groups.data, actor=actor_name())
    except ValidationFailed as exc:
        _apply_errors(form, exc)
        return _users_page(form, 422)
    except Conflict as exc:
        form.username.errors = list(form.username.errors) + [exc.message]
        return _users_page(form, 409)
    if form.password.data:
        flash(_("已创建用户 %(name)s", name=user.username), "success")
        return redirect(url_for("admin.users"))
    return _secret(_("已创建用户 %(name)s", name=user.username), _("初始密码"), password,
                   user.username, _("请将初始密码当面交给本人，并提醒其首次登录后妥善保管。"))


@bp.route("/users/<username>", methods=["GET", "POST"])
@roles_required("admin")
def edit_user(username: str):
    rt = runtime()
    user = rt.users.view(username)
    form = UserEditForm(data={"display_name": user.display_name, "roles": list(user.roles),
                              "groups": list(user.groups)})
    status = 200
    if form.validate_on_submit():
        try:
            rt.users.update(username, roles=form.roles.data, groups=form.groups.data,
                            display_name=form.display_name.data, actor=actor_name())
        except ValidationFailed as exc:
            _apply_errors(form, exc)
            status = 422
        except Conflict as exc:
            form.form_errors.append(exc.message)
            status = 409
        else:
            flash(_("已保存用户 %(name)s", name=username), "success")
            return redirect(url_for("admin.users"))
    elif form.is_submitted():
        status = 422
    active = _active_departments()
    return render_template("admin/user_edit.html", user=user, form=form,
                           role_options=_role_options(user.roles),
                           group_options=_group_options(active, user.groups),
                           active_departments=set(active)), status


def _user_action(username: str, do):
    """Run one button's change: (result, None), or (None, a redirect) when the engine
    refused it (e.g. deactivating oneself, or the last admin)."""
    runtime().users.view(username)  # 404 for nobody
    try:
        return do(), None
    except (Conflict, ValidationFailed) as exc:
        flash(exc.message, "error")
        return None, redirect(url_for("admin.edit_user", username=username))


@bp.post("/users/<username>/deactivate")
@roles_required("admin")
def deactivate_user(username: str):
    _done, refused = _user_action(
        username, lambda: runtime().users.deactivate(username, actor=actor_name()))
    if refused:
        return refused
    flash(_("已停用用户 %(name)s：不能再登录，API 令牌已作废", name=username), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<username>/activate")
@roles_required("admin")
def activate_user(username: str):
    _done, refused = _user_action(
        username, lambda: runtime().users.activate(username, actor=actor_name()))
    if refused:
        return refused
    flash(_("已重新启用用户 %(name)s", name=username), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<username>/password")
@roles_required("admin")
def reset_password(username: str):
    password, refused = _user_action(
        username, lambda: runtime().users.reset_password(username, actor=actor_name()))
    if refused:
        return refused
    return _secret(_("已重置 %(name)s 的密码", name=username), _("新密码"), password, username,
                   _("原密码已失效。请将新密码当面交给本人。"))


@bp.post("/users/<username>/token")
@roles_required("admin")
def issue_token(username: str):
    if not runtime().users.view(username).active:
        flash(_("用户已停用，不能签发 API 令牌"), "error")
        return redirect(url_for("admin.edit_user", username=username))
    token, refused = _user_action(
        username, lambda: runtime().users.issue_token(username, actor=actor_name()))
    if refused:
        return refused
    return _secret(_("已为 %(name)s 签发新的 API 令牌", name=username), _("API 令牌"), token,
                   username, _("令牌只显示这一次，原令牌已作废。调用接口时放在 Authorization: Bearer 请求头中。"))


# --- departments and windows -----------------------------------------------------------------

def _departments_page(form: DepartmentForm, status: int = 200):
    rt = runtime()
    deps = departments()
    members: dict[str, int] = {}
    for user in rt.users.list():
        if user.active:
            for group in user.groups:
                members[group] = members.get(group, 0) + 1
    listed = deps.list()
    return render_template("admin/departments.html", departments=listed, form=form,
                           known={d.name for d in listed},
                           missing=deps.lanes_without_department(rt.definitions),
                           members=members, kinds=KIND_LABELS, guess_kind=guess_kind), status


@bp.get("/departments")
@roles_required("admin")
def department_list():
    return _departments_page(DepartmentForm())


@bp.post("/departments")
@roles_required("admin")
def add_department():
    form = DepartmentForm()
    if not form.validate_on_submit():
        return _departments_page(form, 422)
    try:
        department = departments().add(form.name.data, code=form.code.data,
                                       kind=form.kind.data, actor=actor_name())
    except ValidationFailed as exc:
        _apply_errors(form, exc)
        return _departments_page(form, 422)
    except Conflict as exc:
        form.name.errors = list(form.name.errors) + [exc.message]
        return _departments_page(form, 409)
    flash(_("已添加 %(name)s", name=department.name), "success")
    return redirect(url_for("admin.department_list"))


def _set_department(department_id: int, active: bool):
    deps = departments()
    name = deps.by_id(department_id).name
    deps.set_active(name, active, actor=actor_name())
    if active:
        flash(_("已重新启用 %(name)s", name=name), "success")
    else:
        flash(_("已停用 %(name)s：不能再分配给用户，已有成员不受影响", name=name), "success")
    return redirect(url_for("admin.department_list"))


@bp.post("/departments/<int:department_id>/deactivate")
@roles_required("admin")
def deactivate_department(department_id: int):
    return _set_department(department_id, False)


@bp.post("/departments/<int:department_id>/activate")
@roles_required("admin")
def activate_department(department_id: int):
    return _set_department(department_id, True)


@bp.get("/calendar")
@roles_required("admin")
def calendar(text: str = "", error: str | None = None, status: int = 200):
    """The working-day calendar: which years the official schedule is known for, and the
    import of the State Council's notice for the next year."""
    rt = runtime()
    state = hall_calendar.calendar_state(rt, current_actor())
    next_year = rt.clock.now().year + 1
    known = {y.year for y in state.years}
    return render_template("admin/calendar.html", years=state.years, days=state.days, text=text,
                           error=error, next_year=next_year,
                           next_year_missing=next_year not in known), status


@bp.post("/calendar")
@roles_required("admin")
def import_calendar():
    text = request.form.get("schedule", "")
    try:
        year, count = hall_calendar.import_schedule(runtime(), current_actor(), text[:20000])
    except ValidationFailed as exc:
        return calendar(text=text, error=exc.message, status=422)
    log.info("%s imported the %s holiday schedule (%s days)", actor_name(), year, count)
    flash(_("已导入 %(year)s 年放假安排（%(n)s 天）", year=year, n=count), "success")
    return redirect(url_for("admin.calendar"))


@bp.get("/incidents")
@roles_required("admin")
def incidents():
    """Failed steps and timers that need an administrator."""
    return render_template("admin/incidents.html",
                           incidents=hall_admin.open_incidents(runtime(), current_actor()))


@bp.post("/incidents/<int:incident_id>/retry")
@roles_required("admin")
def retry_incident(incident_id: int):
    hall_admin.retry_incident(runtime(), current_actor(), incident_id)
    flash(_("已重试"), "success")
    return redirect(url_for("admin.incidents"))
