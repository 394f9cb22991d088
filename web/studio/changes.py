"""Studio pages for what changes between versions: the version diff and the migration of
running cases. HTTP only: the diff is engine/versiondiff.py, the migration engine/migration.py."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, NotFound
from engine.studio.migration import MigrationRefused, Migrations

from ..auth import current_actor, roles_required
from . import bp
from ..i18n import N_
from ..runtime import runtime

ANALYST = "analyst"
MAX_CHECKED_CASES = 200  # dry runs shown on one page


# The words of engine/versiondiff.py, marked for translation (the engine has no Babel).
STATUS_LABELS = {"added": N_("新增"), "removed": N_("删除"), "changed": N_("修改")}
ASPECT_LABELS = {
    "type": N_("类型"), "name": N_("名称"), "lane": N_("泳道（办理部门）"), "condition": N_("条件"),
    "default": N_("默认连线"), "script": N_("脚本"), "timer": N_("定时"), "event": N_("事件定义"),
    "called": N_("调用的流程"), "loop": N_("多实例设置"), "attached": N_("依附的任务"),
    "parent": N_("所在子流程"), "properties": N_("扩展属性"), "form_key": N_("表单标识"),
    "source": N_("起点"), "target": N_("终点"),
}
FIELD_LABELS = {"label": N_("标签"), "type": N_("类型"), "required": N_("必填"),
                "default": N_("默认值"), "constraints": N_("校验约束"), "options": N_("选项"),
                "properties": N_("属性")}
TYPE_LABELS = {
    "startEvent": N_("开始事件"), "endEvent": N_("结束事件"), "intermediateCatchEvent": N_("中间捕获事件"),
    "intermediateThrowEvent": N_("中间抛出事件"), "boundaryEvent": N_("边界事件"),
    "userTask": N_("人工任务"), "scriptTask": N_("脚本任务"), "serviceTask": N_("服务任务"),
    "manualTask": N_("手工任务"), "task": N_("任务"), "sendTask": N_("发送任务"),
    "receiveTask": N_("接收任务"), "businessRuleTask": N_("业务规则任务"),
    "callActivity": N_("调用活动"), "subProcess": N_("子流程"), "exclusiveGateway": N_("排他网关"),
    "parallelGateway": N_("并行网关"), "inclusiveGateway": N_("包容网关"),
    "eventBasedGateway": N_("事件网关"), "complexGateway": N_("复杂网关"), "sequenceFlow": N_("连线"),
}


def migrations() -> Migrations:
    return Migrations(runtime().cases)


def _process(processes, key: str | None):
    return next((p for p in processes if p.key == key), None)


def _int_arg(source, name: str) -> int | None:
    value = source.get(name, type=int)
    return value if value is not None and 0 < value < 2**31 else None


@bp.get("/studio/diff")
@roles_required(ANALYST)
def diff():
    """Pick a process and two versions; see what changed, in words and on the diagram."""
    service = migrations()
    processes = service.processes()
    process = _process(processes, request.args.get("key"))
    old, new, result = _int_arg(request.args, "old"), _int_arg(request.args, "new"), None
    if process is not None:
        versions = process.versions
        new = new if new in versions else versions[0]
        older = [v for v in versions if v != new]
        old = old if old in versions else (older[0] if older else new)
        result = service.diff(process.key, old, new)
    elif request.args.get("key"):
        raise NotFound(_("流程不存在"))
    return render_template("studio/diff.html", processes=processes, process=process, old=old,
                           new=new, result=result, statuses=STATUS_LABELS,
                           aspects=ASPECT_LABELS, field_aspects=FIELD_LABELS, types=TYPE_LABELS)


def _migrations_page(*, refusal=None, status: int = 200, key=None, version=None, to=None):
    service = migrations()
    processes = service.processes()
    key = key or request.args.get("key")
    version = version or _int_arg(request.args, "version")
    to = to or _int_arg(request.args, "to")
    process = _process(processes, key)
    if key and process is None:
        raise NotFound(_("流程不存在"))
    checks, cases = [], []
    if process is not None and version in process.versions:
        to = to if to in process.versions else process.versions[0]
        cases = service.cases_on(process.key, version)
        checks = [service.check(c.id, process.key, to) for c in cases[:MAX_CHECKED_CASES]] \
            if to != version else []
    elif process is not None:
        version = None
    history = service.history(key=process.key if process else None)
    return render_template("studio/migrations.html", processes=processes, process=process,
                           version=version, to=to, cases=cases, checks=checks,
                           history=history, refusal=refusal,
                           more=max(0, len(cases) - MAX_CHECKED_CASES)), status


@bp.get("/studio/migrations", endpoint="migrations")
@roles_required(ANALYST)
def migrations_page():
    """Per version: its running cases with a dry run each, migrate one or all, history."""
    return _migrations_page()


def _form_target():
    key = request.form.get("key", "")
    version, to = _int_arg(request.form, "version"), _int_arg(request.form, "to")
    if not key or version is None or to is None:
        raise NotFound(_("请选择流程、原版本和目标版本"))
    return key, version, to


def _back(key, version, to):
    return redirect(url_for("studio.migrations", key=key, version=version, to=to))


@bp.post("/studio/migrations/case")
@roles_required(ANALYST)
def migrate_case():
    key, version, to = _form_target()
    case = request.form.get("case", "").strip()
    if not case:
        raise NotFound(_("请选择办件"))
    try:
        done = migrations().migrate(case[:40], key, to, current_actor().username,
                                    from_version=version)
    except MigrationRefused as refused:
        return _migrations_page(refusal=refused, status=409, key=key, version=version, to=to)
    except Conflict as conflict:
        return _migrations_page(refusal=conflict, status=409, key=key, version=version, to=to)
    flash(_("办件 %(number)s 已迁移到 v%(to)s", number=done.case_number, to=done.to_version),
          "success")
    return _back(key, version, to)


@bp.post("/studio/migrations/all")
@roles_required(ANALYST)
def migrate_all():
    key, version, to = _form_target()
    result = migrations().migrate_all(key, version, to, current_actor().username)
    flash(_("已迁移 %(done)s 件，%(refused)s 件不能迁移（原因见列表）",
            done=len(result.migrated), refused=len(result.refused)),
          "success" if not result.refused else "info")
    return _back(key, version, to)


@bp.post("/studio/migrations/<int:migration_id>/revert")
@roles_required(ANALYST)
def revert_migration(migration_id: int):
    try:
        done = migrations().revert(migration_id, current_actor().username)
    except Conflict as conflict:
        return _migrations_page(refusal=conflict, status=409,
                                key=request.form.get("key") or None)
    flash(_("已撤销办件 %(number)s 的迁移，办件回到 v%(v)s", number=done.case_number,
            v=done.from_version), "success")
    return redirect(url_for("studio.migrations", key=done.process_key,
                            version=done.from_version, to=done.to_version))
