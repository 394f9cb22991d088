"""主动提醒 on the frozen clock: the restaurant's 食品经营许可 (and 烟草专卖零售许可), valid 5 years
from the decision on Friday 20 Nov 2026, are valid until 19 Nov 2031. On 20 Sep 2031 — 60
days before — the worker produces exactly one reminder per licence and a 续期提醒 task for
the front desk; a revoked licence is never reminded."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from engine.cases import eventlog as audit
from engine.cases.eventlog import verify_case
from engine.worktime.clock import SHANGHAI
from engine.errors import ValidationFailed
from engine.loops.reminders import RENEWAL_PROCESS
from engine.store.models import CaseRecord
from engine.store.models_loops import LicenceReminder, SupervisionPush
from engine.cases.dto import Actor
from tests.scenarios import test_restaurant as restaurant
from web import formsource

WINDOW = "综合受理窗口"
ADMIN = Actor("admin", frozenset({"admin"}))
FRONT = Actor("frontdesk", frozenset({"frontdesk"}), frozenset({WINDOW}))
EXPIRES = date(2031, 11, 19)


def issued_restaurant(rt):
    case = restaurant.accepted(rt)
    case = restaurant.review_all(rt, case)
    return restaurant.issue(rt, case)


def reminders(rt) -> list[LicenceReminder]:
    with rt.db.reading() as session:
        return list(session.scalars(select(LicenceReminder).order_by(LicenceReminder.item_key)))


def at(year, month, day, hour=9):
    return datetime(year, month, day, hour, 0, tzinfo=SHANGHAI)


def test_licences_with_a_validity_are_registered_with_their_expiry(deployed):
    case = issued_restaurant(deployed)
    with deployed.db.reading() as session:
        rows = {p.item_key: p for p in session.scalars(select(SupervisionPush).where(
            SupervisionPush.case_id == case.id))}
    assert rows["item_food_business_permit"].valid_until == EXPIRES
    assert rows["item_food_business_permit"].licence_no == "JY23715020012345"
    assert rows["item_outdoor_signboard"].valid_until is None  # 长期有效: no reminder ever


def test_a_reminder_is_produced_exactly_once_sixty_days_before_expiry(deployed, clock):
    case = issued_restaurant(deployed)
    clock.set(at(2031, 9, 19, 23))
    deployed.timers.run_once()
    assert reminders(deployed) == []
    clock.set(at(2031, 9, 20, 8))  # 19 Nov 2031 − 60 days
    deployed.timers.run_once()
    deployed.timers.run_once()
    made = reminders(deployed)
    assert [(r.item_key, r.valid_until, r.remind_on, r.state) for r in made] == [
        ("item_food_business_permit", EXPIRES, date(2031, 9, 20), "open"),
        ("item_tobacco_retail", EXPIRES, date(2031, 9, 20), "open")]
    with deployed.db.reading() as session:
        renewals = session.scalar(select(func.count()).select_from(CaseRecord).where(
            CaseRecord.process_key == RENEWAL_PROCESS))
    assert renewals == 2
    # The front desk's task, due on the legal renewal deadline (30 days before expiry).
    renewal = deployed.cases.get_case(made[0].renewal_case_id, ADMIN)
    [contact] = renewal.tasks
    assert (contact.task_spec, contact.lane) == ("renewal_contact", WINDOW)
    assert contact.due_at == datetime(2031, 10, 20, 17, 0, tzinfo=SHANGHAI)
    prefilled = deployed.cases.task_data(contact.id)
    assert (prefilled["licence_no"], prefilled["contact_mobile"], prefilled["source_case_id"]) \
        == ("JY23715020012345", "13706358821", case.id)
    # Visible on the original case (and to the portal) through the documented query.
    shown = deployed.loops.reminders.for_case(case.id)
    assert [r.item_name for r in shown] == ["食品经营许可", "烟草制品零售许可"]
    assert shown[0].process_key == "onething_restaurant"
    kinds = [e.kind for e in deployed.cases.events(case.id, ADMIN)]
    assert kinds.count(audit.RENEWAL_REMINDED) == 2
    with deployed.db.reading() as session:
        assert verify_case(session, session.get(CaseRecord, case.id)).ok


def test_the_front_desk_records_the_renewal(deployed, clock):
    issued_restaurant(deployed)
    clock.set(at(2031, 9, 21))
    assert deployed.loops.reminders.run_due() == 2
    food = reminders(deployed)[0]
    contact = deployed.cases.get_case(food.renewal_case_id, ADMIN).tasks[0]
    form = formsource.task_form(deployed, contact)
    with pytest.raises(ValidationFailed) as refused:  # applied needs the new case number
        formsource.clean(form, {"renewal_outcome": "applied"})
    assert "renewal_case_number" in refused.value.fields
    data = formsource.clean(form, {"renewal_outcome": "applied",
                                   "renewal_case_number": "371500-20310921-00001"})
    done = deployed.cases.complete(contact.id, data, FRONT)
    assert done.status == "completed"
    assert reminders(deployed)[0].state == "renewed"
    assert deployed.loops.reminders.run_due() == 0


def test_a_revoked_licence_is_not_reminded(deployed, clock):
    case = issued_restaurant(deployed)
    with deployed.db.transaction() as session:
        permit = session.scalar(select(SupervisionPush).where(
            SupervisionPush.case_id == case.id,
            SupervisionPush.item_key == "item_food_business_permit"))
        permit.action, permit.state = "revoke", "violation"
    clock.set(at(2031, 9, 21))
    assert deployed.loops.reminders.run_due() == 1
    assert [r.item_key for r in reminders(deployed)] == ["item_tobacco_retail"]


def test_an_expired_licence_is_not_reminded_late(deployed, clock):
    issued_restaurant(deployed)
    clock.set(at(2031, 11, 20))
    assert deployed.loops.reminders.run_due() == 0
