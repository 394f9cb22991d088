"""OneThing engine benchmark: persisted cases against raw in-memory SpiffWorkflow, side by
side in the same process (DESIGN.md "Cost rules").

    .venv/bin/python bench/engine_bench.py [--quick] [--json] [--profile] [--no-pg]
                                           [--pg-url URL]

Measure 1 (throughput): whole cases of the 14-task `onething_construction_permit`
(front desk, 12 parallel item reviews in call activities, issuance), start to completed:
  raw       SpiffWorkflow in memory with the product's sandboxed script engine
  raw-dflt  the same with SpiffWorkflow's default PythonScriptEngine (reference)
  sqlite    OneThing CaseService on a temp-file SQLite database
  postgres  OneThing CaseService on PostgreSQL, in a schema created and dropped here
Measure 2 (history growth): the cost of ONE completion of the loop process
(tests/fixtures/loop.bpmn) when the case already has N completed tasks, for raw
SpiffWorkflow with a naive full serialise/deserialise each step, raw in memory, and OneThing.
Breakdown: where a persisted case spends its time (exclusive wall time per component).

Nothing here asserts: numbers are printed next to the design targets, met or not.
"""
from __future__ import annotations

import argparse
import copy
import cProfile
import functools
import gc
import io
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal
from importlib.metadata import version as pkg_version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser  # noqa: E402
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG  # noqa: E402
from SpiffWorkflow.task import Task  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine.worktime.clock import SHANGHAI, FrozenClock  # noqa: E402
from engine.runtime import build_runtime  # noqa: E402
from engine.sandbox import script_engine  # noqa: E402
from engine.cases.dto import Actor  # noqa: E402

PROCESSES = ROOT / "processes"
LOOP_BPMN = ROOT / "tests" / "fixtures" / "loop.bpmn"
PERMIT = "onething_construction_permit"
LOOP = "loop_review"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
ADMIN = Actor("bench", frozenset({"admin"}))
CLOCK_AT = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)

TARGET_THROUGHPUT = 0.5   # persisted cases/s >= 0.5 x raw cases/s
TARGET_GROWTH = 1.5       # step at N=1000 <= 1.5 x step at N=10

# What the web layer would hand the engine after validating the start form.
START_DATA = {
    "project_code": "2611-371502-04-01-123456",
    "project_name": "聊城市东昌府区某住宅小区二期工程",
    "site_address": "聊城市东昌府区柳园街道花园北路 88 号",
    "construction_scale": "住宅 3 栋，地上 18 层、地下 2 层",
    "floor_area": Decimal("45210.50"),
    "investment": Decimal("12800"),
    "contract_duration": 540,
    "planned_start_date": date(2026, 12, 1),
    "planning_permit_no": "建字第 371502202600123 号",
    "drawing_review_cert_no": "LCST-2026-0456",
    "builder_name": "聊城某置业有限公司",
    "builder_credit_code": "91371500MA3C123456",
    "legal_person": "张三",
    "contact_name": "李四",
    "contact_mobile": "13800000000",
    "contractor_name": "山东某建设集团有限公司",
    "contractor_credit_code": "91370000163012345X",
    "contractor_manager": "王五",
    # The common 容缺 gate's inputs (nothing deferred), as the counter's clean step adds them.
    "deficiency": [],
    "deficiency_outstanding": False,
}


def task_data(spec_id: str) -> dict:
    if spec_id == "front_desk_acceptance":
        return {"acceptance_decision": "accept", "materials_complete": True}
    if spec_id == "issuance":
        return {"delivery_method": "window"}
    if spec_id.endswith("_review"):
        key = spec_id[: -len("_review")]
        return {f"{key}_decision": "approve", f"{key}_opinion": "同意"}
    raise ValueError(f"unexpected task {spec_id}")


def bpmn_files() -> list[Path]:
    from cli.common import bpmn_paths

    return bpmn_paths([str(PROCESSES)]) + [LOOP_BPMN]


# -- raw SpiffWorkflow ---------------------------------------------------------------

