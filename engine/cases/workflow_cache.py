"""Workflows this process left behind after its own successful steps.

Rebuilding a SpiffWorkflow task tree from JSON is the largest single cost of a step (see
bench/). When the same process takes the next step of a case, and nobody else has
written the case since — the case row still has the version our commit gave it — the
workflow in memory is exactly what the database holds, and can be used as it is.

An entry is taken out while a step uses it, so two threads never share a workflow; a
step that fails never puts it back. Another process writing the case simply makes the
version differ, and the next step loads from the database as usual.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow


class WorkflowCache:
    def __init__(self, size: int = 64):
        self.size = size
        self._entries: OrderedDict[int, tuple[int, BpmnWorkflow]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, case_id: int, version: int) -> BpmnWorkflow | None:
        """The workflow of `case_id` as committed at `version`, removed from the cache."""
        with self._lock:
            entry = self._entries.pop(case_id, None)
        if entry is None or entry[0] != version:
            return None
        return entry[1]

    def keep(self, case_id: int, version: int, workflow: BpmnWorkflow) -> None:
        """Remember the workflow a committed step left at `version`."""
        if self.size <= 0:
            return
        with self._lock:
            self._entries[case_id] = (version, workflow)
            self._entries.move_to_end(case_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
