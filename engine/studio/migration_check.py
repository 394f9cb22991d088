"""Whether a running case may move to another version of one of its processes.

Safe means the change lies only ahead of where the case stands: nothing the case already
did, and nothing it is doing now, changed in a way that matters. Concretely, for the
process being migrated (the case's own, or an item it calls):

- an element the case stands at (an open task, a waiting event, a running call activity)
  still exists with the same type; an open user task keeps its department (lane) and a
  form the clerk can still fill in (no new required field, no field of another type); a
  waiting timer keeps its timer; no boundary event was added to or removed from it;
- an element the case has completed still exists with the same type, form, script,
  called process, timer and properties (its data was produced by the old version);
- every added element lies ahead of the case (reachable from where it stands), so the
  case does not silently skip a step that the new version requires before it.

Where a case has not reached the process yet, or has finished with it, everything is
ahead of or behind it for good, and it is safe. The reasons are Chinese sentences naming
the elements, shown to the analyst as they are.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.studio.versiondiff import (ADDED, CHANGED, REMOVED, TYPE_NAMES, Element, ElementDiff,
    VersionDiff)

# Aspects of a completed element that mean its data came from something else.
COMPLETED_MATTERS = ("type", "script", "called", "timer", "event", "loop", "properties")
# Aspects of a form field whose change an open task cannot absorb.
OPEN_FIELD_MATTERS = ("type",)


@dataclass
class Standing:
    """Where a case stands in one process: the element ids it is at and has completed."""

    current: set[str] = field(default_factory=set)
    completed: set[str] = field(default_factory=set)

    @property
    def inside(self) -> bool:
        return bool(self.current)


def reasons_against(diff: VersionDiff, standing: Standing,
                    new_elements: dict[str, Element]) -> list[str]:
    """Every reason the case may not move (empty: it may)."""
    if not standing.inside:
        return []
    reasons: list[str] = []
    for change in diff.nodes:
        if change.id in standing.current:
            reasons += _at_current(change)
        elif change.id in standing.completed:
            reasons += _at_completed(change)
    reasons += _boundaries(diff, standing)
    reasons += _added_behind(diff, standing, new_elements)
    return reasons


def _at_current(change: ElementDiff) -> list[str]:
    label = change.element.label
    if change.status == REMOVED:
        return [f"办件正在{label}，新版本删除了该环节"]
    if change.status != CHANGED:
        return []
    out = []
    aspects = {c.aspect: c for c in change.changes}
    if "type" in aspects:
        out.append(f"办件正在{label}，新版本把它由{TYPE_NAMES.get(aspects['type'].old)}"
                   f"改为{TYPE_NAMES.get(aspects['type'].new)}")
        return out
    if "lane" in aspects and change.element.type == "userTask":
        out.append(f"办件正在{label}，新版本把它由「{aspects['lane'].old}」"
                   f"改到「{aspects['lane'].new}」办理")
    if "timer" in aspects:
        out.append(f"办件正在等待{label}，新版本修改了它的定时")
    if "called" in aspects:
        out.append(f"办件正在{label}，新版本改变了它调用的流程")
    for field_change in change.fields:
        if field_change.status == ADDED and field_change.new.required:
            out.append(f"办件正在{label}，新版本在其表单中新增了必填字段{field_change.label}")
        elif field_change.status == CHANGED:
            if any(c.aspect in OPEN_FIELD_MATTERS for c in field_change.changes):
                out.append(f"办件正在{label}，新版本改变了表单字段{field_change.label}的类型")
            elif any(c.aspect == "required" and c.new for c in field_change.changes):
                out.append(f"办件正在{label}，新版本把表单字段{field_change.label}改为必填")
    return out


def _at_completed(change: ElementDiff) -> list[str]:
    label = change.element.label
    if change.status == REMOVED:
        return [f"办件已经办理过{label}，新版本删除了该环节"]
    if change.status != CHANGED:
        return []
    names = {"type": "类型", "script": "脚本", "called": "调用的流程", "timer": "定时",
             "event": "事件定义", "loop": "多实例设置", "properties": "扩展属性"}
    what = [names[c.aspect] for c in change.changes if c.aspect in COMPLETED_MATTERS]
    if change.fields:
        what.append("表单")
    if not what:
        return []
    return [f"办件已经办理过{label}，新版本修改了它的{'、'.join(what)}（已有数据按旧版本产生）"]


def _boundaries(diff: VersionDiff, standing: Standing) -> list[str]:
    out = []
    for change in diff.nodes:
        if change.element.type != "boundaryEvent" or change.status not in (ADDED, REMOVED):
            continue
        host = change.element.get("attached")
        if host in standing.current:
            verb = "新增" if change.status == ADDED else "删除"
            out.append(f"办件正在「{host}」，新版本为它{verb}了边界事件{change.element.label}")
    return out


def _added_behind(diff: VersionDiff, standing: Standing,
                  new_elements: dict[str, Element]) -> list[str]:
    ahead = reachable(new_elements, standing.current)
    return [f"新版本新增的{TYPE_NAMES.get(c.element.type, '环节')}{c.element.label}"
            "不在办件当前位置之后，办件不会经过它"
            for c in diff.nodes if c.status == ADDED and c.id not in ahead]


def reachable(elements: dict[str, Element], start: set[str]) -> set[str]:
    """Element ids reachable from `start` (inclusive) along sequence flows, into boundary
    events of reached elements, and into and out of embedded sub-processes."""
    targets: dict[str, set[str]] = {}
    for element in elements.values():
        if element.is_flow:
            targets.setdefault(element.get("source"), set()).add(element.get("target"))
        elif element.type == "boundaryEvent" and element.get("attached"):
            targets.setdefault(element.get("attached"), set()).add(element.id)
    for element in elements.values():
        parent = element.get("parent")
        if not parent or element.is_flow:
            continue
        if element.type == "startEvent":
            targets.setdefault(parent, set()).add(element.id)
        elif element.type == "endEvent":
            targets.setdefault(element.id, set()).update(targets.get(parent, ()))
    seen, todo = set(), [s for s in start if s in elements]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(targets.get(current, ()))
    return seen
