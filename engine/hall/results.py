"""各事项办理结果: what each item of a one-thing case has come to, for its task pages.

The items run in parallel branches, so no single task's data holds every decision; the
audit log does (each completed task records its validated input). A row per item the
one-thing calls, in diagram order: name and department from the pinned item version, the
item's `<item>_decision` / `<item>_opinion` / `<item>_licence_no` as last recorded, and the
state — an open correction or review task of the item outranks a recorded decision.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from engine.cases import canonical
from engine.definitions.service import BPMN_NS, is_common_part
from engine.errors import NotFound
from engine.runtime import Runtime
from engine.store.models import CaseEvent
from engine.cases.dto import TaskView
from engine.i18n import N_

# `<item>_decision` values, and the states of an item without a final decision.
DECISION_LABELS = {"approve": N_("准予许可"), "refuse": N_("不予许可"), "correct": N_("补正中"),
                   "not_applicable": N_("不涉及"), "revoked": N_("已撤销（核查不通过）")}
REVIEWING, NOT_STARTED = N_("审查中"), N_("未开始")
# 电子监察 办结结果 codes (`outcome_code`, computed by the one-thing's summary script).
OUTCOME_LABELS = {"0": "出证办结", "1": "不予许可", "2": "作废", "3": "删除", "4": "转报",
                  "5": "退件", "6": "不予受理"}


@dataclass(frozen=True)
class ItemResult:
    key: str                 # item key (`construction_permit`), the prefix of its fields
    name: str
    department: str | None
    state: str               # approve / refuse / correct / reviewing / not_started
    label: str
    opinion: str | None
    licence_no: str | None

    @property
    def final(self) -> bool:
        return self.state in ("approve", "refuse", "not_applicable", "revoked")


@dataclass(frozen=True)
class Results:
    items: tuple[ItemResult, ...]
    outcome_code: str | None = None
    approved_count: int | None = None
    refused_count: int | None = None

    @property
    def all_decided(self) -> bool:
        return all(item.final for item in self.items)

    @property
    def outcome_label(self) -> str | None:
        return OUTCOME_LABELS.get(self.outcome_code) if self.outcome_code is not None else None


def item_results(rt: Runtime, process_key: str, events: Sequence[CaseEvent],
                 open_tasks: Iterable[TaskView] = (),
                 current: Mapping[str, Any] | None = None) -> Results | None:
    """The results of a case of `process_key` from its audit `events` (in order) and open
    tasks; None when its process calls no items. `current` (the open task's data) adds the
    summary script's outcome once the items are joined."""
    if not events:
        return None
    pins = canonical.loads(events[0].payload).get("pins") or {}
    recorded: dict[str, Any] = {}
    # Decisions no clerk made (an optional item's 不涉及 script) are only in the case data.
    recorded.update({k: v for k, v in (current or {}).items()
                     if k.endswith("_decision") and v == "not_applicable"})
    for event in events:
        if event.kind == "task_completed":
            recorded.update(canonical.loads(event.payload).get("data") or {})
        elif event.kind == "result_revoked":  # 告知承诺 site check failed (engine.acceptance.postverification)
            recorded[f"{canonical.loads(event.payload).get('item')}_decision"] = "revoked"
    open_specs = {t.task_spec for t in open_tasks}
    rows = []
    with rt.db.reading() as session:
        top = _definition(rt, session, process_key, pins)
        if top is None:
            return None
        document = rt.definitions.document(session, top.key, top.content_hash)
        called = [c.get("calledElement")
                  for c in document.process.iter(f"{{{BPMN_NS}}}callActivity")]
        for process in dict.fromkeys(c for c in called if c):
            item = _definition(rt, session, process, pins)
            key = process.removeprefix("item_")
            department = None
            if item is not None:
                document = rt.definitions.document(session, item.key, item.content_hash)
                if is_common_part(document):  # e.g. the 容缺 gate: a shared step, no result
                    continue
                department = _department(document, key)
            rows.append(_row(key, item.name if item else process, department, recorded,
                             open_specs))
    if not rows:
        return None
    current = current or {}
    return Results(tuple(rows), _text(current.get("outcome_code")),
                   current.get("approved_count"), current.get("refused_count"))


def _definition(rt: Runtime, session, key: str, pins: Mapping[str, str]):
    if key in pins:
        try:
            return rt.definitions.by_hash(session, key, pins[key])
        except NotFound:  # shown with the latest version instead
            pass
    return rt.definitions.latest(session, key)


def _row(key, name, department, recorded, open_specs) -> ItemResult:
    decision = recorded.get(f"{key}_decision")
    if f"{key}_correction" in open_specs:
        state = "correct"
    elif f"{key}_review" in open_specs:
        state = "reviewing"
    elif decision in DECISION_LABELS:
        state = decision
    else:
        state = "reviewing" if decision else "not_started"
    label = DECISION_LABELS.get(state) or (REVIEWING if state == "reviewing" else NOT_STARTED)
    return ItemResult(key, name, department, state, label,
                      _text(recorded.get(f"{key}_opinion")),
                      _text(recorded.get(f"{key}_licence_no")))


def _department(document, key: str) -> str | None:
    """The lane of the item's `<item>_review` task (the department that decides it)."""
    for lane in document.process.iter(f"{{{BPMN_NS}}}lane"):
        refs = {(ref.text or "").strip() for ref in lane.iter(f"{{{BPMN_NS}}}flowNodeRef")}
        if f"{key}_review" in refs:
            return lane.get("name")
    return None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
