"""Export the audit log as IEEE XES (1849-2016) for process-mining tools.

One trace per case (concept:name = the case number), one event per audit event, with the
standard extensions declared (Concept, Time, Organizational, Lifecycle) and a few
onething:* attributes for what the standard has no key for. The document is produced as a
stream of text chunks, case by case, so exporting a large log never holds it in memory.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Iterator
from xml.sax.saxutils import quoteattr

from sqlalchemy import select

from engine.cases import eventlog as audit, canonical
from engine.worktime.clock import SHANGHAI
from engine.store.models import CaseEvent, CaseRecord, ProcessDefinition

XES_NS = "http://www.xes-standard.org/"
EXTENSIONS = (("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
              ("Time", "time", "http://www.xes-standard.org/time.xesext"),
              ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
              ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"))
# Case-level events are named by their kind (task events after their task).
CASE_LEVEL = (audit.CASE_STARTED, audit.CASE_COMPLETED, audit.CASE_CANCELLED,
              audit.INCIDENT_RAISED, audit.INCIDENT_RETRIED, audit.CLOCK_STARTED,
              audit.CLOCK_PAUSED, audit.CLOCK_RESUMED, audit.CLOCK_EXTENDED)
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CASES_PER_QUERY = 200

# Audit event kind -> lifecycle:transition (standard lifecycle model).
LIFECYCLE = {
    "case_started": "complete",
    "task_created": "schedule",
    "task_claimed": "assign",
    "task_unclaimed": "withdraw",
    "task_assigned": "reassign",
    "task_completed": "complete",
    "task_cancelled": "ate_abort",
    "timer_fired": "complete",
    "case_completed": "complete",
    "case_cancelled": "pi_abort",
    "incident_raised": "suspend",
    "incident_retried": "resume",
    "clock_started": "start",
    "clock_paused": "suspend",
    "clock_resumed": "resume",
    "clock_extended": "reassign",
}


@dataclass
class XesFilter:
    """Which cases to export: all when every field is empty.

    - case_ids / case_numbers: only these cases;
    - process_keys: only cases of these processes (the one-thing's key);
    - since / until: only cases started in [since, until) (aware datetimes)."""

    case_ids: list[int] = field(default_factory=list)
    case_numbers: list[str] = field(default_factory=list)
    process_keys: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class ExportSummary:
    """What was exported: number of traces (cases) and events."""

    traces: int = 0
    events: int = 0


def iter_xes(db, selection: XesFilter | None = None,
             summary: ExportSummary | None = None) -> Iterator[str]:
    """The XES document as text chunks (one per case plus header and footer). Opens its
    own read transaction on `db` (engine.store.db.Database) for the duration of the
    iteration, so it can back a streamed HTTP response. Fills `summary` when given."""
    selection = selection or XesFilter()
    summary = summary if summary is not None else ExportSummary()
    yield _header()
    with db.reading() as session:
        versions: dict[int, tuple[int, str]] = {}
        after = 0
        while True:
            cases = list(session.scalars(_case_query(selection, after)))
            if not cases:
                break
            for case in cases:
                if case.definition_id not in versions:
                    row = session.get(ProcessDefinition, case.definition_id)
                    versions[case.definition_id] = (row.version, row.name) if row else (0, "")
                events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                         .order_by(CaseEvent.seq))
                chunk, count = _trace(case, versions[case.definition_id], events)
                summary.traces += 1
                summary.events += count
                yield chunk
            after = cases[-1].id
            session.expunge_all()  # keep memory flat however many cases are exported
    yield "</log>\n"


def write_xes(db, target: str | Path | BinaryIO,
              selection: XesFilter | None = None) -> ExportSummary:
    """Write the XES document (UTF-8) to a path or a binary file object; returns what it
    exported."""
    summary = ExportSummary()
    if isinstance(target, (str, Path)):
        with open(target, "wb") as out:
            for chunk in iter_xes(db, selection, summary):
                out.write(chunk.encode("utf-8"))
    else:
        for chunk in iter_xes(db, selection, summary):
            target.write(chunk.encode("utf-8"))
    return summary


def _case_query(selection: XesFilter, after: int):
    query = select(CaseRecord).where(CaseRecord.id > after)
    if selection.case_ids or selection.case_numbers:
        query = query.where(CaseRecord.id.in_(selection.case_ids or [-1])
                            | CaseRecord.number.in_(selection.case_numbers or ["-"]))
    if selection.process_keys:
        query = query.where(CaseRecord.process_key.in_(selection.process_keys))
    if selection.since is not None:
        query = query.where(CaseRecord.created_at >= selection.since)
    if selection.until is not None:
        query = query.where(CaseRecord.created_at < selection.until)
    return query.order_by(CaseRecord.id).limit(_CASES_PER_QUERY)


def _header() -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="{XES_NS}">']
    lines += [f'  <extension name="{n}" prefix="{p}" uri="{u}"/>' for n, p, u in EXTENSIONS]
    lines += ['  <global scope="trace">',
              '    <string key="concept:name" value="__INVALID__"/>',
              '  </global>',
              '  <global scope="event">',
              '    <string key="concept:name" value="__INVALID__"/>',
              '    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>',
              '    <string key="lifecycle:transition" value="complete"/>',
              '  </global>',
              '  <classifier name="Activity" keys="concept:name"/>',
              '  <classifier name="Activity and transition" keys="concept:name lifecycle:transition"/>',
              '  <string key="concept:name" value="OneThing 审计事件日志"/>',
              '  <string key="lifecycle:model" value="standard"/>']
    return "\n".join(lines) + "\n"


def _text(value: Any) -> str:
    return quoteattr(_INVALID_XML.sub("\ufffd", str(value)))


def _attr(kind: str, key: str, value: Any, indent: str) -> str:
    return f"{indent}<{kind} key={_text(key)} value={_text(value)}/>\n"


def _time(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat(timespec="milliseconds")


def _trace(case: CaseRecord, version: tuple[int, str], events) -> tuple[str, int]:
    parts = ["  <trace>\n",
             _attr("string", "concept:name", case.number, "    "),
             _attr("string", "onething:process", case.process_key, "    "),
             _attr("int", "onething:process_version", version[0], "    "),
             _attr("string", "onething:process_name", version[1], "    "),
             _attr("int", "onething:case_id", case.id, "    "),
             _attr("string", "onething:status", case.status, "    ")]
    tasks: dict[str, tuple[str, str | None, str | None]] = {}
    count = 0
    for event in events:
        try:
            payload = canonical.loads(event.payload)
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        if event.kind == audit.TASK_CREATED and event.task_id:
            tasks[event.task_id] = (payload.get("name") or event.task_spec,
                                    payload.get("lane"), payload.get("process"))
        name, lane, process = tasks.get(event.task_id or "", (None, None, None))
        if event.kind in CASE_LEVEL:
            name = audit.EVENT_LABELS[event.kind]
        elif event.kind == audit.TIMER_FIRED:
            name = f"定时：{event.task_spec}"
        name = name or event.task_spec or event.kind
        parts += ["    <event>\n",
                  _attr("string", "concept:name", name, "      "),
                  _attr("date", "time:timestamp", _time(event.at), "      "),
                  _attr("string", "lifecycle:transition", LIFECYCLE.get(event.kind, "complete"),
                        "      "),
                  _attr("string", "onething:kind", event.kind, "      "),
                  _attr("int", "onething:seq", event.seq, "      ")]
        if event.actor:
            parts.append(_attr("string", "org:resource", event.actor, "      "))
        if lane:
            parts.append(_attr("string", "org:group", lane, "      "))
        if event.task_spec:
            parts.append(_attr("string", "onething:element", event.task_spec, "      "))
        if process or payload.get("process"):
            parts.append(_attr("string", "onething:item", process or payload["process"],
                               "      "))
        parts.append("    </event>\n")
        count += 1
    parts.append("  </trace>\n")
    return "".join(parts), count
