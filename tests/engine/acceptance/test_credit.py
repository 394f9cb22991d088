"""The hall's own credit flags (信用标记): set, consulted through the data-sharing connector,
cleared with a reason and never forgotten."""
from __future__ import annotations

import pytest

from engine.acceptance.connectors import data_sharing
from engine.errors import NotFound, ValidationFailed

SUBJECT = "91371502MA3P2D7H4U"  # 味之源餐饮: clean in the fake registry
REGISTRY_LISTED = "91371521MA3Q8L3B56"  # 老街坊餐饮: on the registry's dishonesty list


def test_a_flag_counts_at_the_connector_until_cleared(runtime, clock):
    sharing = data_sharing(local_flags=runtime.credit)
    assert not sharing.credit_flag(SUBJECT).bad
    flag = runtime.credit.flag(f" {SUBJECT.lower()} ", "法院失信被执行人通知", actor="admin")
    assert (flag.subject, flag.source, flag.active) == (SUBJECT, "人工标记", True)
    answer = sharing.credit_flag(SUBJECT)
    assert answer.bad and answer.reason == "法院失信被执行人通知"
    assert answer.listed_on == clock.now().date()
    # Everything else still comes from the platform.
    assert sharing.company(SUBJECT).name == "聊城市味之源餐饮管理有限公司"

    cleared = runtime.credit.clear(flag.id, actor="admin", reason="已履行判决，信用修复")
    assert not cleared.active and cleared.cleared_by == "admin"
    assert not sharing.credit_flag(SUBJECT).bad
    assert [f.clear_reason for f in runtime.credit.history(SUBJECT)] == ["已履行判决，信用修复"]


def test_the_registry_list_still_counts_without_a_local_flag(runtime):
    flag = data_sharing(local_flags=runtime.credit).credit_flag(REGISTRY_LISTED)
    assert flag.bad and "食品安全严重违法" in flag.reason
    assert runtime.credit.active(REGISTRY_LISTED) is None


def test_flagging_needs_a_subject_and_a_reason(runtime):
    with pytest.raises(ValidationFailed, match="统一社会信用代码或身份证号码"):
        runtime.credit.flag("  ", "理由", actor="admin")
    with pytest.raises(ValidationFailed, match="须写明标记理由"):
        runtime.credit.flag(SUBJECT, " ", actor="admin")
    flag = runtime.credit.flag(SUBJECT, "理由", actor="admin")
    with pytest.raises(ValidationFailed, match="须写明修复理由"):
        runtime.credit.clear(flag.id, actor="admin", reason="")
    with pytest.raises(NotFound):
        runtime.credit.clear(flag.id + 100, actor="admin", reason="无")
    assert runtime.credit.active(SUBJECT).id == flag.id
