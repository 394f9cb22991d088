"""Small server-rendered SVG charts (no chart library, no CDN): horizontal bars with a
limit marker, paired before/after bars, and a weekly time series. Every label is
escaped; each chart carries a <title> and a table-like text alternative in its rows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup, escape

WIDTH = 680
LABEL_W = 190
ROW_H = 26
PAD = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    limit: float | None = None   # drawn as a tick: e.g. the promised time limit
    note: str = ""               # the value as text, shown after the bar
    over: bool = False           # drawn in the warning colour


def _num(value: float) -> str:
    return f"{value:.1f}"


def bar_chart(bars: Sequence[Bar], *, title: str, css: str = "") -> Markup:
    """One row per bar; the scale fits the largest value or limit."""
    top = max([b.value or 0 for b in bars] + [b.limit or 0 for b in bars] + [1e-9])
    plot = WIDTH - LABEL_W - 90
    height = PAD * 2 + ROW_H * max(len(bars), 1)
    parts = [f'<svg class="chart {escape(css)}" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, bar in enumerate(bars):
        y = PAD + i * ROW_H
        parts.append(f'<text class="label" x="{LABEL_W - 6}" y="{y + 17}" text-anchor="end">'
                     f'{escape(bar.label[:18])}</text>')
        width = (bar.value or 0) / top * plot
        cls = "bar over" if bar.over else "bar"
        parts.append(f'<rect class="{cls}" x="{LABEL_W}" y="{y + 5}" width="{_num(width)}" '
                     f'height="{ROW_H - 10}" rx="2"><title>{escape(bar.label)}: '
                     f'{escape(bar.note)}</title></rect>')
        if bar.limit:
            x = LABEL_W + bar.limit / top * plot
            parts.append(f'<line class="limit" x1="{_num(x)}" x2="{_num(x)}" y1="{y + 2}" '
                         f'y2="{y + ROW_H - 2}"/>')
        parts.append(f'<text class="value" x="{_num(LABEL_W + width + 6)}" y="{y + 17}">'
                     f'{escape(bar.note)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def paired_chart(rows: Sequence[tuple[str, float | None, float | None]], *, title: str,
                 legend: tuple[str, str], unit: str) -> Markup:
    """Two bars per row (before, after)."""
    top = max([v or 0 for _, a, b in rows for v in (a, b)] + [1e-9])
    plot = WIDTH - LABEL_W - 90
    row_h = ROW_H + 10
    height = PAD * 2 + row_h * max(len(rows), 1) + 22
    parts = [f'<svg class="chart paired" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<rect class="bar before" x="{LABEL_W}" y="4" width="12" height="10"/>'
             f'<text class="legend" x="{LABEL_W + 16}" y="13">{escape(legend[0])}</text>'
             f'<rect class="bar after" x="{LABEL_W + 200}" y="4" width="12" height="10"/>'
             f'<text class="legend" x="{LABEL_W + 216}" y="13">{escape(legend[1])}</text>']
    for i, (label, before, after) in enumerate(rows):
        y = 22 + PAD + i * row_h
        parts.append(f'<text class="label" x="{LABEL_W - 6}" y="{y + 18}" text-anchor="end">'
                     f'{escape(label[:18])}</text>')
        for j, (value, cls) in enumerate(((before, "before"), (after, "after"))):
            width = (value or 0) / top * plot
            yy = y + 3 + j * 13
            parts.append(f'<rect class="bar {cls}" x="{LABEL_W}" y="{yy}" '
                         f'width="{_num(width)}" height="11" rx="2"/>')
            text = "—" if value is None else f"{value:.2f} {unit}"
            parts.append(f'<text class="value small" x="{_num(LABEL_W + width + 5)}" '
                         f'y="{yy + 10}">{escape(text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def series_chart(points: Sequence[tuple[str, int, float | None]], *, title: str,
                 count_label: str, days_label: str) -> Markup:
    """Columns: cases accepted per period; line: their average handling days."""
    height, base, left, right = 200, 160, 40, WIDTH - 40
    n = max(len(points), 1)
    step = (right - left) / n
    top_count = max([c for _, c, _ in points] + [1])
    top_days = max([d or 0 for _, _, d in points] + [1e-9])
    parts = [f'<svg class="chart series" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<line class="axis" x1="{left}" x2="{right}" y1="{base}" y2="{base}"/>',
             f'<rect class="bar" x="{left}" y="4" width="12" height="10"/>'
             f'<text class="legend" x="{left + 16}" y="13">{escape(count_label)}</text>'
             f'<line class="trend" x1="{left + 200}" x2="{left + 214}" y1="9" y2="9"/>'
             f'<text class="legend" x="{left + 218}" y="13">{escape(days_label)}</text>']
    line = []
    for i, (label, count, days) in enumerate(points):
        x = left + i * step
        h = count / top_count * (base - 30)
        parts.append(f'<rect class="bar" x="{_num(x + step * 0.2)}" y="{_num(base - h)}" '
                     f'width="{_num(step * 0.6)}" height="{_num(h)}"><title>{escape(label)}: '
                     f'{count}</title></rect>')
        parts.append(f'<text class="tick" x="{_num(x + step / 2)}" y="{base + 14}" '
                     f'text-anchor="middle">{escape(label)}</text>')
        if days is not None:
            y = base - days / top_days * (base - 30)
            line.append(f"{_num(x + step / 2)},{_num(y)}")
            parts.append(f'<circle class="trend" cx="{_num(x + step / 2)}" cy="{_num(y)}" r="3">'
                         f'<title>{escape(label)}: {days:.2f}</title></circle>')
    if len(line) > 1:
        parts.append(f'<polyline class="trend" points="{" ".join(line)}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
