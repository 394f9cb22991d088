"""The `onething` command line (console script declared in setup.cfg).

    onething db upgrade            create or migrate the schema at DATABASE_URL
    onething deploy [PATH ...]     validate and deploy BPMN files (default: processes/)
    onething serve [--host --port] run the web app (development server)
    onething demo [--json]         seed demo users and sample cases
    onething audit verify [CASE]   verify the hash chain of one case or all
    onething users list|add|set-roles|deactivate|reset-password ...   manage people
    onething departments list|add|deactivate ...                      departments and windows
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.errors import InvalidDefinition, OneThingError

PROCESSES = Path(__file__).resolve().parent.parent / "processes"


def _runtime(**options):
    from engine.runtime import build_runtime

    from .formsource import form_check

    return build_runtime(checks=[form_check], **options)


def bpmn_paths(paths: list[str]) -> list[Path]:
    """Files named, and every .bpmn below folders named (default: processes/)."""
    found: list[Path] = []
    for raw in paths or [str(PROCESSES)]:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.rglob("*.bpmn")))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(raw)
    return found


def deploy_paths(runtime, paths: list[Path], actor: str = "cli"):
    from engine.definitions.service import read_bpmn

    files = [read_bpmn(path.read_bytes(), path.name) for path in paths]
    with runtime.db.transaction() as session:
        return runtime.definitions.deploy(session, files, actor=actor, at=runtime.clock.now())


def cmd_db(args) -> int:
    runtime = _runtime()
    runtime.db.upgrade()
    print(f"schema up to date at {runtime.db.engine.url.render_as_string(hide_password=True)}")
    return 0


def cmd_deploy(args) -> int:
    runtime = _runtime()
    try:
        results = deploy_paths(runtime, bpmn_paths(args.paths))
    except FileNotFoundError as exc:
        print(f"找不到文件：{exc}", file=sys.stderr)
        return 1
    except InvalidDefinition as exc:
        print(exc.message, file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    for r in results:
        state = "deployed" if r.created else "unchanged"
        print(f"{r.key}\tv{r.version}\t{r.content_hash}\t{state}")
    return 0


def cmd_serve(args) -> int:
    from . import create_app

    # The development server speaks plain HTTP, so session cookies cannot be Secure here;
    # behind gunicorn and TLS they are.
    create_app({"SESSION_COOKIE_SECURE": False}).run(host=args.host, port=args.port, debug=False)
    return 0


def cmd_demo(args) -> int:
    from engine.worktime.clock import TravellingClock

    from .demo import seed

    runtime = _runtime(clock=TravellingClock())  # stories start days ago
    runtime.db.upgrade()
    deploy_paths(runtime, bpmn_paths([]))
    users = seed(runtime)
    if args.json:
        print(json.dumps({"users": users}, ensure_ascii=False, indent=2))
    else:
        print("演示账号（用户名 / 密码 / API 令牌 / 角色 / 部门）：")
        for u in users:
            print(f"  {u['username']:<12} {u['password']:<14} {u['token']}  "
                  f"{','.join(u['roles'])}  {','.join(u['departments'])}")
    return 0


def _cli_actor() -> str:
    """Who made an admin change from the command line, for the log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli"


def _names(text: str | None) -> list[str]:
    """'a,b，c' (ASCII or Chinese commas) as ['a', 'b', 'c']."""
    return [part.strip() for part in (text or "").replace("，", ",").split(",") if part.strip()]


def _password_from_stdin(args) -> str | None:
    if not args.password_stdin:
        return None
    return sys.stdin.readline().rstrip("\r\n")


def cmd_users_list(args) -> int:
    from engine.people.users import ROLES

    for user in _runtime().users.list():
        state = "active" if user.active else "inactive"
        roles = ",".join(f"{r}({ROLES.get(r, '?')})" for r in user.roles) or "-"
        print(f"{user.username}\t{user.display_name}\t{state}\t{roles}\t"
              f"{','.join(user.groups) or '-'}\t{'token' if user.has_token else '-'}")
    return 0


def cmd_users_add(args) -> int:
    user, password = _runtime().users.add(
        args.username, _password_from_stdin(args), display_name=args.name,
        roles=_names(args.roles), groups=_names(args.departments), actor=_cli_actor())
    print(f"已创建用户 {user.username}（{user.display_name}）")
    if not args.password_stdin:
        print(f"初始密码（只显示这一次）：{password}")
    return 0


