"""The settings are read once from the environment, with the hall's usual rules as defaults,
and a nonsense value stops the start with the variable's name."""
from pathlib import Path

import pytest

from engine.runtime import build_runtime
from engine.settings import Settings


def test_an_empty_environment_gives_the_usual_rules(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.instance == tmp_path / "instance"
    assert settings.database_url is None
    assert (settings.region_code, settings.warn_days, settings.deficiency_days) == ("371500", 2, 5)
    assert (settings.rating_invite_days, settings.rectify_days) == (3, 15)
    assert (settings.supervision_sign_days, settings.renewal_remind_days) == (2, 60)
    assert (settings.portal_window_minutes, settings.portal_per_client,
            settings.portal_per_case) == (15, 20, 5)
    assert settings.audit_key is None and settings.workorder_limits is None
    assert settings.database_url_in(tmp_path / "i") == \
        f"sqlite:///{tmp_path / 'i' / 'onething.sqlite3'}"


def test_every_variable_reaches_its_service(tmp_path, database_url):
    settings = Settings.from_env({
        "ONETHING_INSTANCE": str(tmp_path), "DATABASE_URL": database_url,
        "ONETHING_REGION": "110000", "ONETHING_WARN_DAYS": "3",
        "ONETHING_DEFICIENCY_DAYS": "7", "ONETHING_SUPERVISION_SIGN_DAYS": "4",
        "ONETHING_RENEWAL_REMIND_DAYS": "30", "ONETHING_RATING_INVITE_DAYS": "1",
        "ONETHING_RECTIFY_DAYS": "10", "ONETHING_PORTAL_WINDOW_MINUTES": "5",
        "ONETHING_PORTAL_PER_CLIENT": "9", "ONETHING_PORTAL_PER_CASE": "2",
        "ONETHING_AUDIT_KEY": str(tmp_path / "key.pem")})
    rt = build_runtime(settings=settings)
    assert rt.instance == Path(tmp_path) and rt.settings is settings
    assert rt.cases.region_code == "110000"
    assert rt.clocks.warn_days == 3
    assert rt.deficiencies.supply_days == 7
    assert rt.loops.supervision.sign_days == 4
    assert rt.loops.reminders.days_before == 30
    assert (rt.ratings.settings.invite_days, rt.ratings.settings.rectify_days) == (1, 10)
    assert (rt.portal.settings.window_minutes, rt.portal.settings.per_client,
            rt.portal.settings.per_case) == (5, 9, 2)
    assert rt.audit_key == tmp_path / "key.pem"


@pytest.mark.parametrize("name, value", [("ONETHING_WARN_DAYS", "-1"),
                                         ("ONETHING_DEFICIENCY_DAYS", "five"),
                                         ("ONETHING_SUPERVISION_SIGN_DAYS", "0"),
                                         ("ONETHING_RENEWAL_REMIND_DAYS", "400")])
def test_a_nonsense_value_stops_the_start_and_names_the_variable(name, value):
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_only_the_settings_read_the_environment():
    engine = Path(__file__).resolve().parents[2] / "engine"
    readers = sorted(str(path.relative_to(engine)) for path in engine.rglob("*.py")
                     if "os.environ" in path.read_text(encoding="utf-8")
                     or "getenv(" in path.read_text(encoding="utf-8"))
    assert readers == ["settings.py"]
