"""`onething calendar status|import`: the working-day calendar (法定节假日) by year."""
from __future__ import annotations

import sys
from pathlib import Path

from cli.common import open_runtime


def _operator():
    """The operator at the command line keeps the calendar as an administrator would."""
    from engine.cases.dto import Actor

    return Actor("cli", frozenset({"admin"}))


def cmd_calendar_status(args) -> int:
    from engine.hall.calendar import calendar_state

    runtime = open_runtime()
    years = {row.year: row for row in calendar_state(runtime, _operator()).years}
    current = runtime.clock.now().year
    for year in range(min(years, default=current), max([*years, current + 1]) + 1):
        row = years.get(year)
        state = f"{row.source}（{row.imported_by or '-'}）" if row else "未导入：按周一至周五计算"
        print(f"{year}\t{state}")
    return 0 if current + 1 in years or runtime.clock.now().month < 11 else 1


def cmd_calendar_import(args) -> int:
    from engine.hall.calendar import import_schedule

    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    year, count = import_schedule(open_runtime(), _operator(), text)
    print(f"{year}: {count} 天已导入")
    return 0


def add_commands(sub) -> None:
    calendar = sub.add_parser("calendar", help="working-day calendar (法定节假日)")
    calendar_sub = calendar.add_subparsers(dest="calendar_command", required=True)
    calendar_sub.add_parser("status", help="which years are known").set_defaults(
        func=cmd_calendar_status)
    calendar_import = calendar_sub.add_parser(
        "import", help="import a year's schedule: lines like '2027-01-01 休 元旦'")
    calendar_import.add_argument("file", help="text file, or - for standard input")
    calendar_import.set_defaults(func=cmd_calendar_import)
