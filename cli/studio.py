"""`onething studio ...` and `onething catalogue ...`: the analyst's commands.

- studio diff KEY V1 V2                    what changed from v1 to v2, one line per change
- studio migrate KEY --from V --to V [--case NUMBER] [--dry-run]
                                           move running cases (one, or all of a version);
                                           refused cases are listed with their reasons
- studio migrations [KEY]                  the migration history
- studio revert MIGRATION                  undo a migration (until the case moves on)
- catalogue validate [FILE]                check a catalogue file (default: the shipped one)
- catalogue import FILE [--as USER]        validate and save it as the next version
- catalogue history                        the saved versions
- catalogue export [--version N]           print a version (default: the one in use) as JSON
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from cli.common import open_runtime

CLI_ACTOR = "cli"


def _migrations():
    from engine.studio.migration import Migrations

    return Migrations(open_runtime().cases)


def cmd_diff(args) -> int:
    result = _migrations().diff(args.key, args.old, args.new)
    if result.empty:
        print(f"{args.key} v{args.old} → v{args.new}：流程和表单没有区别")
        return 0
    print(f"{args.key} v{args.old} → v{args.new}：新增 {len(result.added)}，删除 "
          f"{len(result.removed)}，修改 {len(result.changed)}")
    for line in result.describe():
        print(f"- {line}")
    return 0


def cmd_migrate(args) -> int:
    from engine.studio.migration import MigrationRefused

    service = _migrations()
    if args.dry_run:
        checks = ([service.check(args.case, args.key, args.to)] if args.case
                  else service.check_all(args.key, args.source, args.to))
        for check in checks:
            verdict = "可以迁移" if check.allowed else "不能迁移：" + "；".join(check.reasons)
            where = "、".join(check.at) or "尚未进入或已办完该流程"
            print(f"{check.case.number}（位于 {where}）：{verdict}")
        if not checks:
            print(f"{args.key} v{args.source} 上没有办理中的办件")
        return 0 if all(c.allowed for c in checks) else 1
    if args.case:
        try:
            done = service.migrate(args.case, args.key, args.to, args.actor,
                                   from_version=args.source)
        except MigrationRefused as refused:
            print(f"不能迁移 {args.case}：", file=sys.stderr)
            for reason in refused.reasons:
                print(f"- {reason}", file=sys.stderr)
            return 1
        print(f"已迁移 {done.case_number}：{done.process_key} v{done.from_version} → "
              f"v{done.to_version}（迁移记录 {done.id}）")
        return 0
    result = service.migrate_all(args.key, args.source, args.to, args.actor)
    for done in result.migrated:
        print(f"已迁移 {done.case_number}（迁移记录 {done.id}）")
    for check in result.refused:
        print(f"不能迁移 {check.case.number}：" + "；".join(check.reasons))
    print(f"共迁移 {len(result.migrated)} 件，{len(result.refused)} 件不能迁移")
    return 1 if result.refused else 0


def cmd_migrations(args) -> int:
    for m in _migrations().history(key=args.key):
        state = (f"已由 {m.reverted_by} 撤销" if m.reverted_at
                 else "可撤销" if m.revertible else "办件已继续办理")
        print(f"{m.id}\t{m.migrated_at.isoformat(timespec='seconds')}\t{m.case_number}\t"
              f"{m.process_key} v{m.from_version}→v{m.to_version}\t{m.migrated_by}\t{state}")
    return 0


def cmd_revert(args) -> int:
    done = _migrations().revert(args.migration, args.actor)
    print(f"已撤销迁移 {done.id}：办件 {done.case_number} 回到 {done.process_key} v{done.from_version}")
    return 0


def cmd_catalogue_validate(args) -> int:
    from engine.definitions.catalogue import DEFAULT_PATH
    from engine.definitions.catalogue_store import CatalogueInvalid, check, decode

    path = Path(args.file or DEFAULT_PATH)
    try:
        parsed, problems = check(decode(path.read_bytes()))
    except CatalogueInvalid as invalid:
        parsed, problems = None, invalid.problems
    except OSError as exc:
        print(f"错误：无法读取 {path}（{exc.strerror}）", file=sys.stderr)
        return 1
    if problems:
        print(f"{path.name}：{len(problems)} 处错误", file=sys.stderr)
        for problem in problems:
            print(f"- {problem}", file=sys.stderr)
        return 1
    print(f"{path.name}：有效，{len(parsed.entries)} 个事项")
    try:
        runtime = open_runtime()
        for warning in runtime.catalogues.warnings(runtime.definitions, decode(path.read_bytes())):
            print(f"注意：{warning}")
    except Exception:  # noqa: BLE001 — no database yet: the file itself is what was asked
        pass
    return 0


def cmd_catalogue_import(args) -> int:
    from engine.definitions.catalogue_store import CatalogueInvalid, decode

    try:
        data = decode(Path(args.file).read_bytes())
        view = open_runtime().catalogues.save(data, args.actor)
    except CatalogueInvalid as invalid:
        print(f"未导入：{len(invalid.problems)} 处错误", file=sys.stderr)
        for problem in invalid.problems:
            print(f"- {problem}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"错误：无法读取 {args.file}（{exc.strerror}）", file=sys.stderr)
        return 1
    if view.created:
        print(f"已保存为事项目录 v{view.version}（{view.summary}）")
    else:
        print(f"与 v{view.version} 相同，未产生新版本")
    return 0


def cmd_catalogue_history(args) -> int:
    history = open_runtime().catalogues.history()
    if not history:
        print("尚未保存过版本：使用随系统提供的目录文件")
    for v in history:
        print(f"v{v.version}\t{v.created_at.isoformat(timespec='seconds')}\t{v.created_by}\t"
              f"{v.content_hash[:12]}\t{v.summary}")
    return 0


def cmd_catalogue_export(args) -> int:
    store = open_runtime().catalogues
    if args.version:
        document = store.load(args.version)[1]
    else:
        document = store.document()[1]
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 0


def add_commands(sub) -> None:
    studio = sub.add_parser("studio", help="version diff and migration of running cases")
    studio_sub = studio.add_subparsers(dest="studio_command", required=True)
    diff = studio_sub.add_parser("diff", help="what changed between two versions")
    diff.add_argument("key")
    diff.add_argument("old", type=int)
    diff.add_argument("new", type=int)
    diff.set_defaults(func=cmd_diff)

    migrate = studio_sub.add_parser("migrate", help="move running cases to a newer version")
    migrate.add_argument("key")
    migrate.add_argument("--from", dest="source", type=int, required=True,
                         help="the version the cases are on")
    migrate.add_argument("--to", type=int, required=True, help="the newer version")
    migrate.add_argument("--case", help="one case (number or id); default: all of --from")
    migrate.add_argument("--dry-run", action="store_true", help="only check, change nothing")
    migrate.add_argument("--as", dest="actor", default=CLI_ACTOR, help="recorded as who")
    migrate.set_defaults(func=cmd_migrate)

    history = studio_sub.add_parser("migrations", help="the migration history")
    history.add_argument("key", nargs="?")
    history.set_defaults(func=cmd_migrations)

    revert = studio_sub.add_parser("revert", help="undo a migration")
    revert.add_argument("migration", type=int)
    revert.add_argument("--as", dest="actor", default=CLI_ACTOR)
    revert.set_defaults(func=cmd_revert)

    catalogue = sub.add_parser("catalogue", help="the item catalogue (事项目录) and its versions")
    catalogue_sub = catalogue.add_subparsers(dest="catalogue_command", required=True)
    validate = catalogue_sub.add_parser("validate", help="check a catalogue file")
    validate.add_argument("file", nargs="?")
    validate.set_defaults(func=cmd_catalogue_validate)
    imported = catalogue_sub.add_parser("import", help="validate a file and save it as a version")
    imported.add_argument("file")
    imported.add_argument("--as", dest="actor", default=CLI_ACTOR)
    imported.set_defaults(func=cmd_catalogue_import)
    catalogue_sub.add_parser("history", help="saved versions").set_defaults(
        func=cmd_catalogue_history)
    export = catalogue_sub.add_parser("export", help="print a version as JSON")
    export.add_argument("--version", type=int)
    export.set_defaults(func=cmd_catalogue_export)
