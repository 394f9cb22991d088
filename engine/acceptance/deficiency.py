"""容缺受理: accepting with 容缺后补 materials missing, and supplying them later.

At the counter the applicant signs the commitment (容缺受理承诺书); the case starts with
its deficiency in the case data:

- `deficiency`: one entry per missing material — `field` (the form's file field), `name`,
  `item` (the item that asks for it), `deadline` (ISO datetime, Beijing time), and once
  supplied `supplied_at`, `supplied_by`, `upload` and `source` (窗口上传 / 网上提交 /
  数据共享 with the issuing department);
- `deficiency_deadline`: the latest deadline (the common `deficiency_gate` process waits
  in 容缺材料补齐 until then; its timer ends the case as 退件, outcome 5);
- `deficiency_outstanding`: whether anything is still missing;
- `deficiency_commitment`: who signed the commitment, when, and which clerk witnessed it.

No deadline is later than the one-thing's promised limit (承诺时限), counted in working
days on the official calendar from acceptance. `Deficiencies.supply` records each material
as it arrives (one audit event each, in the case's own transaction); the last one clears
`deficiency_outstanding`, and if the case is already waiting at the gate its task
completes, so issuance follows at once.

The applicant portal calls the same service for online supply (`source="网上提交"`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from engine.cases import eventlog as audit
from engine.cases.service import Amendment, CaseService
from engine.definitions.catalogue import Catalogue
from engine.worktime.clock import SHANGHAI, Clock
from engine.cases.clocks import CalendarSource
from engine.worktime.deadlines import UNIT_ALIASES, WORKING_DAY, Limit, due_at
from engine.cases import policy
from engine.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from engine.cases.uploads import UploadStore
from engine.cases.dto import SYSTEM, Actor, CaseView

GATE_PROCESS = "deficiency_gate"   # processes/common/deficiency_gate.bpmn
GATE_TASK = "deficiency_supply"    # its user task 容缺材料补齐
DEFAULT_SUPPLY_DAYS = 5            # local: working days the applicant has to supply
AT_COUNTER, ONLINE, SHARED = "窗口上传", "网上提交", "数据共享"


@dataclass(frozen=True)
class MissingMaterial:
    """A 容缺后补 material the counter accepted without: what, for which item, by when."""

    field: str
    name: str
    item: str


@dataclass(frozen=True)
class Deficiency:
    """One material of a case's deficiency list, as the case data holds it."""

    field: str
    name: str
    item: str
    deadline: datetime
    supplied_at: datetime | None = None
    supplied_by: str | None = None
    upload: str | None = None
    source: str | None = None

    @property
    def supplied(self) -> bool:
        return self.supplied_at is not None

    @classmethod
    def of(cls, raw: dict) -> Deficiency:
        return cls(str(raw.get("field")), str(raw.get("name") or raw.get("field")),
                   str(raw.get("item") or ""), _moment(raw.get("deadline")),
                   _moment(raw.get("supplied_at")) if raw.get("supplied_at") else None,
                   raw.get("supplied_by"), raw.get("upload"), raw.get("source"))

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "name": self.name, "item": self.item,
                "deadline": self.deadline.isoformat(), "supplied": self.supplied,
                "supplied_at": self.supplied_at.isoformat() if self.supplied_at else None,
                "supplied_by": self.supplied_by, "upload": self.upload, "source": self.source}


