"""Replaying the inputs that change a case from outside its tasks: data amended by the
service (容缺 material supplied later), and a move to other definition versions and
back (engine.studio.migration). Each does to the replay's workflow exactly what the service
did to the live one; `Replayer` calls these from its input dispatch."""
from __future__ import annotations

import copy
from typing import Any

from engine.worktime.spiffclock import running_on
from engine.cases import eventlog as audit, state
from engine.audit.deviation import DATA_DIFFERS, DEFINITION_MISSING, NOT_ENABLED, Deviated
from engine.errors import NotFound
from engine.store.models import CaseEvent


def amend(replayer, event: CaseEvent, payload: dict[str, Any]) -> None:
    """Data changed outside any task (CaseService.amend_data): written into every task
    that carries one of the keys, as the service did."""
    values = payload.get("data")
    if not isinstance(values, dict):
        raise Deviated(event.seq, DATA_DIFFERS,
                       f"事件 #{event.seq}（{event.kind}）未记录所写入的数据，无法重新执行")
    for task in replayer.workflow.get_tasks():
        if any(key in task.data for key in values):
            task.data.update(copy.deepcopy(values))
    replayer.recorded.update(values)


def completes_in_same_step(events: list[CaseEvent], event: CaseEvent) -> bool:
    """Whether the service completed a task in the same step as `event` (the completion
    then runs the engine, with the step's effects)."""
    index = events.index(event)
    following = events[index + 1] if index + 1 < len(events) else None
    return following is not None and following.kind == audit.TASK_COMPLETED \
        and following.at == event.at


def specs(replayer, event: CaseEvent, pins: dict[str, str]):
    try:
        return replayer.runtime.definitions.specs_for(replayer.session,
                                                      replayer.case.process_key, pins)
    except NotFound as exc:
        raise Deviated(event.seq, DEFINITION_MISSING, f"流程定义缺失：{exc}") from None


def migrate(replayer, event: CaseEvent, payload: dict[str, Any]) -> None:
    """The case moved to other versions: re-point the replay as engine.studio.migration does
    (SpiffWorkflow's spec diff; open and waiting tasks keep id, data and internal state)."""
    from engine.studio.migration import repoint

    key, pins = payload.get("process"), payload.get("pins")
    if not isinstance(pins, dict) or key not in pins:
        raise Deviated(event.seq, DATA_DIFFERS, f"事件 #{event.seq}：迁移记录缺少版本信息")
    spec, subprocess_specs = specs(replayer, event, pins)
    workflow = replayer.workflow
    replayer.migrations.append((dict(replayer.pins), state.dump(workflow)))
    # Exactly the live migration's steps (engine.studio.migration.repoint), so replay agrees with it.
    replayer.workflow = repoint(workflow, key, lambda wf: _owner_key(replayer.pins, wf), spec,
                                subprocess_specs, replayer.engine, replayer.clock)
    replayer.pins = dict(pins)


def revert(replayer, event: CaseEvent, payload: dict[str, Any]) -> None:
    """A migration undone: back to the pins and state from before it (a revert is only
    allowed while nothing else happened since, so it is always the latest one)."""

    if not replayer.migrations:
        raise Deviated(event.seq, NOT_ENABLED, f"事件 #{event.seq}：撤销迁移，但此前并无迁移")
    pins, text = replayer.migrations.pop()
    if isinstance(payload.get("pins"), dict) and payload["pins"] != pins:
        raise Deviated(event.seq, DATA_DIFFERS, f"事件 #{event.seq}：撤销迁移后的版本与迁移前不符",
                       expected=payload["pins"], actual=pins)
    spec, subprocess_specs = specs(replayer, event, pins)
    with running_on(replayer.clock):
        replayer.workflow = state.load(text, spec, subprocess_specs, replayer.engine)
    replayer.pins = pins


def _owner_key(pins: dict[str, str], wf) -> str | None:
    """The deployed process a (sub)workflow belongs to."""
    while wf is not None and wf.spec.name not in pins:
        wf = getattr(wf, "parent_workflow", None)
    return wf.spec.name if wf is not None else None
