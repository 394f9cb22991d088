"""`onething deploy [PATH ...]` validates and deploys BPMN files (default: processes/);
`onething forms report KEY` prints a one-thing's 表单优化率."""
from __future__ import annotations

import json
import sys

from cli.common import bpmn_paths, deploy_paths, open_runtime
from engine.errors import InvalidDefinition


def cmd_deploy(args) -> int:
    runtime = open_runtime()
    try:
        results = deploy_paths(runtime, bpmn_paths(args.paths))
    except FileNotFoundError as exc:
        print(f"找不到文件：{exc}", file=sys.stderr)
        return 1
    except InvalidDefinition as exc:
        print(exc.message, file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    for r in results:
        state = "deployed" if r.created else "unchanged"
        print(f"{r.key}\tv{r.version}\t{r.content_hash}\t{state}")
    return 0


def cmd_forms_report(args) -> int:
    from web.formsource import application_report

    runtime = open_runtime()
    with runtime.db.reading() as session:
        definition = runtime.definitions.latest(session, args.key)
        names = {d.key: d.name for d in runtime.definitions.all_latest(session)}
    if definition is None:
        print(f"流程 {args.key} 未部署", file=sys.stderr)
        return 1
    report = application_report(runtime, definition)
    if args.json:
        print(json.dumps({"process": args.key, **report.to_json()}, ensure_ascii=False, indent=2))
        return 0
    print(f"{definition.name}（{args.key} v{definition.version}）")
    for item, count in report.per_item.items():
        print(f"  {names.get(item, item)}\t{count} 项")
    print(f"分别填写合计 {report.total_asked} 项；一表申请 {report.merged} 项；"
          f"减少 {report.removed} 项；{report.text}")
    return 0


def add_commands(sub) -> None:
    deploy = sub.add_parser("deploy", help="validate and deploy BPMN files")
    deploy.add_argument("paths", nargs="*")
    deploy.set_defaults(func=cmd_deploy)

    forms = sub.add_parser("forms", help="forms of deployed processes")
    forms_sub = forms.add_subparsers(dest="forms_command", required=True)
    report = forms_sub.add_parser("report", help="the one-form report (表单优化率) of a one-thing")
    report.add_argument("key")
    report.add_argument("--json", action="store_true")
    report.set_defaults(func=cmd_forms_report)
