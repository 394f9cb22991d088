"""Versions of tests/versions/migrate_v1.bpmn (process `simple_permit`: 受理 → 审查 → 办结)
for the version-diff and migration tests: each differs from v1 in one way."""
from __future__ import annotations

from pathlib import Path

# Kept apart from tests/fixtures/, which some tests deploy as a whole: these files share a
# process id on purpose.
VERSIONS = Path(__file__).resolve().parent / "versions"
V1 = (VERSIONS / "migrate_v1.bpmn").read_text(encoding="utf-8")
# 签发 added after 审查 (downstream of a case waiting at 审查).
V2 = (VERSIONS / "migrate_v2.bpmn").read_text(encoding="utf-8")

_REVIEW_FIELD = '''          <camunda:formField id="opinion" label="审查意见" type="string">
            <camunda:validation><camunda:constraint name="required" /></camunda:validation>
          </camunda:formField>
'''
_INTAKE_FIELD = '''          <camunda:formField id="applicant" label="申请人" type="string">
            <camunda:validation><camunda:constraint name="required" /></camunda:validation>
          </camunda:formField>
'''


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


def review_gains_required_field(base: str = V1) -> str:
    """审查 asks a new required field 风险等级."""
    return _replace(base, _REVIEW_FIELD, _REVIEW_FIELD + '''          <camunda:formField id="risk" label="风险等级" type="long">
            <camunda:validation><camunda:constraint name="required" /></camunda:validation>
          </camunda:formField>
''')


def intake_gains_required_field(base: str = V1) -> str:
    """受理 asks a new required field 联系电话."""
    return _replace(base, _INTAKE_FIELD, _INTAKE_FIELD + '''          <camunda:formField id="phone" label="联系电话" type="string">
            <camunda:validation><camunda:constraint name="required" /></camunda:validation>
          </camunda:formField>
''')


def review_relabelled(base: str = V1) -> str:
    """Only words change: 审查 is called 实质审查 and its field label changes."""
    text = _replace(base, 'name="审查"', 'name="实质审查"')
    return _replace(text, 'label="审查意见"', 'label="审查结论"')


def review_moves_department(base: str = V1) -> str:
    """审查 moves from 审查科 to the window lane."""
    text = _replace(base, "        <bpmn:flowNodeRef>intake</bpmn:flowNodeRef>\n",
                    "        <bpmn:flowNodeRef>intake</bpmn:flowNodeRef>\n"
                    "        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>\n")
    return text.replace("        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>\n        <bpmn:flowNodeRef>end",
                        "        <bpmn:flowNodeRef>end")


def precheck_inserted(base: str = V1) -> str:
    """预审 inserted between 受理 and 审查 (behind a case waiting at 审查)."""
    text = _replace(base, '<bpmn:sequenceFlow id="flow_intake" sourceRef="intake" targetRef="review" />',
                    '<bpmn:sequenceFlow id="flow_intake" sourceRef="intake" targetRef="precheck" />\n'
                    '    <bpmn:sequenceFlow id="flow_precheck" sourceRef="precheck" targetRef="review" />')
    text = _replace(text, '    <bpmn:endEvent id="end" name="办结" />',
                    '    <bpmn:userTask id="precheck" name="预审" />\n    <bpmn:endEvent id="end" name="办结" />')
    return _replace(text, "        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>",
                    "        <bpmn:flowNodeRef>precheck</bpmn:flowNodeRef>\n"
                    "        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>")


def review_removed(base: str = V1) -> str:
    """审查 is gone: 受理 leads straight to 办结."""
    text = _replace(base, '    <bpmn:sequenceFlow id="flow_intake" sourceRef="intake" targetRef="review" />\n', "")
    text = _replace(text, '<bpmn:sequenceFlow id="flow_review" sourceRef="review" targetRef="end" />',
                    '<bpmn:sequenceFlow id="flow_review" sourceRef="intake" targetRef="end" />')
    start = text.index('    <bpmn:userTask id="review"')
    end = text.index("</bpmn:userTask>", start) + len("</bpmn:userTask>\n")
    text = text[:start] + text[end:]
    return text.replace("        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>\n", "")


def deploy_text(runtime, text: str, name: str = "simple_permit.bpmn", actor: str = "analyst"):
    """Deploy BPMN text; returns the DeployResult of its process."""
    from engine.definitions.service import read_bpmn

    with runtime.db.transaction() as session:
        return runtime.definitions.deploy(session, [read_bpmn(text.encode("utf-8"), name)],
                                          actor=actor, at=runtime.clock.now())[0]