class Raw:
    """Parsed specs (once) and raw in-memory case runs."""

    def __init__(self):
        parser = CamundaParser()
        parser.add_bpmn_files([str(p) for p in bpmn_files()])
        self.specs = {key: (parser.get_spec(key), parser.get_subprocess_specs(key))
                      for key in (PERMIT, LOOP)}
        self.product_engine = script_engine()

    def new(self, key: str, engine, data=None) -> BpmnWorkflow:
        spec, subs = self.specs[key]
        wf = (BpmnWorkflow(spec, subs, script_engine=engine) if engine is not None
              else BpmnWorkflow(spec, subs))
        if data:
            wf.task_tree.data.update(copy.deepcopy(data))
        return wf

    def permit_case(self, engine) -> int:
        wf = self.new(PERMIT, engine, START_DATA)
        wf.do_engine_steps()
        done = 0
        while not wf.is_completed():
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                raise RuntimeError("raw case stuck with no ready user task")
            task = ready[0]
            task.data.update(copy.deepcopy(task_data(task.task_spec.bpmn_id)))
            task.run()
            wf.do_engine_steps()
            done += 1
        return done


def raw_loop_step(wf: BpmnWorkflow, again: bool = True) -> bool:
    ready = wf.get_tasks(state=TaskState.READY, manual=True)
    if not ready:
        return False
    task = ready[0]
    task.data.update({"again": again})
    task.run()
    wf.do_engine_steps()
    return True


# -- OneThing --------------------------------------------------------------------------

class Backend:
    """One OneThing runtime on one database, with every process deployed."""

    def __init__(self, name: str, url: str, instance: Path, cleanup=None):
        from cli.common import deploy_paths
        from web.formsource import form_check

        self.name, self.url, self._cleanup = name, url, cleanup
        self.rt = build_runtime(url, clock=FrozenClock(CLOCK_AT), instance=instance,
                                checks=[form_check])
        self.rt.db.upgrade()
        deploy_paths(self.rt, bpmn_files(), actor="bench")

    def permit_case(self) -> int:
        cases = self.rt.cases
        case = cases.start_case(PERMIT, START_DATA, ADMIN)
        done = 0
        while case.tasks:
            task = case.tasks[0]
            case = cases.complete(task.id, task_data(task.task_spec), ADMIN)
            done += 1
        if case.status != "completed":
            raise RuntimeError(f"{self.name} case ended {case.status}")
        return done

    def state_size(self, case_id: int) -> int:
        from engine.store.models import CaseState

        with self.rt.db.reading() as session:
            return session.get(CaseState, case_id).size

    def version(self) -> str:
        from sqlalchemy import text

        with self.rt.db.engine.connect() as conn:
            if self.rt.db.dialect == "sqlite":
                return "SQLite " + conn.execute(text("select sqlite_version()")).scalar()
            return conn.execute(text("show server_version")).scalar().split()[0]

    def close(self):
        self.rt.db.dispose()
        if self._cleanup:
            self._cleanup()


def sqlite_backend(tmp: Path) -> Backend:
    return Backend("sqlite", f"sqlite:///{tmp / 'bench.sqlite3'}", tmp / "instance-sqlite")


def pg_backend(url: str, tmp: Path) -> tuple[Backend | None, str | None]:
    """A backend in a fresh schema (dropped on close), or (None, why) if unreachable."""
    from sqlalchemy import create_engine, text

    from engine.store.db import normalise_url

    schema = f"bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        admin = create_engine(normalise_url(url), connect_args={"connect_timeout": 3})
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # unreachable, no driver, no rights: skip cleanly
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"

    def drop():
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    joiner = "&" if "?" in url else "?"
    try:
        return Backend("postgres", f"{url}{joiner}options=-csearch_path%3D{schema}",
                       tmp / "instance-pg", cleanup=drop), None
    except Exception:
        drop()
        raise


# -- measurement helpers ---------------------------------------------------------------

