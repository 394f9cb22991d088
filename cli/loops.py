"""The commands of the loops around approval (ratings, work orders, supervision, reminders)."""
from __future__ import annotations

from cli.common import open_runtime


def add_commands(sub) -> None:
    add_rating_commands(sub)
    add_supervision_workorder_reminder_commands(sub)


# -- 好差评 ------------------------------------------------------------------------------------

def add_rating_commands(sub) -> None:
    ratings = sub.add_parser("ratings", help="好差评: invitations, statistics, rectification ledger")
    ratings_sub = ratings.add_subparsers(dest="ratings_command", required=True)
    ratings_sub.add_parser(
        "invite", help="invite finished cases not rated N days after 办结 "
                       "(ONETHING_RATING_INVITE_DAYS, default 3); the worker does this too"
    ).set_defaults(func=cmd_ratings_invite)
    stats = ratings_sub.add_parser("stats", help="好评率, 差评 and rectification status")
    stats.add_argument("--by", choices=("department", "item", "month"), default="department")
    stats.set_defaults(func=cmd_ratings_stats)
    ratings_sub.add_parser("ledger", help="the rectification ledger (整改台账)").set_defaults(
        func=cmd_ratings_ledger)


def cmd_ratings_invite(args) -> int:
    print(f"{open_runtime().ratings.run_job()} 件已邀请评价或已发起差评整改")
    return 0


def cmd_ratings_stats(args) -> int:
    from engine.loops.ratings_stats import RatingStatistics

    runtime = open_runtime()
    print("\t".join(("口径", "评价数", "好评率", "差评", "处理中", "已整改", "已解释", "整改逾期")))
    for s in RatingStatistics(runtime.db, runtime.clock).by(args.by):
        rate = f"{s.good_rate * 100:.1f}%" if s.good_rate is not None else "-"
        print("\t".join(str(v) for v in (s.key, s.total, rate, s.bad, s.handling, s.rectified,
                                           s.explained, s.overdue)))
    return 0


def cmd_ratings_ledger(args) -> int:
    from engine.worktime.clock import SHANGHAI
    from engine.loops.ratings_stats import RatingStatistics

    runtime = open_runtime()
    entries = RatingStatistics(runtime.db, runtime.clock).ledger()
    for e in entries:
        state = ("已整改" if e.rating.rectified_at else "逾期未整改" if e.overdue else "整改中")
        print("\t".join((e.case_number, e.rating.scope_name, e.rating.department,
                         e.rating.rectification_due.astimezone(SHANGHAI).strftime("%Y-%m-%d"),
                         state)))
    return 1 if any(e.overdue for e in entries) else 0


# -- 审管联动, 12345 work orders, 主动提醒 -------------------------------------------------------

def add_supervision_workorder_reminder_commands(sub) -> None:
    supervision = sub.add_parser("supervision", help="审管联动: pushes to supervising departments")
    supervision_sub = supervision.add_subparsers(dest="supervision_command", required=True)
    supervision_sub.add_parser(
        "push", help="start a supervision case for every pending push (the worker does this too)"
    ).set_defaults(func=cmd_supervision_push)
    supervision_sub.add_parser(
        "report", help="per supervising department: pushes, waiting, auto-claimed, violations; "
                       "exit 1 when any push was auto-claimed").set_defaults(
        func=cmd_supervision_report)
    reminders = sub.add_parser("reminders", help="主动提醒: licence renewal reminders")
    reminders_sub = reminders.add_subparsers(dest="reminders_command", required=True)
    reminders_sub.add_parser(
        "run", help="produce the reminders that are due (ONETHING_RENEWAL_REMIND_DAYS, default "
                    "60); the worker does this too").set_defaults(func=cmd_reminders_run)
    reminders_sub.add_parser("list", help="reminders produced, soonest expiry first"
                             ).set_defaults(func=cmd_reminders_list)
    workorders = sub.add_parser("workorders", help="12345 work orders")
    workorders_sub = workorders.add_subparsers(dest="workorders_command", required=True)
    workorders_sub.add_parser("limits", help="time limits per category (workorder_limits.json)"
                              ).set_defaults(func=cmd_workorders_limits)
    workorders_sub.add_parser("list", help="work orders, newest first").set_defaults(
        func=cmd_workorders_list)


def cmd_supervision_push(args) -> int:
    print(f"{open_runtime().loops.supervision.run_due()} 件审批结果已推送至监管部门")
    return 0


def cmd_supervision_report(args) -> int:
    from engine.cases.dto import SYSTEM

    tally = open_runtime().loops.supervision.tally(SYSTEM)
    print("\t".join(("监管部门", "推送", "待签收", "超时自动认领", "违法违规通知")))
    for t in tally:
        print("\t".join(str(v) for v in (t.supervisor, t.total, t.waiting, t.auto_claimed,
                                          t.violations)))
    return 1 if any(t.auto_claimed for t in tally) else 0


def cmd_reminders_run(args) -> int:
    print(f"{open_runtime().loops.reminders.run_due()} 条续期提醒已生成")
    return 0


def cmd_reminders_list(args) -> int:
    for r in open_runtime().loops.reminders.listing():
        print("\t".join((r.valid_until.isoformat(), r.item_name, r.licence_no or "-",
                         r.holder or "-", r.case_number, r.state)))
    return 0


def cmd_workorders_limits(args) -> int:
    print("\t".join(("类别", "名称", "派单（小时）", "签收（小时）", "答复（工作日）", "提前督办（工作日）")))
    for c in open_runtime().loops.workorders.limits.values():
        print("\t".join(str(v) for v in (c.key, c.label, c.dispatch_hours, c.sign_hours,
                                          c.answer_workdays, c.urge_before_workdays)))
    return 0


def cmd_workorders_list(args) -> int:
    from engine.cases.dto import SYSTEM

    for o in open_runtime().loops.workorders.orders(SYSTEM):
        print("\t".join((o.number, o.category, o.state, o.department or "-", o.citizen_name,
                         o.content[:40].replace("\n", " "))))
    return 0