def cmd_users_set_roles(args) -> int:
    if not args.roles and not args.no_roles and args.departments is None:
        print("请给出角色、--no-roles 或 --departments", file=sys.stderr)
        return 2
    roles = [] if args.no_roles else (_names(",".join(args.roles)) if args.roles else None)
    groups = _names(args.departments) if args.departments is not None else None
    user = _runtime().users.update(args.username, roles=roles, groups=groups,
                                   actor=_cli_actor())
    print(f"{user.username}\t{','.join(user.roles) or '-'}\t{','.join(user.groups) or '-'}")
    return 0


def cmd_users_deactivate(args) -> int:
    _runtime().users.deactivate(args.username, actor=_cli_actor())
    print(f"已停用用户 {args.username}：不能再登录，API 令牌已作废")
    return 0


def cmd_users_reset_password(args) -> int:
    password = _runtime().users.reset_password(args.username, _password_from_stdin(args),
                                               actor=_cli_actor())
    if args.password_stdin:
        print(f"已重置 {args.username} 的密码")
    else:
        print(f"{args.username} 的新密码（只显示这一次）：{password}")
    return 0


def _departments(runtime=None):
    from engine.people.departments import Departments

    return Departments((runtime or _runtime()).db)


def cmd_departments_list(args) -> int:
    runtime = _runtime()
    departments = _departments(runtime)
    for d in departments.list():
        print(f"{d.name}\t{d.kind}\t{d.code or '-'}\t{'active' if d.active else 'inactive'}")
    missing = departments.lanes_without_department(runtime.definitions)
    if missing:
        print("流程泳道中尚未建立的部门/窗口：", file=sys.stderr)
        for lane, processes in missing.items():
            print(f"  {lane}（{'、'.join(processes)}）", file=sys.stderr)
    return 0


def cmd_departments_add(args) -> int:
    from engine.people.departments import guess_kind

    department = _departments().add(args.name, code=args.code,
                                    kind=args.kind or guess_kind(args.name.strip()),
                                    actor=_cli_actor())
    print(f"已添加 {department.name}（{department.kind_label}）")
    return 0


def cmd_departments_deactivate(args) -> int:
    _departments().deactivate(args.name, actor=_cli_actor())
    print(f"已停用 {args.name}")
    return 0


def cmd_forms_report(args) -> int:
    from .formsource import application_report

    runtime = _runtime()
    with runtime.db.reading() as session:
        definition = runtime.definitions.latest(session, args.key)
        names = {d.key: d.name for d in runtime.definitions.all_latest(session)}
    if definition is None:
        print(f"流程 {args.key} 未部署", file=sys.stderr)
        return 1
    report = application_report(runtime, definition)
    if args.json:
        print(json.dumps({"process": args.key, **report.to_json()}, ensure_ascii=False, indent=2))
        return 0
    print(f"{definition.name}（{args.key} v{definition.version}）")
    for item, count in report.per_item.items():
        print(f"  {names.get(item, item)}\t{count} 项")
    print(f"分别填写合计 {report.total_asked} 项；一表申请 {report.merged} 项；"
          f"减少 {report.removed} 项；{report.text}")
    return 0


def cmd_worker(args) -> int:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # SpiffWorkflow logs every task state change at INFO: the worker's own lines would drown.
    logging.getLogger("spiff").setLevel(logging.WARNING)
    runtime = _runtime()
    if args.once:
        result = runtime.timers.run_once()
        print(f"{result.fired} fired, {result.skipped} skipped, {len(result.failed)} failed, "
              f"{result.notified} notified, {result.jobs} job actions")
        return 1 if result.failed else 0
    try:
        runtime.timers.run_forever(interval=args.interval)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_calendar_status(args) -> int:
    from engine.store.models import CalendarYear

    runtime = _runtime()
    with runtime.db.reading() as session:
        years = {row.year: row for row in session.query(CalendarYear)}
    current = runtime.clock.now().year
    for year in range(min(years, default=current), max([*years, current + 1]) + 1):
        row = years.get(year)
        state = f"{row.source}（{row.imported_by or '-'}）" if row else "未导入：按周一至周五计算"
        print(f"{year}\t{state}")
    return 0 if current + 1 in years or runtime.clock.now().month < 11 else 1


def cmd_calendar_import(args) -> int:
    from engine.cases.clocks import parse_schedule

    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    runtime = _runtime()
    year, days = parse_schedule(text)
    count = runtime.clocks.calendars.import_year(year, days, actor="cli", at=runtime.clock.now())
    print(f"{year}: {count} 天已导入")
    return 0


