"""Demo cases: a morning in the service hall.

Each story drives a case through the same service calls clerks use (filed at the front
desk with the applicant's materials and the clerk's decision in one call, then tasks
completed as the department's demo clerk), starting at a moment in the past so the
statutory clocks show every band a hall sees: just received, just accepted, waiting for
补正, 一次性告知, 预警, 逾期, ready for issuance, finished. The runtime's clock must be able
to travel (`TravellingClock` for `onething demo`, `FrozenClock` in tests): stories set it
back, act, and it is brought home afterwards.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Callable

from engine.acceptance.connectors import data_sharing
from engine.acceptance.rules import ACCEPT, NOTIFY, Decision
from engine.hall import forms
from engine.hall.counter import Counter, Filing
from engine.worktime.clock import SHANGHAI
from engine.runtime import Runtime
from engine.cases.dto import Actor, CaseView, TaskView
from engine.worktime.workcalendar import WorkingCalendar

# A one-page PDF: the scan the demo applicant brings for each material of their own.
SAMPLE_SCAN = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@dataclass(frozen=True)
class Story:
    """One demo case: which one-thing, how many working days ago it was received, the
    application (changes to the one-thing's sample), the front desk's decision (`filed`:
    accept, notify with `notice`, or None while it still waits at the counter), and what
    happened since."""

    process: str
    title: str
    working_days_ago: int
    changes: dict[str, Any]
    act: Callable[["Hall", CaseView], Any]
    filed: str | None = ACCEPT
    notice: str = ""


class Hall:
    """The demo people acting on cases; every step is taken as the clerk of the task's
    lane (so the audit log reads like a real day), with the clock at `at`."""

    def __init__(self, runtime: Runtime, clerks: dict[str, Actor]):
        self.runtime = runtime
        self.clerks = clerks

    def actor_for(self, task: TaskView) -> Actor:
        return self.clerks.get(task.lane or "", Actor("admin", frozenset({"admin"})))

    def complete(self, case: CaseView, spec: str, data: dict[str, Any]) -> CaseView:
        task = next(t for t in case.tasks if t.task_spec == spec)
        return self.runtime.cases.complete(task.id, data, self.actor_for(task))

    def later(self, **delta: float) -> None:
        """Let some time pass before the next step (hours of a working day)."""
        self.runtime.clock.set(self.runtime.clock.now() + timedelta(**delta))

    def review_tasks(self, case: CaseView) -> list[TaskView]:
        return [t for t in case.tasks if t.task_spec.endswith("_review")]

    def decide(self, case: CaseView, task: TaskView, decision: str, opinion: str) -> CaseView:
        key = task.task_spec.removesuffix("_review")
        data = {f"{key}_decision": decision, f"{key}_opinion": opinion}
        if key == "fire_safety_inspection":  # 告知承诺: decided on the signed commitment
            data["fire_safety_inspection_commitment_confirmed"] = True
        return self.runtime.cases.complete(task.id, data, self.actor_for(task))

    def approve(self, case: CaseView, count: int | None = None) -> CaseView:
        """Approve `count` open reviews (all when None), one after another."""
        done = 0
        while count is None or done < count:
            reviews = self.review_tasks(case)
            if not reviews:
                break
            case = self.decide(case, reviews[0], "approve", "材料齐全，符合法定条件，准予许可。")
            done += 1
            self.later(minutes=20)
        return case

    def issue(self, case: CaseView) -> CaseView:
        return self.complete(case, "issuance", {
            "delivery_method": "post", "tracking_number": "SF1234567890",
            "recipient_address": "聊城市东昌府区柳园南路 88 号 陈晓 13806351234"})


# -- the stories ---------------------------------------------------------------------------

def _as_filed(hall: Hall, case: CaseView) -> CaseView:
    """Nothing since the front desk: waiting there, accepted, or told what is missing."""
    return case


def _correction(hall: Hall, case: CaseView) -> CaseView:
    hall.later(hours=3)
    drainage = next(t for t in hall.review_tasks(case) if t.task_spec.startswith("drainage"))
    return hall.decide(case, drainage, "correct",
                       "一次性告知需补正：1. 排水管网接驳点平面图未标注检查井编号；"
                       "2. 雨污分流设施说明缺少处理能力计算。")


def _partly_reviewed(count: int) -> Callable[[Hall, CaseView], CaseView]:
    def act(hall: Hall, case: CaseView) -> CaseView:
        hall.later(hours=2)
        return hall.approve(case, count)
    return act


def _ready_for_issuance(hall: Hall, case: CaseView) -> CaseView:
    hall.later(hours=1)
    return hall.approve(case)


def _finished(hall: Hall, case: CaseView) -> CaseView:
    case = _ready_for_issuance(hall, case)
    hall.later(hours=1)
    return hall.issue(case)


def _one_refused(hall: Hall, case: CaseView) -> CaseView:
    hall.later(hours=1)
    night = next(t for t in hall.review_tasks(case) if t.task_spec.startswith("night"))
    case = hall.decide(case, night, "refuse",
                       "不予许可：申请夜间施工时段位于中考期间（《环境噪声污染防治法》第三十条）。")
    case = hall.approve(case)
    hall.later(hours=1)
    return hall.issue(case)


def _site_check_passed(hall: Hall, case: CaseView) -> CaseView:
    case = _finished(hall, case)
    hall.later(days=2)
    return hall.complete(case, "fire_safety_site_check", {
        "fire_safety_site_check_date": hall.runtime.clock.now().date().isoformat(),
        "fire_safety_site_check_result": "pass",
        "fire_safety_site_check_opinion": "现场与承诺一致：疏散通道畅通，灭火器配置到位。"})


CONSTRUCTION = "onething_construction_permit"
RESTAURANT = "onething_restaurant"
STORIES: list[Story] = [
    Story(CONSTRUCTION, "刚收件，待综合受理", 0,
          {"project_name": "聊城市东昌府区实验小学教学楼"}, _as_filed, filed=None),
    Story(CONSTRUCTION, "今日受理，十二个部门并联审批", 0,
          {"project_name": "茌平区信发街道社区服务中心"}, _as_filed),
    Story(CONSTRUCTION, "材料不齐，已一次性告知", 1,
          {"project_name": "聊城市第二人民医院门诊楼改扩建"}, _as_filed, filed=NOTIFY,
          notice="1. 施工合同（缺盖章页）\n2. 建设资金已落实承诺书（未签字）"),
    Story(CONSTRUCTION, "排水许可要求补正，计时暂停", 2,
          {"project_name": "东阿县阿胶产业园研发中心"}, _correction),
    Story(CONSTRUCTION, "部分部门未办结，临近承诺时限（预警）", 4,
          {"project_name": "冠县新华路小学综合楼"}, _partly_reviewed(8)),
    Story(CONSTRUCTION, "超过承诺时限（逾期）", 7,
          {"project_name": "临清市运河文化街区改造一期"}, _partly_reviewed(9)),
    Story(CONSTRUCTION, "各部门均已办结，待统一出件", 1,
          {"project_name": "聊城高新区智能制造产业园一期"}, _ready_for_issuance),
    Story(CONSTRUCTION, "已出证办结，邮寄送达", 6,
          {"project_name": "阳谷县景阳冈文旅小镇游客中心"}, _finished),
    Story(CONSTRUCTION, "夜间施工不予许可，其余准予，已办结", 5,
          {"project_name": "莘县妇幼保健院住院楼"}, _one_refused),
    Story(RESTAURANT, "开餐馆：刚受理，五个部门并联审批", 0, {}, _as_filed),
    # Issued on the fire-safety commitment; the brigade's site check is still to come.
    Story(RESTAURANT, "开餐馆：已出证，消防告知承诺现场核查待办", 3, {}, _finished),
    Story(RESTAURANT, "开餐馆：不兼营烟草，现场核查通过，已办结", 8,
          {"sells_tobacco": "false",
           "tobacco_nearest_retailer_distance": None, "tobacco_near_school": None},
          _site_check_passed),
]


def working_days_before(moment: datetime, days: int,
                        calendar: WorkingCalendar | None = None) -> datetime:
    """9:30 on the working day `days` working days before `moment` (today at 9:30 for 0)."""
    calendar = calendar or WorkingCalendar.from_package()
    day, left = moment.astimezone(SHANGHAI).date(), days
    while left > 0 or not calendar.is_workday(day):
        day -= timedelta(days=1)
        if calendar.is_workday(day):
            left -= 1
    return datetime.combine(day, time(9, 30), SHANGHAI)


def _with_materials(counter: Counter, story: Story, values: dict[str, Any],
                    front: Actor) -> dict[str, Any]:
    """The application with a scan under each material the applicant brings themselves;
    for a one-time notice, without any (the notice names what is missing)."""
    if story.filed == NOTIFY:
        return values
    scan = counter.runtime.uploads.save(io.BytesIO(SAMPLE_SCAN), "材料.pdf",
                                        front.username).id
    app = counter.application(story.process)
    return {**values, **{row.field.id: scan for row in app.materials
                         if row.field.source == "申请人自备"
                         and row.necessity in ("必要", "容缺后补")}}


def seed_cases(runtime: Runtime, clerks: dict[str, Actor],
               applications: dict[str, dict[str, Any]],
               stories: list[Story] = STORIES) -> list[tuple[Story, CaseView]]:
    """Play every story whose one-thing is deployed; the clock ends where it started."""
    clock = runtime.clock
    home = clock.now()
    hall = Hall(runtime, clerks)
    front = clerks["综合受理窗口"]
    counter = Counter(runtime, data_sharing(None, local_flags=runtime.credit))
    played = []
    try:
        for story in sorted(stories, key=lambda s: -s.working_days_ago):
            with runtime.db.reading() as session:
                definition = runtime.definitions.latest(session, story.process)
            if definition is None or story.process not in applications:
                continue
            clock.set(min(working_days_before(home, story.working_days_ago), home))
            values = {k: v for k, v in {**applications[story.process], **story.changes}.items()
                      if v is not None}
            if story.filed is None:  # handed in, the clerk has not decided yet
                data = forms.clean_application(runtime, definition, values)
                case = runtime.cases.start_case(definition.key, data, front)
            else:
                case = counter.file(Filing(
                    definition.key, story.filed, _with_materials(counter, story, values,
                                                                 front),
                    Decision(missing_materials=story.notice)), front).case
            hall.later(minutes=15)
            played.append((story, story.act(hall, case)))
    finally:
        if hasattr(clock, "home"):
            clock.home()
        else:
            clock.set(home)
    return played
