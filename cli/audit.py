"""`onething audit ...` and `onething replay`: the auditor's commands.

- audit verify [CASE]                      walk every hash chain (exit 1 on a break)
- audit verify --checkpoint FILE|ID [--public-key PEM]
                                           compare today's log with a signed checkpoint
- audit checkpoint [--key PATH] [--out FILE]   sign all chain heads (key outside the DB)
- audit public-key [--key PATH]            print the public key that verifies checkpoints
- audit export-xes FILE [--case N …] [--process KEY …] [--since D] [--until D]
- replay CASE [--json]                     re-execute one case, conformant or first deviation
- replay --all [--report FILE]             re-execute every case, write a JSON report
"""
from __future__ import annotations

import json
import sys
from datetime import date, datetime, time
from pathlib import Path

from cli.common import cli_actor, int_or_none, open_runtime


def _auditor():
    """The operator at the command line, with the auditor's reading rights."""
    from engine.cases.dto import Actor

    return Actor(cli_actor(), frozenset({"auditor"}))


def cmd_audit_verify(args) -> int:
    if args.checkpoint:
        return _verify_checkpoint(args)
    from engine.hall.audit import verify_chains

    runtime = open_runtime()
    broken = checked = 0
    reports = verify_chains(runtime, _auditor(), case=args.case)
    if args.case and not reports:
        print(f"办件 {args.case} 不存在", file=sys.stderr)
        return 1
    for report in reports:
        checked += 1
        if not report.ok:
            broken += 1
            print(f"BROKEN {report.case_number} (id {report.case_id}): "
                  f"event #{report.first_broken_seq}: {report.problems[0]}")
        elif args.case:
            print(f"OK {report.case_number}: {report.events} events, head {report.head_hash}")
    print(f"{checked} case(s) checked, {broken} broken")
    return 1 if broken else 0


def _key_path(args, runtime) -> Path:
    return Path(args.key) if getattr(args, "key", None) else runtime.audit_key


def _verify_checkpoint(args) -> int:
    from engine.audit import checkpoints
    from engine.hall.audit import recorded_checkpoint, verify_checkpoint

    runtime = open_runtime()
    source = args.checkpoint
    try:
        public_key = None
        if args.public_key:
            public_key = checkpoints.load_public_key(Path(args.public_key))
        elif _key_path(args, runtime).exists():
            # The operator's own key: its public half is as trusted as the key itself.
            public_key = checkpoints.load_or_create_key(_key_path(args, runtime)).public_key()
        recorded_id = int_or_none(source)
        if Path(source).exists():
            checkpoint = checkpoints.Checkpoint.from_json(Path(source).read_bytes())
        elif recorded_id:
            checkpoint = recorded_checkpoint(runtime, _auditor(), recorded_id)
        else:
            print(f"错误：检查点文件 {source} 不存在", file=sys.stderr)
            return 2
        report = verify_checkpoint(runtime, _auditor(), checkpoint, public_key)
    except ValueError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(checkpoints.report_dict(report), ensure_ascii=False, indent=1))
    else:
        print(f"checkpoint {report.created_at.isoformat()} key {report.key_id}: "
              f"signature {'OK' if report.signature_ok else 'INVALID'}, "
              f"merkle root {'OK' if report.root_ok else 'MISMATCH'}")
        for problem in report.problems:
            print(f"  注意：{problem}")
        for check in report.cases:
            if not check.ok or args.case:
                print(f"{check.status.upper()} {check.case_number} (id {check.case_id}): "
                      f"{check.message}")
        print(f"{len(report.cases)} case(s) checked, {len(report.broken)} not as signed")
    return 0 if report.ok or (report.signature_ok and report.root_ok and not report.broken
                              and public_key is None) else 1


