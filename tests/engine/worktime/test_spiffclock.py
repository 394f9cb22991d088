"""SpiffWorkflow reads the engine's clock, never the wall clock."""
from __future__ import annotations

from datetime import datetime

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser import CamundaParser

from engine.worktime.clock import SHANGHAI, FrozenClock
from engine.worktime.spiffclock import UnclockedRead, running_on
from tests.conftest import FIXTURES


def _spec():
    parser = CamundaParser()
    parser.add_bpmn_files([str(FIXTURES / "loop.bpmn")])
    key = next(iter(parser.get_process_ids()))
    return parser.get_spec(key), parser.get_subprocess_specs(key)


def test_task_state_changes_are_stamped_with_the_engine_clock():
    long_ago = FrozenClock(datetime(2001, 1, 1, 8, 0, tzinfo=SHANGHAI))
    with running_on(long_ago):
        workflow = BpmnWorkflow(*_spec())
        workflow.do_engine_steps()
    stamps = {t.last_state_change for t in workflow.get_tasks()}
    assert stamps == {long_ago.now().timestamp()}


def test_a_read_outside_an_engine_call_is_refused_in_the_suite():
    with pytest.raises(UnclockedRead):
        BpmnWorkflow(*_spec())
