"""Finding cases for the auditor: by case number, applicant (a name or 统一社会信用代码 in
the application data), item, date of receipt and outcome.

The application data lives in the case's `case_started` event (canonical JSON, UTF-8
kept), so the applicant filter is a LIKE on that one event per case followed by an exact
check on the applicant fields in Python: a project name that happens to contain the word
does not make its case a hit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable

from sqlalchemy import String, and_, cast, or_, select
from sqlalchemy.orm import Session, aliased

from engine.cases import eventlog as audit, canonical
from engine.worktime.clock import SHANGHAI
from engine.store.models import CASE_STATES, CaseEvent, CaseRecord, ProcessDefinition

# 电子监察 办结结果 codes (RULES.md) that a finished case's data may carry as outcome_code.
OUTCOME_CODES = {"0": "出证办结", "1": "不予许可", "2": "作废", "3": "删除", "4": "转报",
                 "5": "退件", "6": "不予受理"}


@dataclass(frozen=True)
class CaseQuery:
    """What the auditor asked for; every part optional (None or "" = no filter)."""

    number: str | None = None
    applicant: str | None = None
    item: str | None = None            # a process key: the case's own, or an item it calls
    received_from: date | None = None  # Beijing dates, inclusive
    received_to: date | None = None
    outcome: str | None = None         # a case status, or an outcome code "0".."6"
    limit: int = 200

    def is_empty(self) -> bool:
        return not any((self.number, self.applicant, self.item, self.received_from,
                        self.received_to, self.outcome))


@dataclass(frozen=True)
class CaseHit:
    id: int
    number: str
    title: str | None
    process_key: str
    version: int
    status: str
    created_at: datetime
    ended_at: datetime | None
    applicant: str | None
    outcome_code: str | None

    @property
    def outcome_label(self) -> str | None:
        return OUTCOME_CODES.get(self.outcome_code or "")


def is_applicant_field(key: str) -> bool:
    """Fields that name a party of the application (not the project): organisation and
    person names, and every credit code."""
    return ("credit_code" in key or key in ("legal_person", "applicant", "applicant_name")
            or (key.endswith("_name") and key not in ("project_name",)))


def applicant_of(data: dict[str, Any]) -> str | None:
    """The applicant as a list shows it: the first organisation or person named."""
    for key in ("applicant_name", "company_name", "builder_name", "entity_name",
                "legal_person"):
        if isinstance(data.get(key), str) and data[key].strip():
            return data[key].strip()
    return None


def _matches_applicant(data: dict[str, Any], term: str) -> bool:
    term = term.casefold()
    return any(isinstance(value, str) and term in value.casefold()
               for key, value in data.items() if is_applicant_field(key))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI)


def search(session: Session, query: CaseQuery) -> list[CaseHit]:
    """Cases matching every given filter, newest first (at most `query.limit`)."""
    started = aliased(CaseEvent)
    finished = aliased(CaseEvent)
    stmt = (select(CaseRecord, ProcessDefinition.version, started.payload, finished.payload)
            .join(ProcessDefinition, ProcessDefinition.id == CaseRecord.definition_id)
            .outerjoin(started, and_(started.case_id == CaseRecord.id, started.seq == 1))
            .outerjoin(finished, and_(finished.case_id == CaseRecord.id,
                                      finished.kind == audit.CASE_COMPLETED)))
    if query.number:
        stmt = stmt.where(CaseRecord.number.contains(query.number.strip(), autoescape=True))
    if query.item:
        stmt = stmt.where(or_(CaseRecord.process_key == query.item,
                              cast(CaseRecord.pins, String).contains(f'"{query.item}"',
                                                                     autoescape=True)))
    if query.received_from:
        stmt = stmt.where(CaseRecord.created_at >= _day_start(query.received_from))
    if query.received_to:
        stmt = stmt.where(CaseRecord.created_at < _day_start(query.received_to
                                                             + timedelta(days=1)))
    if query.outcome in CASE_STATES:
        stmt = stmt.where(CaseRecord.status == query.outcome)
    elif query.outcome in OUTCOME_CODES:
        stmt = stmt.where(finished.payload.contains(f'"outcome_code":"{query.outcome}"',
                                                    autoescape=True))
    term = (query.applicant or "").strip()
    if term:
        stmt = stmt.where(started.payload.icontains(term, autoescape=True))
    stmt = stmt.order_by(CaseRecord.created_at.desc(), CaseRecord.id.desc())
    hits: list[CaseHit] = []
    for case, version, start_payload, end_payload in session.execute(stmt):
        data = _data(start_payload)
        if term and not _matches_applicant(data, term):
            continue
        end = _data(end_payload)
        code = end.get("outcome_code")
        hits.append(CaseHit(case.id, case.number, case.title, case.process_key, version,
                            case.status, case.created_at, case.ended_at, applicant_of(data),
                            code if isinstance(code, str) else None))
        if len(hits) >= query.limit:
            break
    return hits


def case_ids(hits: Iterable[CaseHit]) -> list[int]:
    return [hit.id for hit in hits]


def _data(payload: str | None) -> dict[str, Any]:
    if not payload:
        return {}
    try:
        value = canonical.loads(payload)
    except ValueError:
        return {}
    data = value.get("data") if isinstance(value, dict) else None
    return data if isinstance(data, dict) else {}