def cmd_audit_checkpoint(args) -> int:
    from engine.audit import checkpoints
    from engine.cases.dto import Actor
    from engine.hall.audit import sign_checkpoint

    runtime = open_runtime()
    path = _key_path(args, runtime)
    try:
        key = checkpoints.load_or_create_key(path)
    except (ValueError, OSError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    checkpoint = sign_checkpoint(runtime, Actor("cli", frozenset({"auditor"})), key)
    document = checkpoint.to_json()
    if args.out:
        Path(args.out).write_text(document + "\n", encoding="utf-8")
    else:
        print(document)
    print(f"checkpoint #{checkpoint.id}: {len(checkpoint.cases)} case(s), "
          f"{checkpoint.event_count} event(s), root {checkpoint.merkle_root}, "
          f"key {checkpoint.key_id} ({path})", file=sys.stderr)
    return 0


def cmd_audit_public_key(args) -> int:
    from engine.audit import checkpoints

    runtime = open_runtime()
    try:
        key = checkpoints.load_or_create_key(_key_path(args, runtime))
    except (ValueError, OSError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    print(checkpoints.public_key_pem(key), end="")
    return 0


def _moment(text: str | None, *, end: bool = False) -> datetime | None:
    """A date (YYYY-MM-DD, Beijing time; --until includes the whole day) or an ISO time."""
    from datetime import timedelta

    from engine.worktime.clock import SHANGHAI

    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(0), tzinfo=SHANGHAI)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"日期格式无效：{text}（应为 YYYY-MM-DD）") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def cmd_audit_export_xes(args) -> int:
    from engine.audit.xes import XesFilter, write_xes

    try:
        selection = XesFilter(
            case_ids=[int(c) for c in args.case if int_or_none(c)],
            case_numbers=[c for c in args.case if not int_or_none(c)],
            process_keys=list(args.process), since=_moment(args.since),
            until=_moment(args.until, end=True))
    except ValueError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    runtime = open_runtime()
    try:
        summary = write_xes(runtime.db, args.file if args.file != "-" else sys.stdout.buffer,
                            selection)
    except OSError as exc:
        print(f"错误：无法写入 {args.file}：{exc.strerror}", file=sys.stderr)
        return 2
    print(f"{summary.traces} trace(s), {summary.events} event(s) written to {args.file}",
          file=sys.stderr)
    return 0


def cmd_replay(args) -> int:
    from engine.audit import replay

    runtime = open_runtime()
    if args.all:
        def progress(result):
            if not result.conformant or not result.chain_ok:
                print(result.summary())

        report = replay.reexecute_all(runtime, progress=progress)
        if args.report:
            Path(args.report).write_text(json.dumps(report.to_dict(), ensure_ascii=False,
                                                    indent=1) + "\n", encoding="utf-8")
        print(f"{report.checked} case(s) re-executed, {len(report.deviating)} deviating")
        return 0 if report.ok else 1
    if not args.case:
        print("错误：请给出办件编号，或使用 --all", file=sys.stderr)
        return 2
    from engine.hall.audit import case_id_of

    case_id = case_id_of(runtime, _auditor(), args.case)
    if case_id is None:
        print(f"办件 {args.case} 不存在", file=sys.stderr)
        return 1
    result = replay.reexecute(runtime, case_id)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    else:
        print(("CONFORMANT " if result.conformant else "DEVIATION ") + result.summary())
        if result.deviation is not None and (result.deviation.expected is not None
                                             or result.deviation.actual is not None):
            print(f"  expected: {result.deviation.expected!r}")
            print(f"  actual:   {result.deviation.actual!r}")
    return 0 if result.conformant and result.chain_ok else 1


def add_commands(sub) -> None:
    audit = sub.add_parser("audit", help="audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="verify hash chains, or the log against a "
                                                 "signed checkpoint")
    verify.add_argument("case", nargs="?")
    verify.add_argument("--checkpoint", help="checkpoint file (or the id of a stored one)")
    verify.add_argument("--public-key", help="PEM file of the public key to trust")
    verify.add_argument("--key", help="private key file (its public half is trusted)")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=cmd_audit_verify)

    checkpoint = audit_sub.add_parser("checkpoint", help="sign the chain heads of all cases")
    checkpoint.add_argument("--key", help="private key file (default: instance folder, "
                                          "or $ONETHING_AUDIT_KEY)")
    checkpoint.add_argument("--out", help="write the checkpoint here instead of stdout")
    checkpoint.set_defaults(func=cmd_audit_checkpoint)

    public = audit_sub.add_parser("public-key", help="print the checkpoint public key (PEM)")
    public.add_argument("--key", help="private key file")
    public.set_defaults(func=cmd_audit_public_key)

    export = audit_sub.add_parser("export-xes", help="export the event log as IEEE XES")
    export.add_argument("file", help="output file, or - for standard output")
    export.add_argument("--case", action="append", default=[], help="case number or id")
    export.add_argument("--process", action="append", default=[], help="process key")
    export.add_argument("--since", help="cases started on or after (YYYY-MM-DD)")
    export.add_argument("--until", help="cases started on or before (YYYY-MM-DD)")
    export.set_defaults(func=cmd_audit_export_xes)

    replay = sub.add_parser("replay", help="re-execute cases and check conformance")
    replay.add_argument("case", nargs="?")
    replay.add_argument("--all", action="store_true", help="every case")
    replay.add_argument("--report", help="with --all: write a JSON report here")
    replay.add_argument("--json", action="store_true")
    replay.set_defaults(func=cmd_replay)
