"""The `onething` command line (console script `onething = cli:main` in setup.cfg), one
module per command group:

    onething db upgrade            create or migrate the schema at DATABASE_URL   (cli/db.py)
    onething deploy [PATH ...]     validate and deploy BPMN files (default: processes/)
    onething forms report KEY      the one-form report of a one-thing          (cli/deploy.py)
    onething serve [--host --port] run the web app (development server)
    onething worker [--once]       fire due timers, escalate, run the loops' jobs (cli/serve.py)
    onething demo [--json]         seed demo users and sample cases              (cli/demo.py)
    onething audit ... / replay    the auditor's commands                       (cli/audit.py)
    onething studio ... / catalogue ...   versions, migration, the item catalogue (cli/studio.py)
    onething ratings / supervision / workorders / reminders ...                 (cli/loops.py)
    onething calendar status|import   the working-day calendar               (cli/calendar.py)
    onething users list|add|set-roles|deactivate|reset-password ...          (cli/users.py)
    onething departments list|add|deactivate ...                       (cli/departments.py)

Every command exits 0 on success and 1 with `错误：<message>` on a refused action.
"""
from __future__ import annotations

import argparse
import sys

from engine.errors import OneThingError

from . import audit, calendar, db, demo, departments, deploy, loops, serve, studio, users

COMMAND_GROUPS = (db, deploy, serve, demo, calendar, audit, studio, loops, users, departments)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onething", description="OneThing 一窗受理·一次办好")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:  # each group adds its own commands
        group.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from engine.hall.database import database_trouble

    try:
        return args.func(args)
    except OneThingError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 1
    except Exception as exc:
        reason = database_trouble(exc)
        if reason is None:
            raise
        print(f"错误：数据库无法使用（{reason}）。请确认 DATABASE_URL，并先运行 onething db upgrade",
              file=sys.stderr)
        return 1
