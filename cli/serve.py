"""The long-running processes: `onething serve` (the web app, development server) and
`onething worker` (due timers, escalations and the loops' jobs, every round)."""
from __future__ import annotations

from cli.common import open_runtime


def cmd_serve(args) -> int:
    from web import create_app

    # The development server speaks plain HTTP, so session cookies cannot be Secure here;
    # behind gunicorn and TLS they are.
    create_app({"SESSION_COOKIE_SECURE": False}).run(host=args.host, port=args.port, debug=False)
    return 0


def cmd_worker(args) -> int:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # SpiffWorkflow logs every task state change at INFO: the worker's own lines would drown.
    logging.getLogger("spiff").setLevel(logging.WARNING)
    runtime = open_runtime()
    if args.once:
        result = runtime.timers.run_once()
        print(f"{result.fired} fired, {result.skipped} skipped, {len(result.failed)} failed, "
              f"{result.notified} notified, {result.jobs} job actions")
        return 1 if result.failed else 0
    try:
        runtime.timers.run_forever(interval=args.interval)
    except KeyboardInterrupt:
        pass
    return 0


def add_commands(sub) -> None:
    serve = sub.add_parser("serve", help="run the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="fire due timers and escalate deadlines")
    worker.add_argument("--once", action="store_true", help="one round, then exit")
    worker.add_argument("--interval", type=float, default=5.0, help="seconds between rounds")
    worker.set_defaults(func=cmd_worker)
