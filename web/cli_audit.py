"""`onething audit ...` and `onething replay`: the auditor's commands."""
from __future__ import annotations

import sys

from .cli import _int_or_none, _runtime


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


def add_commands(sub) -> None:
    audit = sub.add_parser("audit", help="audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="verify hash chains")
    verify.add_argument("case", nargs="?")
    verify.set_defaults(func=cmd_audit_verify)
