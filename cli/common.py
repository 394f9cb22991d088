"""What every command group shares: the runtime the commands act on, the BPMN files to
deploy, and the small parsers of command-line text. Command modules import from here and
never from each other or from the package (so no module of cli/ imports in a cycle)."""
from __future__ import annotations

import sys
from pathlib import Path

PROCESSES = Path(__file__).resolve().parent.parent / "processes"


def open_runtime(**options):
    """The runtime built from the settings, with the forms' deploy-time check."""
    from engine.runtime import build_runtime
    from web.formsource import form_check

    return build_runtime(checks=[form_check], **options)


def bpmn_paths(paths: list[str]) -> list[Path]:
    """Files named, and every .bpmn below folders named (default: processes/)."""
    found: list[Path] = []
    for raw in paths or [str(PROCESSES)]:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.rglob("*.bpmn")))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(raw)
    return found


def deploy_paths(runtime, paths: list[Path], actor: str = "cli"):
    from engine.definitions.service import read_bpmn

    files = [read_bpmn(path.read_bytes(), path.name) for path in paths]
    with runtime.db.transaction() as session:
        return runtime.definitions.deploy(session, files, actor=actor, at=runtime.clock.now())


def cli_actor() -> str:
    """Who made an admin change from the command line, for the log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli"


def names(text: str | None) -> list[str]:
    """'a,b，c' (ASCII or Chinese commas) as ['a', 'b', 'c']."""
    return [part.strip() for part in (text or "").replace("，", ",").split(",") if part.strip()]


def password_from_stdin(args) -> str | None:
    if not args.password_stdin:
        return None
    return sys.stdin.readline().rstrip("\r\n")


def int_or_none(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None
