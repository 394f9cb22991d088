"""`onething departments ...`: the hall's departments and windows (= lane names)."""
from __future__ import annotations

import sys

from cli.common import cli_actor, open_runtime


def _departments(runtime=None):
    from engine.people.departments import Departments

    return Departments((runtime or open_runtime()).db)


def cmd_departments_list(args) -> int:
    runtime = open_runtime()
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
                                    actor=cli_actor())
    print(f"已添加 {department.name}（{department.kind_label}）")
    return 0


def cmd_departments_deactivate(args) -> int:
    _departments().deactivate(args.name, actor=cli_actor())
    print(f"已停用 {args.name}")
    return 0


def add_commands(sub) -> None:
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
