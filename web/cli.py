"""The `onething` command line (console script declared in setup.cfg).

    onething db upgrade            create or migrate the schema at DATABASE_URL
    onething deploy [PATH ...]     validate and deploy BPMN files (default: processes/)
    onething serve [--host --port] run the web app (development server)
    onething demo [--json]         seed demo users and sample cases
    onething audit verify [CASE]   verify the hash chain of one case or all
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.errors import InvalidDefinition, OneThingError

PROCESSES = Path(__file__).resolve().parent.parent / "processes"


def _runtime():
    from engine.runtime import build_runtime

    from .formsource import form_check

    return build_runtime(checks=[form_check])


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
    from engine.definitions import read_bpmn

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
    from .demo import seed

    runtime = _runtime()
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


def cmd_audit_verify(args) -> int:
    from sqlalchemy import select

    from engine.audit import verify_case
    from engine.store.models import CaseRecord

    runtime = _runtime()
    broken = checked = 0
    with runtime.db.reading() as session:
        query = select(CaseRecord).order_by(CaseRecord.id)
        if args.case:
            query = query.where((CaseRecord.number == args.case)
                                | (CaseRecord.id == _int_or_none(args.case)))
        cases = list(session.scalars(query))
        if args.case and not cases:
            print(f"办件 {args.case} 不存在", file=sys.stderr)
            return 1
        for case in cases:
            report = verify_case(session, case)
            checked += 1
            if not report.ok:
                broken += 1
                print(f"BROKEN {case.number} (id {case.id}): event #{report.first_broken_seq}: "
                      f"{report.problems[0]}")
            elif args.case:
                print(f"OK {case.number}: {report.events} events, head {case.head_hash}")
    print(f"{checked} case(s) checked, {broken} broken")
    return 1 if broken else 0


def _int_or_none(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onething", description="OneThing 一窗受理·一次办好")
    sub = parser.add_subparsers(dest="command", required=True)

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

    audit = sub.add_parser("audit", help="audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="verify hash chains")
    verify.add_argument("case", nargs="?")
    verify.set_defaults(func=cmd_audit_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except OneThingError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
