"""Before/after comparisons ("审批效率提升 50%") and the weekly time series."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable

from engine.worktime.clock import SHANGHAI
from engine.audit.analytics.common import mean
from engine.audit.analytics.items import ItemStat


@dataclass(frozen=True)
class Change:
    """One figure before and after; `improvement` is the share by which a time went down
    (0.5 = handled in half the time: "效率提升 50%"), negative when it went up."""

    before: float | None
    after: float | None

    @property
    def improvement(self) -> float | None:
        if self.before in (None, 0) or self.after is None:
            return None
        return (self.before - self.after) / self.before


@dataclass
class Comparison:
    before_label: str
    after_label: str
    rows: list[tuple[ItemStat | None, ItemStat | None, Change]]

    @property
    def overall(self) -> Change | None:
        """The first row's change: the one-thing itself when comparing a one-thing."""
        return self.rows[0][2] if self.rows else None


def compare(before: list[ItemStat], after: list[ItemStat], *, before_label: str = "",
            after_label: str = "") -> Comparison:
    """Pair the items of two periods by scope (the order of `before`, then new ones)."""
    after_by = {s.scope: s for s in after}
    rows = []
    for stat in before:
        other = after_by.pop(stat.scope, None)
        rows.append((stat, other, Change(stat.avg_days, other.avg_days if other else None)))
    for other in after_by.values():
        rows.append((None, other, Change(None, other.avg_days)))
    return Comparison(before_label, after_label, rows)


# -- time series -------------------------------------------------------------------------

@dataclass(frozen=True)
class Bucket:
    start: date
    accepted: int
    avg_days: float | None


def weekly_series(stats_source: Iterable[tuple[datetime, float | None]]) -> list[Bucket]:
    """(acceptance time, handling days or None) → per ISO week (Monday), in order, with
    empty weeks in between filled in."""
    weeks: dict[date, list[float | None]] = defaultdict(list)
    for at, days in stats_source:
        local = at.astimezone(SHANGHAI).date()
        weeks[local - timedelta(days=local.weekday())].append(days)
    if not weeks:
        return []
    out, day, last = [], min(weeks), max(weeks)
    while day <= last:
        values = weeks.get(day, [])
        out.append(Bucket(day, len(values), mean([v for v in values if v is not None])))
        day += timedelta(days=7)
    return out