def _int_or_none(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onething", description="OneThing 一窗受理·一次办好")
    sub = parser.add_subparsers(dest="command", required=True)
    from . import cli_audit, cli_loops, cli_studio  # they import helpers from this module

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="create or migrate the schema").set_defaults(func=cmd_db)

    deploy = sub.add_parser("deploy", help="validate and deploy BPMN files")
    deploy.add_argument("paths", nargs="*")
    deploy.set_defaults(func=cmd_deploy)

    serve = sub.add_parser("serve", help="run the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="seed demo users and cases")
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(func=cmd_demo)

    forms = sub.add_parser("forms", help="forms of deployed processes")
    forms_sub = forms.add_subparsers(dest="forms_command", required=True)
    report = forms_sub.add_parser("report", help="the one-form report (表单优化率) of a one-thing")
    report.add_argument("key")
    report.add_argument("--json", action="store_true")
    report.set_defaults(func=cmd_forms_report)

    worker = sub.add_parser("worker", help="fire due timers and escalate deadlines")
    worker.add_argument("--once", action="store_true", help="one round, then exit")
    worker.add_argument("--interval", type=float, default=5.0, help="seconds between rounds")
    worker.set_defaults(func=cmd_worker)

    calendar = sub.add_parser("calendar", help="working-day calendar (法定节假日)")
    calendar_sub = calendar.add_subparsers(dest="calendar_command", required=True)
    calendar_sub.add_parser("status", help="which years are known").set_defaults(
        func=cmd_calendar_status)
    calendar_import = calendar_sub.add_parser(
        "import", help="import a year's schedule: lines like '2027-01-01 休 元旦'")
    calendar_import.add_argument("file", help="text file, or - for standard input")
    calendar_import.set_defaults(func=cmd_calendar_import)

    for area in (cli_audit, cli_studio, cli_loops):  # each area adds its own commands
        area.add_commands(sub)
    add_user_commands(sub)
    add_department_commands(sub)
    return parser


def add_user_commands(sub) -> None:
    from engine.people.users import ROLES

    roles_help = "roles: " + ", ".join(f"{key} {label}" for key, label in ROLES.items())
    users = sub.add_parser("users", help="people: roles, departments, sign-in",
                           description=roles_help)
    users_sub = users.add_subparsers(dest="users_command", required=True)
    users_sub.add_parser("list", help="list everyone").set_defaults(func=cmd_users_list)

    add = users_sub.add_parser("add", help="create a person (prints a random password)",
                               description=roles_help)
    add.add_argument("username")
    add.add_argument("--name", help="display name (default: the username)")
    add.add_argument("--roles", default="", help="comma-separated, e.g. approver,lead")
    add.add_argument("--departments", default="", help="comma-separated department/window names")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input instead of generating one")
    add.set_defaults(func=cmd_users_add)

    set_roles = users_sub.add_parser("set-roles", help="replace roles (and departments)",
                                     description=roles_help)
    set_roles.add_argument("username")
    set_roles.add_argument("roles", nargs="*", help="the new roles (replace the old ones)")
    set_roles.add_argument("--no-roles", action="store_true", help="remove every role")
    set_roles.add_argument("--departments", default=None,
                           help="comma-separated: replace the departments too ('' for none)")
    set_roles.set_defaults(func=cmd_users_set_roles)

    deactivate = users_sub.add_parser("deactivate", help="no more sign-in or API token")
    deactivate.add_argument("username")
    deactivate.set_defaults(func=cmd_users_deactivate)

    reset = users_sub.add_parser("reset-password", help="set a new random password")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true",
                       help="read the new password from standard input")
    reset.set_defaults(func=cmd_users_reset_password)


def add_department_commands(sub) -> None:
    departments = sub.add_parser("departments", help="departments and windows (= lane names)")
    dep_sub = departments.add_subparsers(dest="departments_command", required=True)
    dep_sub.add_parser("list", help="list them, and lanes that have none") \
        .set_defaults(func=cmd_departments_list)
    add = dep_sub.add_parser("add", help="add a department or window")
    add.add_argument("name", help="exactly the lane name used in the diagrams")
    add.add_argument("--kind", choices=["department", "window"],
                     help="default: window if the name ends with 窗口")
    add.add_argument("--code")
    add.set_defaults(func=cmd_departments_add)
    deactivate = dep_sub.add_parser("deactivate", help="nobody new may be given it")
    deactivate.add_argument("name")
    deactivate.set_defaults(func=cmd_departments_deactivate)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        return args.func(args)
    except OneThingError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 1
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).splitlines()[0] if getattr(exc, "orig", None) else exc.__class__.__name__
        print(f"错误：数据库无法使用（{reason}）。请确认 DATABASE_URL，并先运行 onething db upgrade",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
