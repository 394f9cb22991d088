"""Task lists: read only the materialised `human_task` rows, never a workflow, so a list
costs the same with ten cases or ten million (the filters below are all indexed)."""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.cases import ids
from engine.errors import NotAllowed, NotFound, ValidationFailed
from engine.store.db import Database
from engine.store.models import TASK_STATES, CaseRecord, HumanTask
from engine.cases.dto import Actor, TaskView

MAX_PAGE = 200


class TaskList:
    def __init__(self, db: Database):
        self.db = db

    def visible(self, actor: Actor, *, mine: bool = False, group: str | None = None,
                departments: bool = False, state: str | None = "open",
                process: str | None = None, due: tuple | None = None,
                limit: int = 50, offset: int = 0) -> list[TaskView]:
        """Tasks the actor may see, oldest due first (undated last), then oldest created.
        `departments` narrows to the queues of the actor's own departments; `process` to
        cases of one one-thing/item, or tasks of one item."""
        query = self._query(actor, mine=mine, group=group, departments=departments,
                            state=state, process=process, due=due)
        query = (query.add_columns(CaseRecord.number)
                 .order_by(HumanTask.due_at.is_(None), HumanTask.due_at,
                           HumanTask.created_at, HumanTask.id)
                 .limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset)))
        with self.db.reading() as session:
            return [TaskView.of(row, number) for row, number in session.execute(query)]

    def counts(self, actor: Actor, *, state: str | None = "open",
               process: str | None = None, due: tuple | None = None) -> dict[str, int]:
        """How many tasks each tab of the task list holds: mine, my departments', all."""
        out = {}
        with self.db.reading() as session:
            for tab, kwargs in (("mine", {"mine": True}), ("group", {"departments": True}),
                                ("all", {})):
                query = self._query(actor, state=state, process=process, due=due, **kwargs)
                out[tab] = session.scalar(select(func.count()).select_from(query.subquery()))
        return out

    @staticmethod
    def _query(actor: Actor, *, mine: bool = False, group: str | None = None,
               departments: bool = False, state: str | None = "open",
               process: str | None = None, due: tuple | None = None):
        if state not in (None, "all", *TASK_STATES):
            raise ValidationFailed("未知的任务状态", {"state": "应为 open、completed、cancelled 或 all"})
        if group and not actor.is_admin and group not in actor.groups:
            raise NotAllowed(f"您不属于「{group}」")
        query = select(HumanTask).join(CaseRecord, CaseRecord.id == HumanTask.case_id)
        if state and state != "all":
            query = query.where(HumanTask.state == state)
        if mine:
            query = query.where(HumanTask.assignee == actor.username)
        if group:
            query = query.where(HumanTask.lane == group)
        elif departments:
            query = query.where(HumanTask.lane.in_(sorted(actor.groups)))
        elif not actor.is_admin:
            query = query.where(or_(HumanTask.lane.in_(sorted(actor.groups)),
                                    HumanTask.assignee == actor.username))
        if process:
            query = query.where(or_(CaseRecord.process_key == process,
                                    HumanTask.process_key == process))
        if due is not None:  # (after, before): a 正常/预警/逾期 band, from engine.cases.clocks
            after, before = due
            query = query.where(HumanTask.due_at.is_not(None))
            if after is not None:
                query = query.where(HumanTask.due_at > after)
            if before is not None:
                query = query.where(HumanTask.due_at <= before)
        return query

    def get(self, task_id: str, actor: Actor) -> TaskView:
        with self.db.reading() as session:
            return self.get_in(session, task_id, actor)

    @staticmethod
    def get_in(session: Session, task_id: str, actor: Actor) -> TaskView:
        """`get` inside the caller's session."""
        row = session.get(HumanTask, ids.task_id(task_id))
        if row is None:
            raise NotFound("任务不存在")
        if not (actor.works_in(row.lane) or row.assignee == actor.username
                or "auditor" in actor.roles):
            raise NotAllowed("无权查看该任务")
        return TaskView.of(row, session.get(CaseRecord, row.case_id).number)

    def next_in(self, session: Session, actor: Actor, *, exclude: str) -> TaskView | None:
        """The task to go on with after `exclude`: the actor's own first, then an unclaimed
        (or the actor's) task of their departments' queues; None when there is none."""
        for mine in (True, False):
            query = (self._query(actor, mine=mine)
                     .where(HumanTask.id != exclude)
                     .order_by(HumanTask.due_at.is_(None), HumanTask.due_at,
                               HumanTask.created_at, HumanTask.id))
            if not mine:
                query = query.where(or_(HumanTask.assignee.is_(None),
                                        HumanTask.assignee == actor.username))
            row = session.scalar(query.limit(1))
            if row is not None:
                return TaskView.of(row)
        return None
