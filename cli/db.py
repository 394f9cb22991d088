"""`onething db upgrade`: create or migrate the schema at DATABASE_URL."""
from __future__ import annotations

from cli.common import open_runtime


def cmd_db(args) -> int:
    runtime = open_runtime()
    runtime.db.upgrade()
    print(f"schema up to date at {runtime.db.engine.url.render_as_string(hide_password=True)}")
    return 0


def add_commands(sub) -> None:
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="create or migrate the schema").set_defaults(func=cmd_db)
