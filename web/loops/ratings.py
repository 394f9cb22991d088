"""好差评: statistics per department, item and month; the rectification ledger."""
from __future__ import annotations

from flask import render_template, request

from engine.loops.ratings_stats import GROUPINGS, RatingStatistics, bar_chart

from ..auth import roles_required
from . import bp
from ..i18n import N_
from ..runtime import runtime


GROUPING_LABELS = {"department": N_("按部门"), "item": N_("按事项"), "month": N_("按月份")}
HEADERS = {"department": N_("部门"), "item": N_("事项"), "month": N_("月份")}


@bp.get("/ratings")
@roles_required("lead", "admin")
def ratings():
    grouping = request.args.get("by") if request.args.get("by") in GROUPINGS else "department"
    rt = runtime()
    statistics = RatingStatistics(rt.db, rt.clock)
    stats = statistics.by(grouping)
    return render_template("loops/ratings.html", stats=stats, grouping=grouping,
                           groupings=GROUPING_LABELS, headers=HEADERS, chart=bar_chart(stats),
                           ledger=statistics.ledger())
