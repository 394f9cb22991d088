"""Numbers for the auditor's analytics: how long each element of a diagram takes, how
each item performs against its promised time limit (限时办结), how often it needed 补正
or was accepted with deficiency (容缺受理), and whether a reform made handling faster
(before/after two periods or two versions: "审批效率提升 50%").

Everything is read from the materialised tables (human_task, case_clock) and a few
kinds of audit event (clock pauses, acceptance decisions), never from workflow state.
Durations are net working time: office hours on working days of the official calendar,
without the time a clock was paused for 补正 or a special procedure; a working day is
the office hours of one day (`HOURS_PER_WORKDAY`).
"""
from __future__ import annotations

from engine.audit.analytics.common import Period, versions_of, working_hours
from engine.worktime.deadlines import HOURS_PER_WORKDAY
from engine.audit.analytics.elements import ElementStat, element_stats
from engine.audit.analytics.items import CORRECTION_REASON, ItemStat, handling_times, item_stats
from engine.audit.analytics.trends import Bucket, Change, Comparison, compare, weekly_series

__all__ = ["HOURS_PER_WORKDAY", "Period", "versions_of", "working_hours", "ElementStat",
           "element_stats", "CORRECTION_REASON", "ItemStat", "handling_times", "item_stats",
           "Bucket", "Change", "Comparison", "compare", "weekly_series"]