def interleaved_runs(runners: dict, rounds: int, warmup: int) -> dict:
    """Time whole cases of every runner, interleaved in `rounds` so that load from other
    processes on the machine hits all runners alike (the ratios are what matter).
    `runners` maps name -> (function returning tasks done, cases per round)."""
    for fn, _ in runners.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in runners}
    cpu: Counter = Counter()
    tasks: Counter = Counter()
    gc.collect()
    for _ in range(rounds):
        for name, (fn, per_round) in runners.items():
            for _ in range(per_round):
                c0, t0 = time.process_time(), time.perf_counter()
                tasks[name] += fn()
                times[name].append(time.perf_counter() - t0)
                cpu[name] += time.process_time() - c0
    out = {}
    for name, samples in times.items():
        n, total = len(samples), sum(samples)
        samples.sort()
        out[name] = {"cases": n, "tasks_per_case": tasks[name] / n, "seconds": total,
                     "cases_per_s": n / total, "ms_per_case_mean": 1000 * total / n,
                     "ms_per_case_p50": 1000 * statistics.median(samples),
                     "ms_per_case_p95": 1000 * samples[min(n - 1, int(0.95 * n))],
                     "ms_per_task": 1000 * total / tasks[name],
                     "cpu_ms_per_case": 1000 * cpu[name] / n}
    return out


def median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def raw_loop_limit(raw: Raw, limit: int) -> int | None:
    """How many completions the raw loop survives before SpiffWorkflow drops it (None:
    still looping after `limit`)."""
    wf = raw.new(LOOP, raw.product_engine)
    wf.do_engine_steps()
    for done in range(limit):
        if not raw_loop_step(wf):
            return done
    return None


def history(make_case, ns: list[int], steps: int, size=None) -> dict:
    """One case per N: drive each to N completions, then time `steps` further completions
    round-robin across the cases (so machine load hits every N alike); median per N.
    `make_case()` returns a step function that completes one task (False: no ready task)."""
    out: dict = {}
    cases = {}
    for n in ns:
        step = make_case()
        for done in range(n):
            if not step():
                return {"steps": out, "broke_at": done}
        cases[n] = step
    samples: dict[int, list[float]] = {n: [] for n in ns}
    gc.collect()
    for _ in range(steps):
        for n, step in cases.items():
            t0 = time.perf_counter()
            ok = step()
            samples[n].append(time.perf_counter() - t0)
            if not ok:
                return {"steps": out, "broke_at": n + len(samples[n]) - 1}
    for n, step in cases.items():
        out[n] = {"ms": median_ms(samples[n])}
        if size is not None:
            out[n]["state_bytes"] = size(step)
    return {"steps": out, "broke_at": None}


def raw_memory_case(raw: Raw):
    wf = raw.new(LOOP, raw.product_engine)
    wf.do_engine_steps()

    def step() -> bool:
        return raw_loop_step(wf)
    step.workflow = wf
    return step


def naive_serializer():
    """SpiffWorkflow's own serializer as a plain persistence layer would use it."""
    try:
        serializer = BpmnWorkflowSerializer()
        parser = CamundaParser()
        parser.add_bpmn_file(str(LOOP_BPMN))
        probe = BpmnWorkflow(parser.get_spec(LOOP), parser.get_subprocess_specs(LOOP))
        serializer.deserialize_json(serializer.serialize_json(probe))
        return serializer, "BpmnWorkflowSerializer() default config"
    except Exception as exc:  # Camunda task specs need the Camunda converters
        why = f"{type(exc).__name__}: {exc}"
        return (BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)),
                f"CAMUNDA_CONFIG (the default config fails on Camunda specs: {why})")


def raw_naive_case(raw: Raw, serializer):
    """Raw SpiffWorkflow persisted the plain way: the whole workflow (specs included) is
    deserialised before and serialised after every completion."""
    engine = raw.product_engine
    wf = raw.new(LOOP, engine)
    wf.do_engine_steps()
    text = serializer.serialize_json(wf)

    def step() -> bool:
        nonlocal text
        wf = serializer.deserialize_json(text)
        wf.script_engine = engine
        ok = raw_loop_step(wf)
        text = serializer.serialize_json(wf)
        step.text = text
        return ok
    step.text = text
    return step


