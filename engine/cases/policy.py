"""Who may do what in the hall: one policy, decided by role AND involvement.

Every permission of a case is answered here, from plain facts the caller gathers (the
actor, the departments that have or had a task in the case, who filed it, the task's
lane and process). The predicates are pure — no database, no Flask — so the case service,
the material store, the case map and the web all ask the same question and get the same
answer. The rules (docs: DESIGN.md "Who may do what"):

* **Working on a task** (claim, complete, hand back, be assigned): a clerk of the task's
  department or window. 审管分离: a supervisor (监管) never claims, completes or is
  assigned an approval task — every task outside the hall's loops is one — even when
  the supervisor belongs to the approving department.
* **Leading** a department (assign, extend, cancel): an administrator, or a person with
  the lead role who belongs to that department.
* **Cancelling a case**: an administrator, or a lead of a department that has (or had) a
  task in the case.
* **Reading a case** (page, API, events, replay, materials): the front desk, the issuance
  window, auditors and administrators read every case; the clerk who filed it, and
  clerks of departments that have or had a task in it, read that case; everyone else is
  told the case does not exist (`NotFound`, the same answer as for a missing id).
* **Personal data**: identity-card and phone numbers are shown in full only to roles that
  deal with the applicant or decide on the application (`SEES_PERSONAL_DATA`); any other
  reader (a supervisor, a lead without an approving role, an analyst or a system that
  filed nothing) sees them masked (371502********1233, 137****8821). Auditors see them in
  full: verifying the hash chain needs the recorded bytes.
* **Starting a case**: only entry processes — the one-things and items of the catalogue
  (事项目录), which the public applies for directly — and only by the front desk, systems
  filing for it and administrators. Loop processes (差评整改, 审管联动, 12345, renewals)
  and internal parts (the 容缺 gate) are started by the system alone.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Collection, Container

from engine.errors import NotAllowed, NotFound

if TYPE_CHECKING:
    from engine.cases.dto import Actor

ADMIN = "admin"
LEAD = "lead"
SUPERVISOR = "supervisor"
AUDITOR = "auditor"
FRONT_DESK = "frontdesk"
ISSUANCE = "issuance"
API = "api"

# Roles that read every case: they handle (or audit) every case of the hall.
READ_EVERY_CASE = frozenset({ADMIN, AUDITOR, FRONT_DESK, ISSUANCE})
# Roles that accept applications (for people at the counter, or as a system filing for it).
STARTS_CASES = frozenset({ADMIN, FRONT_DESK, API})
# Roles that need the applicant's identity-card and phone numbers unmasked: the windows
# that meet the applicant, the departments that decide (and call back), the hotline,
# systems filing for the counter, auditors and administrators.
SEES_PERSONAL_DATA = frozenset({ADMIN, AUDITOR, FRONT_DESK, ISSUANCE, API, "approver",
                                "hotline"})
# The hall's own loops, started by the system: 差评整改 (engine.loops.ratings), 审管联动
# (engine.loops.supervision), 12345 work orders (engine.loops.workorders) and renewal
# reminders (engine.loops.reminders). Their tasks are not approvals; tests keep this list
# equal to those modules' process names.
LOOP_PROCESSES = frozenset({"loop_bad_rating", "supervision_push", "hotline_workorder",
                            "licence_renewal"})

NOT_AN_ENTRY = "「{key}」不是可以直接申请的事项或一件事，只能由系统在办理中发起"
NOT_A_STARTER = "只有综合受理窗口可以受理申请"


def case_not_found(case_id: Any) -> NotFound:
    """The one answer for a case one may not read, identical to a missing case."""
    return NotFound(f"办件 {str(case_id)[:20]} 不存在")


# -- leading and working -----------------------------------------------------------------

def is_lead_of(actor: "Actor", department: str | None) -> bool:
    """A person with the lead role who belongs to `department` (the one "lead" rule:
    who is told of a department's overdue work, who decides for it)."""
    return LEAD in actor.roles and department is not None and department in actor.groups


def leads(actor: "Actor", department: str | None) -> bool:
    """An administrator, or a lead of `department`: who may act as its head."""
    return actor.is_admin or is_lead_of(actor, department)


def leads_any(actor: "Actor", departments: Collection[str | None]) -> bool:
    """An administrator, or a lead of at least one of `departments`."""
    return actor.is_admin or any(leads(actor, d) for d in departments)


def is_approval_task(process_key: str | None) -> bool:
    """Every task outside the hall's loops belongs to an application being decided."""
    return process_key not in LOOP_PROCESSES


def is_supervisor(actor: "Actor") -> bool:
    return SUPERVISOR in actor.roles and not actor.is_admin


def may_work_on(actor: "Actor", lane: str | None, process_key: str | None) -> bool:
    """May `actor` claim, complete or be assigned a task of `lane` in `process_key`?"""
    if is_supervisor(actor) and is_approval_task(process_key):
        return False  # 审管分离
    return actor.works_in(lane)


def check_work_on(actor: "Actor", lane: str | None, process_key: str | None) -> None:
    if is_supervisor(actor) and is_approval_task(process_key):
        raise NotAllowed("审管分离：监管人员不能办理审批任务")
    if not actor.works_in(lane):
        raise NotAllowed(f"该任务属于「{lane}」，您无权办理")


# -- cases -------------------------------------------------------------------------------

def may_cancel(actor: "Actor", task_lanes: Collection[str | None]) -> bool:
    """An administrator, or a lead of a department that has or had a task in the case."""
    return leads_any(actor, task_lanes)


def may_read_case(actor: "Actor", *, filed_by: str | None,
                  task_lanes: Collection[str | None]) -> bool:
    """The reading rule of the module docstring, for one case."""
    if READ_EVERY_CASE & actor.roles:
        return True
    if filed_by is not None and filed_by == actor.username:
        return True
    return any(lane in actor.groups for lane in task_lanes if lane)


def reads_every_case(actor: "Actor") -> bool:
    return bool(READ_EVERY_CASE & actor.roles)


# -- starting ----------------------------------------------------------------------------

def is_entry_process(process_key: str, catalogue: Container[str] | None) -> bool:
    """One-things and items of the catalogue are applied for directly; nothing else is."""
    return catalogue is not None and process_key not in LOOP_PROCESSES \
        and process_key in catalogue


def files_applications(actor: "Actor") -> bool:
    """Only the general front desk (and systems filing for it) accepts applications."""
    return bool(STARTS_CASES & actor.roles)


def may_start(actor: "Actor", process_key: str, catalogue: Container[str] | None) -> bool:
    return bool(STARTS_CASES & actor.roles) and is_entry_process(process_key, catalogue)


def check_start(actor: "Actor", process_key: str, catalogue: Container[str] | None) -> None:
    """NotAllowed (403) with the reason, unless `actor` may start `process_key`."""
    if not STARTS_CASES & actor.roles:  # first: the counter page refuses this before all
        raise NotAllowed(NOT_A_STARTER)
    if not is_entry_process(process_key, catalogue):
        raise NotAllowed(NOT_AN_ENTRY.format(key=process_key[:200]))


# -- personal data -----------------------------------------------------------------------

_ID_NUMBER = re.compile(r"[1-9]\d{16}[\dXx]")
_MOBILE = re.compile(r"1\d{10}")
_PERSONAL_KEYS = re.compile(r"id_number|mobile|phone|telephone")
# Either number written inside free text (an address with the recipient's phone …).
_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(?:[1-9]\d{16}[\dXx]|1\d{10})(?![0-9A-Za-z])")


def sees_personal_data(actor: "Actor") -> bool:
    return bool(SEES_PERSONAL_DATA & actor.roles)


def mask_value(value: str) -> str:
    """371502198805161233 → 371502********1233; 13706358821 → 137****8821; other text
    naming such a key → all but its last 4 characters starred."""
    if _ID_NUMBER.fullmatch(value):
        return value[:6] + "*" * 8 + value[-4:]
    if _MOBILE.fullmatch(value):
        return value[:3] + "****" + value[-4:]
    return "*" * max(0, len(value) - 4) + value[-4:]


def mask_personal_data(value: Any, *, depth: int = 0) -> Any:
    """`value` (nested dicts and lists, as case data and audit payloads are) with every
    identity-card and phone number masked: values under keys naming them, and such numbers
    anywhere in other text."""
    if depth > 12:
        return value
    if isinstance(value, dict):
        return {k: (mask_value(v) if isinstance(v, str) and isinstance(k, str)
                    and _PERSONAL_KEYS.search(k)
                    else mask_personal_data(v, depth=depth + 1)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_personal_data(v, depth=depth + 1) for v in value]
    if isinstance(value, str):
        return _IN_TEXT.sub(lambda m: mask_value(m.group()), value)
    return value


def shown_to(actor: "Actor", value: Any) -> Any:
    """`value` as `actor` may see it: unchanged, or with personal numbers masked."""
    return value if sees_personal_data(actor) else mask_personal_data(value)
