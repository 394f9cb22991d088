"""好差评: applicants rate a case and each of its items on five levels; a 差评 (1 or 2)
starts its own case of the 差评整改 process (processes/loops/bad_rating.bpmn) under a
system actor; a finished case not rated N days after 办结 gets an invitation.

The rating row is the read model the portal and the statistics use; the 差评 case's steps
write back into it through a step hook (engine.loops.rating_review), inside the step's own
transaction, so the row never disagrees with the process.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from engine.cases import eventlog as audit
from engine.definitions.catalogue import Catalogue
from engine.cases.service import CaseService
from engine.worktime.clock import Clock
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.store.db import Database
from engine.store.models import CASE_COMPLETED, CaseRecord
from engine.store.models_loops import Rating, RatingInvitation
from engine.cases.transactions import ConflictGuard
from engine.cases.dto import SYSTEM

# The five levels (全国一体化政务服务平台 好差评); 2 and 1 are 差评.
SCORES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD_SCORES = (1, 2)
CASE_SCOPE = "case"
REVIEW_PROCESS = "loop_bad_rating"
OFFICE = "好差评办公室"           # the lane (and department) that oversees 差评 handling
RESPONSIBLE_LANE = "责任部门"     # the role lane bound to the rated department per case
MAX_COMMENT = 500

# Rating row status: good (no handling needed), open (差评 being handled), closed (fed back).
GOOD, OPEN, CLOSED = "good", "open", "closed"
HANDLING_LABELS = {None: "待回访核实", "rectify_now": "已立即整改", "ledger": "限期整改中",
                   "explain": "已解释说明", "appeal": "申诉审核中",
                   "appeal_upheld": "申诉成立（不计入）", "appeal_rejected": "申诉被驳回，待处理"}


@dataclass(frozen=True)
class RatingSettings:
    """Local (地方) time limits, configurable: invite after `invite_days` natural days,
    rectify within `rectify_days` working days."""

    invite_days: int = 3
    rectify_days: int = 15


@dataclass(frozen=True)
class Target:
    """What can be rated on a case: the case itself or one of its items."""

    scope: str
    name: str
    department: str


@dataclass(frozen=True)
class RatingView:
    id: int
    case_id: int
    scope: str
    scope_name: str
    department: str
    score: int
    comment: str | None
    created_at: datetime
    status: str
    handling: str | None
    rectification_due: datetime | None
    rectified_at: datetime | None
    escalated_at: datetime | None
    excluded: bool
    feedback: str | None
    feedback_at: datetime | None
    review_case_id: int | None

    @property
    def label(self) -> str:
        return SCORES[self.score]

    @property
    def bad(self) -> bool:
        return self.score in BAD_SCORES

    @property
    def handling_label(self) -> str:
        return HANDLING_LABELS.get(self.handling, self.handling or "")

    @classmethod
    def of(cls, row: Rating) -> "RatingView":
        return cls(row.id, row.case_id, row.scope, row.scope_name, row.department, row.score,
                   row.comment, row.created_at, row.status, row.handling,
                   row.rectification_due, row.rectified_at, row.escalated_at, row.excluded, row.feedback,
                   row.feedback_at, row.review_case_id)


class Ratings:
    def __init__(self, db: Database, clock: Clock, cases: CaseService,
                 catalogue: Catalogue | None, settings: RatingSettings | None = None):
        self.db, self.clock, self.cases, self.catalogue = db, clock, cases, catalogue
        self.settings = settings or RatingSettings()

    # -- what can be rated -------------------------------------------------------------

    def targets(self, case_id: int) -> list[Target]:
        """The case and, for a one-thing, each item it bundles (from the catalogue)."""
        with self.db.reading() as session:
            case = session.get(CaseRecord, case_id)
            if case is None:
                raise NotFound("办件不存在")
            return self._targets(case)

    def _targets(self, case: CaseRecord) -> list[Target]:
        entry = self.catalogue.get(case.process_key) if self.catalogue else None
        department = entry.department if entry else (case.title or case.process_key)
        out = [Target(CASE_SCOPE, entry.name if entry else (case.title or case.number),
                      department)]
        for key in (entry.items if entry else ()):
            item = self.catalogue.get(key)
            if item is not None:
                out.append(Target(key, item.name, item.department))
        return out

    # -- rating ------------------------------------------------------------------------

    def rate(self, case_id: int, scope: str, score, comment: str | None = None, *,
             channel: str = "portal", actor: str = "applicant") -> RatingView:
        """Record a rating (a re-rating replaces the current one of the same scope); a
        差评 starts the 差评整改 process. Refused while an earlier 差评 of the same scope is
        still being handled: the applicant re-rates once fed back."""
        if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
            raise ValidationFailed("请选择评价等级", {"score": "须为 1（非常不满意）到 5（非常满意）"})
        comment = (comment or "").strip() or None
        if comment and len(comment) > MAX_COMMENT:
            raise ValidationFailed(f"评价意见不能超过 {MAX_COMMENT} 字",
                                   {"comment": f"不超过 {MAX_COMMENT} 字"})
        if score in BAD_SCORES and not comment:
            raise ValidationFailed("差评请写明不满意的原因，便于回访整改", {"comment": "必填"})
        now = self.clock.now()
        with ConflictGuard(self.db, self.clock) as session:
            case = session.get(CaseRecord, case_id)
            if case is None or case.process_key == REVIEW_PROCESS:
                raise NotFound("办件不存在")
            target = next((t for t in self._targets(case) if t.scope == scope), None)
            if target is None:
                raise ValidationFailed("评价对象不存在", {"scope": "未知的评价对象"})
            previous = session.scalar(select(Rating).where(
                Rating.case_id == case.id, Rating.scope == scope, Rating.current.is_(True)))
            if previous is not None and previous.status == OPEN:
                raise Conflict("您的差评正在核实整改中，收到反馈后可以重新评价")
            if previous is not None:
                previous.current = False
            row = Rating(case_id=case.id, scope=scope, scope_name=target.name,
                         department=target.department, score=score, comment=comment,
                         channel=channel, created_at=now, current=True,
                         status=OPEN if score in BAD_SCORES else GOOD, excluded=False)
            session.add(row)
            session.flush()
            audit.append_event(session, case, kind=audit.RATING_GIVEN, actor=actor, at=now,
                               definition_hash=case.pins[case.process_key],
                               payload={"rating": row.id, "scope": scope, "score": score,
                                        "comment": comment, "channel": channel,
                                        "replaces": previous.id if previous else None})
            if scope == CASE_SCOPE:
                session.execute(update(RatingInvitation).where(
                    RatingInvitation.case_id == case.id, RatingInvitation.rated_at.is_(None))
                    .values(rated_at=now))
            rating_id = row.id
        if score in BAD_SCORES:
            self.start_review(rating_id)
        return self.get(rating_id)

    def start_review(self, rating_id: int) -> int | None:
        """Start the 差评整改 case of a 差评 (once); None when the process is not deployed
        (the worker's job tries again later)."""
        with self.db.reading() as session:
            row = session.get(Rating, rating_id)
            if row is None or row.review_case_id is not None or row.status != OPEN:
                return row.review_case_id if row else None
            case = session.get(CaseRecord, row.case_id)
            data = {"rating_id": row.id, "rated_case_id": case.id,
                    "rated_case_number": case.number, "scope_name": row.scope_name,
                    "department": row.department, "score": row.score,
                    "score_label": f"{row.score} {SCORES[row.score]}",
                    "rating_comment": row.comment or "",
                    "rectify_days": self.settings.rectify_days,
                    "lane_departments": {RESPONSIBLE_LANE: row.department}}
            title = f"差评整改：{case.number} {row.scope_name}"
        try:
            return self.cases.start_case(REVIEW_PROCESS, data, SYSTEM, title=title[:300]).id
        except NotFound:
            return None

    # -- reading -----------------------------------------------------------------------

    def get(self, rating_id: int) -> RatingView:
        with self.db.reading() as session:
            row = session.get(Rating, rating_id)
            if row is None:
                raise NotFound("评价不存在")
            return RatingView.of(row)

    def current(self, case_id: int) -> dict[str, RatingView]:
        """The current rating of each scope of a case."""
        with self.db.reading() as session:
            return {r.scope: RatingView.of(r) for r in session.scalars(select(Rating).where(
                Rating.case_id == case_id, Rating.current.is_(True)))}

    def history(self, case_id: int) -> list[RatingView]:
        with self.db.reading() as session:
            return [RatingView.of(r) for r in session.scalars(
                select(Rating).where(Rating.case_id == case_id).order_by(Rating.id))]

    def invitation(self, case_id: int) -> datetime | None:
        """When the case was invited to be rated, while that invitation is unanswered."""
        with self.db.reading() as session:
            row = session.scalar(select(RatingInvitation).where(
                RatingInvitation.case_id == case_id, RatingInvitation.rated_at.is_(None)))
            return row.created_at if row else None

    # -- background job ----------------------------------------------------------------

    def run_job(self) -> int:
        """The worker's round: invite unrated cases, start 差评 cases that failed to start."""
        count = self.invite_due()
        with self.db.reading() as session:
            waiting = list(session.scalars(select(Rating.id).where(
                Rating.status == OPEN, Rating.review_case_id.is_(None)).limit(50)))
        for rating_id in waiting:
            if self.start_review(rating_id) is not None:
                count += 1
        return count

    def invite_due(self) -> int:
        """评价邀请 for every case finished at least `invite_days` ago with no rating of the
        case; idempotent (one invitation per case), so any number of workers may run it."""
        now = self.clock.now()
        cutoff = now - timedelta(days=self.settings.invite_days)
        with ConflictGuard(self.db, self.clock) as session:
            rated = select(Rating.case_id).where(Rating.scope == CASE_SCOPE)
            invited = select(RatingInvitation.case_id)
            due = list(session.scalars(select(CaseRecord.id).where(
                CaseRecord.status == CASE_COMPLETED, CaseRecord.ended_at <= cutoff,
                CaseRecord.process_key.not_like("loop\\_%", escape="\\"),
                CaseRecord.id.not_in(rated), CaseRecord.id.not_in(invited)).limit(500)))
            for case_id in due:
                session.add(RatingInvitation(case_id=case_id, created_at=now))
        return len(due)

