"""好差评 statistics: 好评率, 差评 count and rectification status per department, item and
month; and the rectification ledger (整改台账). Current ratings only (a re-rating replaces
the earlier one); a 差评 whose appeal was upheld is not counted."""
from __future__ import annotations

from dataclasses import dataclass
from sqlalchemy import select

from engine.worktime.clock import SHANGHAI, Clock
from engine.store.db import Database
from engine.store.models import CaseRecord
from engine.store.models_loops import Rating
from engine.loops.ratings import BAD_SCORES, RatingView

GROUPINGS = ("department", "item", "month")


@dataclass
class Stat:
    key: str
    total: int = 0
    good: int = 0
    bad: int = 0
    handling: int = 0      # 差评 not yet rectified, explained or closed
    rectified: int = 0
    explained: int = 0
    overdue: int = 0       # ledger entries past their deadline, not rectified

    @property
    def good_rate(self) -> float | None:
        """好评率: share of ratings at 基本满意 or better."""
        return self.good / self.total if self.total else None


@dataclass(frozen=True)
class LedgerEntry:
    rating: RatingView
    case_number: str
    overdue: bool


class RatingStatistics:
    def __init__(self, db: Database, clock: Clock):
        self.db, self.clock = db, clock

    def by(self, grouping: str) -> list[Stat]:
        if grouping not in GROUPINGS:
            raise ValueError(grouping)
        now = self.clock.now()
        stats: dict[str, Stat] = {}
        with self.db.reading() as session:
            rows = list(session.scalars(select(Rating).where(Rating.current.is_(True),
                                                             Rating.excluded.is_(False))))
        for row in rows:
            key = {"department": row.department, "item": row.scope_name,
                   "month": row.created_at.astimezone(SHANGHAI).strftime("%Y-%m")}[grouping]
            stat = stats.setdefault(key, Stat(key))
            stat.total += 1
            if row.score not in BAD_SCORES:
                stat.good += 1
                continue
            stat.bad += 1
            if row.rectified_at is not None:
                stat.rectified += 1
            elif row.handling == "explain":
                stat.explained += 1
            else:
                stat.handling += 1
                if row.rectification_due is not None and row.rectification_due < now:
                    stat.overdue += 1
        order = (lambda s: s.key) if grouping == "month" else (lambda s: (-s.total, s.key))
        return sorted(stats.values(), key=order)

    def ledger(self) -> list[LedgerEntry]:
        """整改台账: every 差评 put on the ledger, deadline first."""
        now = self.clock.now()
        with self.db.reading() as session:
            rows = session.execute(select(Rating, CaseRecord.number)
                                   .join(CaseRecord, CaseRecord.id == Rating.case_id)
                                   .where(Rating.rectification_due.is_not(None))
                                   .order_by(Rating.rectification_due, Rating.id)).all()
        return [LedgerEntry(RatingView.of(r), number,
                            r.rectified_at is None and r.rectification_due < now)
                for r, number in rows]


def bar_chart(stats: list[Stat], *, width: int = 640, bar: int = 22, gap: int = 8,
              label_width: int = 170) -> dict:
    """Geometry of a horizontal bar chart of 好评率 (the template draws the SVG)."""
    plot = width - label_width - 60
    bars = []
    for index, stat in enumerate(stats):
        rate = stat.good_rate or 0.0
        bars.append({"key": stat.key, "y": index * (bar + gap), "width": round(plot * rate, 1),
                     "rate": rate, "bad": stat.bad, "total": stat.total})
    return {"width": width, "height": max(1, len(stats)) * (bar + gap), "bar": bar,
            "label_width": label_width, "plot": plot, "bars": bars}
