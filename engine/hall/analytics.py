"""The auditor's analytics as one read: a process's element heatmap, item statistics
against the promised limits, a weekly series and a before/after comparison — all numbers
from engine.audit.analytics, gathered in one session, checked for the auditor inside."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.audit import analytics
from engine.cases.dto import Actor
from engine.definitions.service import BPMN_NS
from engine.errors import NotFound
from engine.hall.audit import ProcessChoice, check_audits
from engine.runtime import Runtime
from engine.store.models import ProcessDefinition


@dataclass(frozen=True)
class AnalyticsReport:
    """What the analytics page shows for one process (`key`): the diagram drawn
    (`map_key`; `map_version` when it is the process itself), its call activities
    (id → called process key), the numbers, and the versions one may compare."""

    processes: list[ProcessChoice]
    key: str | None
    map_key: str | None = None
    map_version: int | None = None
    called: dict[str, str] | None = None
    items: list[analytics.ItemStat] | None = None
    heat: dict[str, analytics.ElementStat] | None = None
    series: list[analytics.Bucket] | None = None
    comparison: analytics.Comparison | None = None
    versions: list[int] | None = None


def _definition(session, key: str, version: int | None) -> ProcessDefinition | None:
    stmt = select(ProcessDefinition).where(ProcessDefinition.key == key)
    if version is not None:
        stmt = stmt.where(ProcessDefinition.version == version)
    return session.scalar(stmt.order_by(ProcessDefinition.version.desc()).limit(1))


def _called(rt: Runtime, session, definition: ProcessDefinition) -> dict[str, str]:
    """call activity id -> called process key, in the diagram."""
    document = rt.definitions.document(session, definition.key, definition.content_hash)
    return {c.get("id"): c.get("calledElement")
            for c in document.process.iter(f"{{{BPMN_NS}}}callActivity")
            if c.get("id") and c.get("calledElement")}


def analytics_report(rt: Runtime, actor: Actor, *, process: str | None, map_key: str | None,
                     period: analytics.Period, before: analytics.Period | None = None,
                     after: analytics.Period | None = None,
                     numbers: bool = True) -> AnalyticsReport:
    """The analytics of `process` (an unknown or missing key: the first one-thing, else
    the first process), its heatmap drawn on `map_key` when that is one of its called
    processes. Without `numbers` (the form had errors) only the choices are filled in.
    NotAllowed for anyone but auditors and administrators."""
    check_audits(actor)
    with rt.db.reading() as session:
        processes = [ProcessChoice(p.key, p.name) for p in rt.definitions.all_latest(session)]
        keys = [p.key for p in processes]
        default = next((k for k in keys if k.startswith("onething_")), keys[0] if keys else None)
        key = process if process in keys else default
        if key is None:
            return AnalyticsReport(processes=[], key=None)
        top = _definition(session, key, period.version) or _definition(session, key, None)
        assert top is not None  # key is a deployed process
        called = _called(rt, session, top)
        drawn = map_key if map_key is not None and map_key in called.values() else key
        calendar = rt.clocks.calendars.get(session)
        now = rt.clock.now()
        catalogue = rt.catalogue.current()  # one version of the catalogue for the report
        items = analytics.item_stats(session, calendar, catalogue, now, process_key=key,
                                     period=period) if numbers else []
        heat = analytics.element_stats(session, calendar, drawn, period=period,
                                       called=called if drawn == key else None) \
            if numbers else {}
        series = analytics.weekly_series(analytics.handling_times(
            session, calendar, scope=key, period=period)) if numbers else []
        comparison = None
        if before and after and numbers:
            comparison = analytics.compare(
                analytics.item_stats(session, calendar, catalogue, now, process_key=key,
                                     period=before),
                analytics.item_stats(session, calendar, catalogue, now, process_key=key,
                                     period=after),
                before_label=before.label, after_label=after.label)
        return AnalyticsReport(processes=processes, key=key, map_key=drawn,
                               map_version=top.version if drawn == key else None,
                               called=called, items=items, heat=heat, series=series,
                               comparison=comparison,
                               versions=analytics.versions_of(session, key))


def diagram_xml(rt: Runtime, actor: Actor, key: str, version: int | None) -> str:
    """The BPMN XML of a deployed process (a version, or the latest), for the heatmap.
    NotFound when there is none."""
    check_audits(actor)
    with rt.db.reading() as session:
        row = _definition(session, key, version)
        if row is None:
            raise NotFound(f"流程 {key[:100]} 不存在")
        return row.bpmn_xml