def onething_case(backend: Backend):
    cases = backend.rt.cases
    case = cases.start_case(LOOP, {}, ADMIN)

    def step() -> bool:
        nonlocal case
        if not case.tasks:
            return False
        case = cases.complete(case.tasks[0].id, {"again": True}, ADMIN)
        step.case_id = case.id
        return True
    step.case_id = case.id
    return step


# -- breakdown: exclusive wall time per component --------------------------------------

class Breakdown:
    """Wraps chosen functions; each call's time minus its wrapped callees' time goes to its
    label, so the labels add up to the total with nothing counted twice."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter = Counter()
        self._stack: list[float] = []
        self._patches = []

    def wrap(self, owner, attr: str, label: str) -> None:
        original = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
        is_static = isinstance(original, staticmethod)
        func = original.__func__ if is_static else original
        stack, seconds, calls = self._stack, self.seconds, self.calls

        @functools.wraps(func)
        def timed(*args, **kwargs):
            stack.append(0.0)
            t0 = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - t0
                child = stack.pop()
                seconds[label] += elapsed - child
                calls[label] += 1
                if stack:
                    stack[-1] += elapsed

        setattr(owner, attr, staticmethod(timed) if is_static else timed)
        self._patches.append((owner, attr, original))

    def restore(self) -> None:
        for owner, attr, original in reversed(self._patches):
            setattr(owner, attr, original)
        self._patches.clear()


BREAKDOWN_ORDER = [
    "SpiffWorkflow engine (do_engine_steps, task.run)",
    "state.load (json.loads + restore tree)",
    "state.dump (to_dict + json.dumps)",
    "state.prune",
    "CaseStep.sync_tasks (excl. SQL)",
    "CaseStep.sync_timers (excl. SQL)",
    "audit.append_event (canonical JSON + sha256)",
    "definitions.resolve_pins/specs_for (excl. SQL)",
    "_view (excl. SQL)",
    "SQL reads (session.get/scalars/execute)",
    "SQL flush (INSERT/UPDATE)",
    "SQL COMMIT",
    "rest of start_case/complete (ORM objects, copy, glue)",
]


def breakdown(backend: Backend, cases: int) -> dict:
    from sqlalchemy.orm import Session

    from engine.cases import eventlog as audit, state
    from engine.cases.service import CaseService
    from engine.cases.step import CaseStep
    from engine.definitions.service import Definitions

    backend.permit_case()  # warm
    bd = Breakdown()
    engine_label = BREAKDOWN_ORDER[0]
    bd.wrap(BpmnWorkflow, "do_engine_steps", engine_label)
    bd.wrap(Task, "run", engine_label)
    bd.wrap(state, "load", BREAKDOWN_ORDER[1])
    bd.wrap(state, "dump", BREAKDOWN_ORDER[2])
    bd.wrap(state, "prune", BREAKDOWN_ORDER[3])
    bd.wrap(CaseStep, "sync_tasks", BREAKDOWN_ORDER[4])
    bd.wrap(CaseStep, "sync_timers", BREAKDOWN_ORDER[5])
    bd.wrap(audit, "append_event", BREAKDOWN_ORDER[6])
    bd.wrap(Definitions, "resolve_pins", BREAKDOWN_ORDER[7])
    bd.wrap(Definitions, "specs_for", BREAKDOWN_ORDER[7])
    bd.wrap(CaseService, "_view", BREAKDOWN_ORDER[8])
    for name in ("get", "scalars", "execute", "scalar"):
        bd.wrap(Session, name, BREAKDOWN_ORDER[9])
    bd.wrap(Session, "flush", BREAKDOWN_ORDER[10])
    bd.wrap(Session, "commit", BREAKDOWN_ORDER[11])
    bd.wrap(CaseService, "start_case", BREAKDOWN_ORDER[12])
    bd.wrap(CaseService, "complete", BREAKDOWN_ORDER[12])
    try:
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(cases):
            backend.permit_case()
        total = time.perf_counter() - t0
    finally:
        bd.restore()
    rows = {label: {"ms_per_case": 1000 * bd.seconds[label] / cases,
                    "share": bd.seconds[label] / total,
                    "calls_per_case": bd.calls[label] / cases}
            for label in BREAKDOWN_ORDER}
    return {"cases": cases, "ms_per_case": 1000 * total / cases, "components": rows}


def profile_text(backend: Backend, cases: int, top: int = 25) -> str:
    backend.permit_case()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(cases):
        backend.permit_case()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    out.write(f"== cProfile, {backend.name}, {cases} permit cases, by cumulative time ==\n")
    stats.sort_stats("cumulative").print_stats(top)
    out.write("== by own time ==\n")
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


# -- machine facts -------------------------------------------------------------------------

def machine_facts(backends: list[Backend], pg_skip: str | None) -> dict:
    import sqlalchemy

    facts = {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version() + " (" + platform.python_implementation() + ")",
        "platform": platform.platform(),
        "spiffworkflow": pkg_version("SpiffWorkflow"),
        "sqlalchemy": sqlalchemy.__version__,
        "loadavg_at_start": _loadavg(),
    }
    try:
        facts["psycopg"] = pkg_version("psycopg")
    except Exception:
        pass
    for backend in backends:
        facts[f"{backend.name}_version"] = backend.version()
    if pg_skip:
        facts["postgres_version"] = f"skipped ({pg_skip})"
    return facts


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# -- report --------------------------------------------------------------------------------

def fmt_ratio(value) -> str:
    return "—" if value is None else f"{value:.2f}×"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def print_report(r: dict) -> None:
    p = print
    f = r["machine"]
    p("OneThing engine bench — persisted cases vs raw in-memory SpiffWorkflow, same process")
    p(f"machine: {f['cpus']} CPU ({f['cpu_model']}), Python {f['python']}, "
      f"SpiffWorkflow {f['spiffworkflow']}, SQLAlchemy {f['sqlalchemy']}"
      + (f", psycopg {f['psycopg']}" if "psycopg" in f else ""))
    p(f"databases: {f.get('sqlite_version', '—')}; PostgreSQL {f.get('postgres_version', '—')}")
    p(f"mode: {'quick' if r['quick'] else 'full'}; total bench time {r['seconds']:.0f} s; "
      f"load average (1/5/15 min) at start {f['loadavg_at_start']}, at end {r['loadavg_at_end']}")
    p()

    m1 = r["throughput"]
    raw_cps = m1["raw"]["cases_per_s"]
    p(f"Measure 1 — throughput, `{PERMIT}` ({m1['raw']['tasks_per_case']:.0f} user tasks "
      "per case), start → completed")
    p(f"  target: persisted ≥ {TARGET_THROUGHPUT}× raw (raw = product sandbox script engine)")
    header = (f"  {'run':<34}{'cases':>6}{'cases/s':>10}{'ms/case':>10}{'p50':>9}{'p95':>9}"
              f"{'ms/task':>9}{'cpu ms':>9}{'× raw':>8}  target")
    p(header)
    p("  " + "-" * (len(header) - 2))
    labels = {"raw": "raw SpiffWorkflow (sandbox engine)",
              "raw_default": "raw SpiffWorkflow (default engine)",
              "sqlite": "OneThing on SQLite (temp file)",
              "postgres": "OneThing on PostgreSQL"}
    for key, label in labels.items():
        row = m1.get(key)
        if row is None:
            p(f"  {label:<34}  skipped: {r['pg_skipped']}")
            continue
        ratio = row["cases_per_s"] / raw_cps
        target = "" if key.startswith("raw") else verdict(ratio >= TARGET_THROUGHPUT)
        p(f"  {label:<34}{row['cases']:>6}{row['cases_per_s']:>10.1f}"
          f"{row['ms_per_case_mean']:>10.1f}{row['ms_per_case_p50']:>9.1f}"
          f"{row['ms_per_case_p95']:>9.1f}{row['ms_per_task']:>9.2f}"
          f"{row['cpu_ms_per_case']:>9.1f}{ratio:>7.2f}×  {target}")
    p("  cpu ms = this process's CPU time per case (excludes the PostgreSQL server; less "
      "sensitive to other load than wall time)")
    p()

    m2 = r["history"]
    ns = m2["ns"]
    p(f"Measure 2 — history growth, `{LOOP}`: median ms to complete ONE task when the case "
      f"already has N completed tasks ({m2['steps']} steps per N)")
    p(f"  target: step at N={ns[-1]} ≤ {TARGET_GROWTH}× step at N={ns[0]}")
    cols = "".join(f"{'N=' + str(n):>10}" for n in ns)
    header = f"  {'run':<40}{cols}{'growth':>9}  target   state bytes at " + \
        " / ".join(f"N={n}" for n in ns)
    p(header)
    p("  " + "-" * (len(header) - 2))
    for key, label in (("raw_naive", "raw + full serialise/deserialise"),
                       ("raw_memory", "raw in memory (no persistence)"),
                       ("sqlite", "OneThing on SQLite"),
                       ("postgres", "OneThing on PostgreSQL")):
        row = m2.get(key)
        if row is None:
            p(f"  {label:<40}skipped: {r['pg_skipped']}")
            continue
        steps = row["steps"]
        cells = "".join(f"{steps[n]['ms']:>10.2f}" if n in steps else f"{'—':>10}" for n in ns)
        growth = row.get("growth")
        target = verdict(row.get("target_met")) if key != "raw_memory" else ""
        sizes = " / ".join(f"{steps[n]['state_bytes']:,}" if n in steps and
                           "state_bytes" in steps[n] else "—" for n in ns)
        p(f"  {label:<40}{cells}{fmt_ratio(growth):>9}  {target:<7}  "
          f"{sizes if key != 'raw_memory' else ''}")
        if row.get("note"):
            p(f"  {'':<40}↳ {row['note']}")
    p(f"  raw serialiser: {m2['naive_serializer']}; state bytes = its JSON (specs "
      "included); OneThing = case_state.size (no specs, pruned)")
    broke = m2.get("raw_loop_limit")
    if broke is not None:
        p(f"  note: raw SpiffWorkflow {m2['spiff_version']} stops looping after {broke} "
          f"completions of this loop (task tree ~{2 * broke} levels deep): the next "
          "completion finds no ready task and the workflow reports completed — tasks "
          "silently lost, no error. OneThing prunes finished history, so it keeps going.")
    p()

    for key in ("sqlite", "postgres"):
        b = r["breakdown"].get(key)
        if not b:
            continue
        p(f"Breakdown — where a persisted `{PERMIT}` case goes, {labels[key]} "
          f"({b['cases']} cases, {b['ms_per_case']:.1f} ms/case incl. timer overhead; "
          f"raw sandbox case = {m1['raw']['ms_per_case_mean']:.1f} ms)")
        p(f"  {'component (exclusive time)':<56}{'ms/case':>9}{'share':>8}{'calls/case':>12}")
        for label, c in b["components"].items():
            p(f"  {label:<56}{c['ms_per_case']:>9.1f}{100 * c['share']:>7.1f}%"
              f"{c['calls_per_case']:>12.1f}")
        p()
    if r.get("profile"):
        p(r["profile"])


# -- main ------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer cases and steps (~30 s)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON only")
    ap.add_argument("--profile", action="store_true",
                    help="also print cProfile top functions of persisted cases (SQLite)")
    ap.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG_URL),
                    help=f"PostgreSQL server URL (default $BENCH_DATABASE_URL or {DEFAULT_PG_URL})")
    args = ap.parse_args(argv)

    quick = args.quick
    warmup = 3
    rounds = 4 if quick else 8
    raw_per_round = 10 if quick else 30          # raw cases: 40 quick, 240 full
    persisted_per_round = 2 if quick else 6      # persisted cases: 8 quick, 48 full
    breakdown_cases = 4 if quick else 15
    ns = [10, 100, 1000]
    steps = 10 if quick else 20
    log = (lambda *a: print(*a, file=sys.stderr, flush=True))

    started = time.perf_counter()
    results: dict = {"quick": quick, "targets": {"throughput_ratio_min": TARGET_THROUGHPUT,
                                                 "growth_ratio_max": TARGET_GROWTH}}
    with tempfile.TemporaryDirectory(prefix="onething-bench-") as tmpdir:
        tmp = Path(tmpdir)
        raw = Raw()
        backends: list[Backend] = [sqlite_backend(tmp)]
        pg_skip = "--no-pg" if args.no_pg else None
        if not args.no_pg:
            pg, pg_skip = pg_backend(args.pg_url, tmp)
            if pg is not None:
                backends.append(pg)
        results["pg_skipped"] = pg_skip
        try:
            results["machine"] = machine_facts(backends, pg_skip)

            log(f"measure 1: {rounds} interleaved rounds ...")
            runners = {"raw": (lambda: raw.permit_case(raw.product_engine), raw_per_round),
                       "raw_default": (lambda: raw.permit_case(None), raw_per_round)}
            for b in backends:
                runners[b.name] = (b.permit_case, persisted_per_round)
            m1 = interleaved_runs(runners, rounds, warmup)
            for key, row in m1.items():
                row["ratio_to_raw"] = row["cases_per_s"] / m1["raw"]["cases_per_s"]
                if not key.startswith("raw"):
                    row["target_met"] = row["ratio_to_raw"] >= TARGET_THROUGHPUT
            results["throughput"] = m1

            log("measure 2: raw loop ...")
            m2: dict = {"ns": ns, "steps": steps, "spiff_version": pkg_version("SpiffWorkflow")}
            broke = raw_loop_limit(raw, max(ns) + steps + 50)
            m2["raw_loop_limit"] = broke
            raw_ns = list(ns)
            if broke is not None:
                cap = broke - steps - 5  # the largest N whose measured steps still work
                raw_ns = sorted({n for n in ns if n + steps < broke} | {cap})
            m2["raw_memory"] = history(lambda: raw_memory_case(raw), raw_ns, steps)
            serializer, m2["naive_serializer"] = naive_serializer()
            log("measure 2: raw loop with full serialise/deserialise ...")
            m2["raw_naive"] = history(lambda: raw_naive_case(raw, serializer), raw_ns, steps,
                                      size=lambda step: len(step.text.encode("utf-8")))
            for key in ("raw_memory", "raw_naive"):
                row = m2[key]
                if max(raw_ns) != max(ns) and max(raw_ns) in row["steps"]:
                    cap = max(raw_ns)
                    row["steps"][max(ns)] = dict(row["steps"].pop(cap), measured_at=cap)
                    row["note"] = (f"N={max(ns)} column measured at N={cap}, the largest that "
                                   f"works: SpiffWorkflow drops the loop after {broke} "
                                   "completions")
            for b in backends:
                log(f"measure 2: {b.name} loop ...")
                m2[b.name] = history(lambda: onething_case(b), ns, steps,
                                     size=lambda step: b.state_size(step.case_id))
            for key in ("raw_naive", "raw_memory", *[b.name for b in backends]):
                s = m2[key]["steps"]
                if ns[0] in s and ns[-1] in s:
                    m2[key]["growth"] = s[ns[-1]]["ms"] / s[ns[0]]["ms"]
                    m2[key]["target_met"] = m2[key]["growth"] <= TARGET_GROWTH
            results["history"] = m2

            results["breakdown"] = {}
            for b in backends:
                log(f"breakdown: {b.name} ...")
                results["breakdown"][b.name] = breakdown(b, breakdown_cases)
            if args.profile:
                log("profile: sqlite ...")
                results["profile"] = profile_text(backends[0], breakdown_cases)
        finally:
            for b in backends:
                b.close()
    results["seconds"] = time.perf_counter() - started
    results["loadavg_at_end"] = _loadavg()

    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2, default=str))
    else:
        print_report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
