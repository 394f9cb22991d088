"""Analytics on the auditor's desk: a heatmap of element durations on the diagram, per
item handling time against the promised limit with overdue / 补正 / 容缺 rates, a weekly
series, and a before/after comparison of two periods or two versions. The numbers come
from engine.audit.analytics; this module only reads the form, draws and renders."""
from __future__ import annotations

from flask import Response, render_template, request
from flask_babel import gettext as _

from engine.audit import analytics
from engine.hall.analytics import analytics_report, diagram_xml

from . import bp, charts
from ..auth import current_actor
from ..runtime import runtime
from .common import auditor_required, parse_date


def _period(prefix: str, errors: dict[str, str]) -> analytics.Period | None:
    start = parse_date(f"{prefix}from", errors)
    end = parse_date(f"{prefix}to", errors)
    version = request.args.get(f"{prefix}version", type=int)
    if start and end and end < start:
        errors[f"{prefix}to"] = _("结束日期不能早于开始日期")
    if not (start or end or version):
        return None
    return analytics.Period(start, end, version)


def limit_text(stat: analytics.ItemStat) -> str:
    """The promised limit in the reader's language."""
    units = {"工作日": _("%(n)s 个工作日"), "自然日": _("%(n)s 个自然日"), "小时": _("%(n)s 小时")}
    if stat.promised_amount is None or stat.promised_unit not in units:
        return "—"
    return units[stat.promised_unit] % {"n": stat.promised_amount}


def _limit(days: float | None) -> str:
    return "—" if days is None else f"{days:g}" if days >= 1 else f"{days:.2f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@bp.get("/audit/analytics")
@auditor_required
def analytics_page():
    rt = runtime()
    errors: dict[str, str] = {}
    period = _period("", errors) or analytics.Period()
    before, after = _period("before_", errors), _period("after_", errors)
    report = analytics_report(rt, current_actor(), process=request.args.get("process"),
                              map_key=request.args.get("map"), period=period, before=before,
                              after=after, numbers=not errors)
    if report.key is None:
        return render_template("audit/analytics.html", empty=True, errors=errors,
                               processes=[], args=request.args)
    processes, key, map_key = report.processes, report.key, report.map_key
    items, heat, series = report.items or [], report.heat or {}, report.series or []
    comparison = report.comparison
    item_bars = [charts.Bar(s.name, s.avg_days, s.promised_days,
                            "—" if s.avg_days is None else _("%(d)s / %(p)s 工作日",
                                                              d=f"{s.avg_days:.2f}",
                                                              p=_limit(s.promised_days)),
                            over=bool(s.share_of_limit and s.share_of_limit > 1))
                 for s in items]
    rate_bars = [charts.Bar(s.name, (s.overdue_rate or 0) * 100, None, _pct(s.overdue_rate),
                            over=bool(s.overdue)) for s in items]
    charts_html = {
        "handling": charts.bar_chart(item_bars, title=_("平均办理时长（工作日）与承诺时限"),
                                     css="handling") if items else None,
        "overdue": charts.bar_chart(rate_bars, title=_("逾期率"), css="rates") if items else None,
        "series": charts.series_chart(
            [(b.start.strftime("%m-%d"), b.accepted, b.avg_days) for b in series],
            title=_("每周受理量与平均办理时长"), count_label=_("受理件数"),
            days_label=_("平均办理时长（工作日）")) if series else None,
    }
    if comparison:
        charts_html["compare"] = charts.paired_chart(
            [((b or a).name, b.avg_days if b else None, a.avg_days if a else None)
             for b, a, _change in comparison.rows],
            title=_("前后对比：平均办理时长"), legend=(comparison.before_label,
                                                  comparison.after_label), unit=_("工作日"))
    heat_json = {element_id: stat.to_json() for element_id, stat in heat.items()}
    return render_template(
        "audit/analytics.html", empty=False, errors=errors, processes=processes, key=key,
        map_key=map_key, map_version=report.map_version, called=report.called, items=items,
        heat=heat, heat_json=heat_json, series=series, comparison=comparison,
        charts=charts_html, versions=report.versions, period=period, args=request.args, pct=_pct, limit_text=limit_text,
        names={p.key: p.name for p in processes}), 422 if errors else 200


@bp.get("/audit/analytics/diagram.xml")
@auditor_required
def analytics_diagram():
    """The BPMN XML of a deployed process (a version, or the latest) for the heatmap."""
    xml = diagram_xml(runtime(), current_actor(), request.args.get("process") or "",
                      request.args.get("version", type=int))
    response = Response(xml, mimetype="application/xml")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
