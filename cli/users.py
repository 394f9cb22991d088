"""`onething users ...`: people, their roles, departments and sign-in."""
from __future__ import annotations

import sys

from cli.common import cli_actor, names, open_runtime, password_from_stdin


def cmd_users_list(args) -> int:
    from engine.people.users import ROLES

    for user in open_runtime().users.list():
        state = "active" if user.active else "inactive"
        roles = ",".join(f"{r}({ROLES.get(r, '?')})" for r in user.roles) or "-"
        print(f"{user.username}\t{user.display_name}\t{state}\t{roles}\t"
              f"{','.join(user.groups) or '-'}\t{'token' if user.has_token else '-'}")
    return 0


def cmd_users_add(args) -> int:
    user, password = open_runtime().users.add(
        args.username, password_from_stdin(args), display_name=args.name,
        roles=names(args.roles), groups=names(args.departments), actor=cli_actor())
    print(f"已创建用户 {user.username}（{user.display_name}）")
    if not args.password_stdin:
        print(f"初始密码（只显示这一次）：{password}")
    return 0


def cmd_users_set_roles(args) -> int:
    if not args.roles and not args.no_roles and args.departments is None:
        print("请给出角色、--no-roles 或 --departments", file=sys.stderr)
        return 2
    roles = [] if args.no_roles else (names(",".join(args.roles)) if args.roles else None)
    groups = names(args.departments) if args.departments is not None else None
    user = open_runtime().users.update(args.username, roles=roles, groups=groups,
                                       actor=cli_actor())
    print(f"{user.username}\t{','.join(user.roles) or '-'}\t{','.join(user.groups) or '-'}")
    return 0


def cmd_users_deactivate(args) -> int:
    open_runtime().users.deactivate(args.username, actor=cli_actor())
    print(f"已停用用户 {args.username}：不能再登录，API 令牌已作废")
    return 0


def cmd_users_reset_password(args) -> int:
    password = open_runtime().users.reset_password(args.username, password_from_stdin(args),
                                                   actor=cli_actor())
    if args.password_stdin:
        print(f"已重置 {args.username} 的密码")
    else:
        print(f"{args.username} 的新密码（只显示这一次）：{password}")
    return 0


def add_commands(sub) -> None:
    from engine.people.users import ROLES

    roles_help = "roles: " + ", ".join(f"{key} {label}" for key, label in ROLES.items())
    users = sub.add_parser("users", help="people: roles, departments, sign-in",
                           description=roles_help)
    users_sub = users.add_subparsers(dest="users_command", required=True)
    users_sub.add_parser("list", help="list everyone").set_defaults(func=cmd_users_list)

    add = users_sub.add_parser("add", help="create a person (prints a random password)",
                               description=roles_help)
    add.add_argument("username")
    add.add_argument("--name", help="display name (default: the username)")
    add.add_argument("--roles", default="", help="comma-separated, e.g. approver,lead")
    add.add_argument("--departments", default="", help="comma-separated department/window names")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input instead of generating one")
    add.set_defaults(func=cmd_users_add)

    set_roles = users_sub.add_parser("set-roles", help="replace roles (and departments)",
                                     description=roles_help)
    set_roles.add_argument("username")
    set_roles.add_argument("roles", nargs="*", help="the new roles (replace the old ones)")
    set_roles.add_argument("--no-roles", action="store_true", help="remove every role")
    set_roles.add_argument("--departments", default=None,
                           help="comma-separated: replace the departments too ('' for none)")
    set_roles.set_defaults(func=cmd_users_set_roles)

    deactivate = users_sub.add_parser("deactivate", help="no more sign-in or API token")
    deactivate.add_argument("username")
    deactivate.set_defaults(func=cmd_users_deactivate)

    reset = users_sub.add_parser("reset-password", help="set a new random password")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true",
                       help="read the new password from standard input")
    reset.set_defaults(func=cmd_users_reset_password)
