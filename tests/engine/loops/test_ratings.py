"""好差评 service rules: the five levels, what can be rated, re-rating, the 差评 case started
once (and again by the worker when the process was not deployed yet), invitations after a
configurable number of days, and the statistics (好评率, appeal upheld not counted)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from engine.errors import NotFound, ValidationFailed
from engine.loops.ratings import REVIEW_PROCESS, SCORES
from engine.loops.ratings_stats import RatingStatistics, bar_chart
from engine.store.models import CaseRecord
from engine.cases.dto import Actor
from tests.conftest import PROCESSES, deploy_files
from tests.scenarios.test_construction_permit import start

ADMIN = Actor("admin", frozenset({"admin"}))


def test_five_levels_two_of_them_bad():
    assert SCORES == {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def test_the_case_and_each_of_its_items_can_be_rated(deployed):
    case = start(deployed)
    targets = deployed.ratings.targets(case.id)
    assert targets[0].scope == "case" and targets[0].department == "行政审批服务局"
    items = {t.scope: t.department for t in targets[1:]}
    assert len(items) == 12 and items["item_night_construction"] == "生态环境局"


@pytest.mark.parametrize("score", [0, 6, True, "5", None, 4.5])
def test_a_score_outside_the_five_levels_is_refused(deployed, score):
    case = start(deployed)
    with pytest.raises(ValidationFailed) as error:
        deployed.ratings.rate(case.id, "case", score)
    assert "score" in error.value.fields


def test_unknown_scope_long_comment_and_unknown_case_are_refused(deployed):
    case = start(deployed)
    with pytest.raises(ValidationFailed):
        deployed.ratings.rate(case.id, "item_nonexistent", 5)
    with pytest.raises(ValidationFailed):
        deployed.ratings.rate(case.id, "case", 4, "很" * 501)
    with pytest.raises(NotFound):
        deployed.ratings.rate(999999, "case", 5)
    assert deployed.ratings.current(case.id) == {}


def test_a_re_rating_replaces_the_current_one_and_is_audited(deployed):
    case = start(deployed)
    first = deployed.ratings.rate(case.id, "case", 3, "一般")
    second = deployed.ratings.rate(case.id, "case", 5)
    assert deployed.ratings.current(case.id)["case"].id == second.id
    assert [r.id for r in deployed.ratings.history(case.id)] == [first.id, second.id]
    events = [e for e in deployed.cases.events(case.id, ADMIN) if e.kind == "rating_given"]
    assert len(events) == 2 and f'"replaces":{first.id}' in events[1].payload


def test_a_bad_rating_waits_for_the_process_and_the_worker_starts_it(runtime):
    deploy_files(runtime, PROCESSES / "items", PROCESSES / "onethings", PROCESSES / "common")
    case = start(runtime)
    rating = runtime.ratings.rate(case.id, "case", 2, "等候时间太长")
    assert rating.review_case_id is None and rating.status == "open"
    deploy_files(runtime, PROCESSES / "loops" / "bad_rating.bpmn")
    runtime.timers.run_once()  # the worker's round starts what failed to start
    started = runtime.ratings.get(rating.id)
    with runtime.db.reading() as session:
        assert session.get(CaseRecord, started.review_case_id).process_key == REVIEW_PROCESS
    assert runtime.ratings.run_job() == 0  # once only


def test_a_review_case_itself_cannot_be_rated(deployed):
    case = start(deployed)
    rating = deployed.ratings.rate(case.id, "case", 1, "态度差")
    with pytest.raises(NotFound):
        deployed.ratings.rate(rating.review_case_id, "case", 5)


def test_the_invitation_delay_is_configurable(deployed):
    from tests.scenarios.test_bad_rating import finished_case

    deployed.ratings.settings = replace(deployed.ratings.settings, invite_days=1)
    case = finished_case(deployed)
    deployed.clock.advance(days=1)
    assert deployed.ratings.invite_due() == 1
    assert deployed.ratings.invitation(case.id) == deployed.clock.now()


def test_statistics_count_current_ratings_and_leave_out_upheld_appeals(deployed):
    from engine.store.models_loops import Rating

    one, two = start(deployed), start(deployed)
    deployed.ratings.rate(one.id, "case", 5)
    deployed.ratings.rate(two.id, "case", 4)
    deployed.ratings.rate(two.id, "item_night_construction", 1, "慢")
    replaced = deployed.ratings.rate(one.id, "item_night_construction", 2, "慢")
    with deployed.db.transaction() as session:  # as an upheld appeal leaves it
        session.get(Rating, replaced.id).excluded = True
    stats = {s.key: s for s in RatingStatistics(deployed.db, deployed.clock).by("department")}
    assert (stats["行政审批服务局"].total, stats["行政审批服务局"].good_rate) == (2, 1.0)
    assert (stats["生态环境局"].total, stats["生态环境局"].bad) == (1, 1)
    assert stats["生态环境局"].good_rate == 0.0 and stats["生态环境局"].handling == 1
    chart = bar_chart(list(stats.values()))
    widths = {b["key"]: b["width"] for b in chart["bars"]}
    assert widths["行政审批服务局"] == chart["plot"] and widths["生态环境局"] == 0
