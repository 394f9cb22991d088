"""A clerk's work on a task: claim, hand back, assign (改派), complete (which is also how a
补正 is requested: the review form's decision), special procedure (特别程序), extend (延期).

Each action is one call: the permission is checked inside, it runs in one transaction and
returns plain data. Completing loads the case's workflow once and validates the submitted
form against that same workflow's data, inside the write transaction, so the form, the
check and the step can never disagree.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from engine.cases.dto import Actor, CaseView, TaskView
from engine.hall import forms
from engine.runtime import Runtime
from engine.store.models import TASK_STATES
from forms.model import Form

__all__ = ["TASK_STATES", "TaskQueue", "TaskForm", "TaskDetail", "Completion", "queue",
           "form_to_complete", "detail", "complete", "claim", "hand_back", "assign",
           "special_procedure", "extend"]


@dataclass(frozen=True)
class TaskForm:
    """A task with the form that completes it (what a page or client fills in)."""

    task: TaskView
    form: Form


@dataclass(frozen=True)
class TaskDetail:
    """A task as its page shows it: the task, its case, its form and the data the task
    sees now (empty once it is finished)."""

    task: TaskView
    case: CaseView
    form: Form
    data: dict[str, Any]

    @property
    def values(self) -> dict[str, Any]:
        """The values the form starts from."""
        return {f.id: self.data[f.id] for f in self.form.fields if f.id in self.data}


@dataclass(frozen=True)
class Completion:
    """What completing a task did: the task as it was, the case's next state, and the task
    the clerk may go on with (None when their queues are empty)."""

    task: TaskView
    case: CaseView
    next_task: TaskView | None


@dataclass(frozen=True)
class TaskQueue:
    """One tab of a clerk's task list: the tasks, how many each tab holds, the processes
    to filter by (key, name), and each task's deadline state (正常/预警/逾期, days left)."""

    tasks: list[TaskView]
    counts: dict[str, int]
    processes: list[tuple[str, str]]
    clocks: dict[str, tuple[str, int] | None]


def queue(rt: Runtime, actor: Actor, *, tab: str = "group", state: str = "open",
          process: str | None = None, clock: str | None = None, limit: int = 200) -> TaskQueue:
    """The tasks the actor may see: `tab` mine / group (their departments' queues) / all,
    narrowed by state, process and deadline band. Reads only the task rows."""
    due = rt.clocks.band(clock) if clock else None
    tasks = rt.tasks.visible(actor, mine=tab == "mine", departments=tab == "group",
                             state=state, process=process, due=due, limit=limit)
    counts = rt.tasks.counts(actor, state=state, process=process, due=due)
    with rt.db.reading() as session:
        processes = [(d.key, d.name) for d in rt.definitions.all_latest(session)]
    clocks = {t.id: rt.clocks.state_of(t.due_at) for t in tasks}
    return TaskQueue(tasks, counts, processes, clocks)


def form_to_complete(rt: Runtime, task_id: str, actor: Actor) -> TaskForm:
    """The task and its form, for a page that must read a submission before completing
    (an HTML form leaves unticked boxes out and sends files apart). Refused as `complete`
    refuses, before anything is uploaded: NotAllowed when the task is not the actor's to
    work on, Conflict when it is no longer open."""
    with rt.db.reading() as session:
        task = rt.cases.open_task_in(session, task_id, actor)
        return TaskForm(task, _form(rt, session, task))


def detail(rt: Runtime, task_id: str, actor: Actor) -> TaskDetail:
    """The task, its case, its form and its current values."""
    task = rt.tasks.get(task_id, actor)
    case = rt.cases.get_case(task.case_id, actor)
    with rt.db.reading() as session:
        form = _form(rt, session, task)
        current = rt.cases.task_data_in(session, task.id)
    return TaskDetail(task, case, form, current)


def complete(rt: Runtime, task_id: str, submitted: Mapping[str, Any], actor: Actor, *,
             lang: str = "zh") -> Completion:
    """Validate `submitted` against the task's form and complete the task, in one write
    transaction that loads the workflow once. Refusals: NotFound, NotAllowed (not the
    actor's department), Conflict (finished, claimed by another, or a concurrent step),
    ValidationFailed (field → message, in `lang`); nothing is written on any of them."""
    seen: dict[str, TaskView] = {}

    def validated(row, current: dict[str, Any]) -> dict[str, Any]:
        task = seen["task"] = TaskView.of(row)
        form = _form(rt, session, task)
        return forms.clean(form, submitted, lang=lang, current=current,
                           today=rt.clock.now().date())

    with rt.cases.writing() as session:
        case = rt.cases.complete_in(session, task_id, actor, validated)
        following = rt.tasks.next_in(session, actor, exclude=task_id)
    done = seen["task"]
    return Completion(replace(done, case_number=case.number), case, following)


def claim(rt: Runtime, task_id: str, actor: Actor) -> TaskView:
    """Take an open task of the actor's department (409 when another clerk has it)."""
    return rt.cases.claim(task_id, actor)


def hand_back(rt: Runtime, task_id: str, actor: Actor) -> TaskView:
    """Return a claimed task to its department's queue (its holder or an admin)."""
    return rt.cases.unclaim(task_id, actor)


def assign(rt: Runtime, task_id: str, assignee: str, actor: Actor) -> TaskView:
    """改派: a department lead hands an open task to a colleague of its department."""
    return rt.cases.assign(task_id, assignee, actor)


def special_procedure(rt: Runtime, task_id: str, procedure: str | None, actor: Actor) -> None:
    """Start a 特别程序 (the item's clock pauses) or, with None, end it."""
    rt.cases.special_procedure(task_id, procedure, actor)


def extend(rt: Runtime, task_id: str, amount: int, reason: str, actor: Actor) -> None:
    """延期: a department lead extends the item's limit by `amount` working days."""
    rt.cases.extend_clock(task_id, amount, reason, actor)


def _form(rt: Runtime, session, task: TaskView) -> Form:
    return forms.task_form_in(rt.definitions, session, task.process_key,
                              task.definition_hash, task.task_spec)
