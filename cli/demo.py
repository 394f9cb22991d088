"""`onething demo [--json]`: deploy processes/, seed the demo people and cases (demo/)."""
from __future__ import annotations

import json

from cli.common import bpmn_paths, deploy_paths, open_runtime


def cmd_demo(args) -> int:
    from demo import seed
    from engine.worktime.clock import TravellingClock

    runtime = open_runtime(clock=TravellingClock())  # stories start days ago
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


def add_commands(sub) -> None:
    demo = sub.add_parser("demo", help="seed demo users and cases")
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(func=cmd_demo)