def _moment(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(SHANGHAI)


def defaults() -> dict[str, Any]:
    """The gate's inputs for a case with nothing deferred (every application has them, so
    the gate's condition never meets an undefined name)."""
    return {"deficiency": [], "deficiency_outstanding": False}


def deficiency_of(data: dict) -> list[Deficiency]:
    """The deficiency list of a case from its data (empty when none)."""
    raw = data.get("deficiency")
    return [Deficiency.of(d) for d in raw if isinstance(d, dict)] if isinstance(raw, list) else []


class Deficiencies:
    """The 容缺受理 service: plan the deadlines at acceptance, read what is outstanding,
    record a material supplied later."""

    def __init__(self, cases: CaseService, catalogue: Catalogue | None,
                 calendars: CalendarSource, clock: Clock, uploads: UploadStore, *,
                 supply_days: int = DEFAULT_SUPPLY_DAYS):
        self.cases, self.catalogue, self.calendars = cases, catalogue, calendars
        self.clock, self.uploads, self.supply_days = clock, uploads, supply_days

    # -- at acceptance ---------------------------------------------------------------------

    def deadline(self, process_key: str, accepted_at: datetime) -> datetime:
        """When deferred materials are due: `supply_days` working days after acceptance,
        never later than the promised limit (承诺时限) of the one-thing (or item)."""
        calendar = self.calendars.get()
        due = due_at(calendar, accepted_at, Limit(self.supply_days, WORKING_DAY))
        entry = self.catalogue.get(process_key) if self.catalogue else None
        if entry is not None:
            promised = entry.promised_limit
            limit = due_at(calendar, accepted_at,
                           Limit(promised.amount, UNIT_ALIASES[promised.unit]))
            due = min(due, limit)
        return due

    def plan(self, process_key: str, missing: Sequence[MissingMaterial], *,
             signed_by: str, witnessed_by: str, at: datetime | None = None) -> dict[str, Any]:
        """The case data of an acceptance with `missing` deferred on the applicant's signed
        commitment (`signed_by`, witnessed by the clerk `witnessed_by`)."""
        if not missing:
            return defaults()
        if not (signed_by or "").strip():
            raise ValidationFailed("容缺受理须由申请人签署容缺受理承诺书",
                                   {"deficiency_commitment": "请确认申请人已签署承诺书"})
        at = at or self.clock.now()
        deadline = self.deadline(process_key, at)
        return {"deficiency": [{"field": m.field, "name": m.name, "item": m.item,
                                "deadline": deadline.isoformat()} for m in missing],
                "deficiency_deadline": deadline.isoformat(),
                "deficiency_outstanding": True,
                "deficiency_commitment": {"signed_by": signed_by.strip()[:100],
                                          "witnessed_by": witnessed_by, "at": at.isoformat()}}

    # -- afterwards ------------------------------------------------------------------------

    def status(self, case_id: int, actor: Actor) -> tuple[CaseView, list[Deficiency]]:
        """The case and its deficiency list (supplied and outstanding), as now recorded.
        Whoever may supply (the front desk, systems filing for it) may read it."""
        reader = SYSTEM if policy.files_applications(actor) else actor
        case = self.cases.get_case(case_id, reader, with_data=True)
        return case, deficiency_of(case.data or {})

    def outstanding(self, case_id: int, actor: Actor) -> list[Deficiency]:
        """The materials of the case still to be supplied (empty when none or none left)."""
        return [d for d in self.status(case_id, actor)[1] if not d.supplied]

    def supply(self, case_id: int, field_id: str, upload_id: str, actor: Actor, *,
               source: str = AT_COUNTER, issuer: str | None = None) -> CaseView:
        """Record that the material `field_id` of case `case_id` arrived as the stored upload
        `upload_id` (one audit event `material_supplied`). The last one clears
        `deficiency_outstanding` and completes a waiting 容缺材料补齐 task.

        Raises NotFound (no such case; 404), NotAllowed (the actor may not supply; 403),
        ValidationFailed (unknown field or upload; 422) and Conflict (already supplied, or
        the case has ended; 409). Only the front desk, systems with an API token and admins
        supply; the applicant portal calls this with such a system actor."""
        if not policy.files_applications(actor):
            raise NotAllowed("只有综合受理窗口或经授权的系统可以补交材料")
        field_id = str(field_id or "").strip()
        upload = self.uploads.get(upload_id) if isinstance(upload_id, str) and upload_id \
            and len(upload_id) <= 36 else None
        if not field_id:
            raise ValidationFailed("请指明补交的是哪一份材料", {"field": "必填"})
        if upload is None:
            raise ValidationFailed("上传的材料不存在，请先上传文件", {"upload": "上传编号无效"})
        now = self.clock.now()

        def amend(data: dict) -> Amendment:
            items = deficiency_of(data)
            if not items:
                raise Conflict("该办件没有容缺后补材料")
            entry = next((d for d in items if d.field == field_id), None)
            if entry is None:
                raise ValidationFailed("该材料不在容缺后补清单中",
                                       {"field": "不在容缺后补清单中"})
            if entry.supplied:
                raise Conflict(f"「{entry.name}」已于 {entry.supplied_at:%Y-%m-%d %H:%M} 补交")
            raw = [dict(d) for d in data["deficiency"]]
            for record in raw:
                if record.get("field") == field_id:
                    record.update(supplied_at=now.isoformat(), supplied_by=actor.username,
                                  upload=upload.id, source=source, issuer=issuer)
            left = [d for d in deficiency_of({"deficiency": raw}) if not d.supplied]
            values = {"deficiency": raw, "deficiency_outstanding": bool(left), field_id: upload.id}
            return Amendment(values,
                             {"field": field_id, "name": entry.name, "item": entry.item,
                              "upload": upload.id, "sha256": upload.sha256, "source": source,
                              "issuer": issuer, "outstanding": [d.field for d in left]},
                             complete=None if left else GATE_TASK,
                             task_data={"deficiency_supply_note": "容缺材料已全部补齐"})

        try:
            return self.cases.amend_data(case_id, amend, actor, kind=audit.MATERIAL_SUPPLIED)
        except NotFound:
            raise NotFound(f"办件 {case_id} 不存在") from None
