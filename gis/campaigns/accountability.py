"""Summons and accountability on record (约谈、问责): who was summoned or held accountable, of
which unit and township, why, the problems and notices concerned, and the outcome. Each record
leaves a trace in the history of every problem it names, and counts in the assessment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.access.scope import Scope
from gis.campaigns.cases import CampaignError
from gis.db.models import ACCOUNTABILITY_KINDS, AccountabilityRecord, Notice, Problem
from gis.geo.townships import township_exists
from gis.ledger.summons import KIND_LABELS, held_counts, held_records, record_dict
from gis.ledger.writes import record_event

__all__ = [
    "KIND_LABELS", "AccountabilityInput", "list_accountability", "record_accountability",
    "record_dict",
]


@dataclass
class AccountabilityInput:
    kind: str
    held_on: date
    person: str
    unit: str
    reason: str
    township_code: str | None = None
    outcome: str = ""
    problem_codes: list[str] = field(default_factory=list)
    notice_numbers: list[str] = field(default_factory=list)


def record_accountability(
    session: Session,
    data: AccountabilityInput,
    *,
    recorded_by: str,
    today: date,
    now: datetime | None = None,
) -> AccountabilityRecord:
    """Put a summons or an accountability on record; names problems and notices that exist."""
    if data.kind not in ACCOUNTABILITY_KINDS:
        raise CampaignError("类型须为 约谈 或 问责 kind must be summons or accountability", "kind")
    for name in ("person", "unit", "reason"):
        if not getattr(data, name).strip():
            labels = {"person": "被约谈/问责人", "unit": "单位", "reason": "事由"}
            raise CampaignError(f"{labels[name]}不能为空 {name} must not be empty", name)
    if data.held_on > today:
        raise CampaignError("日期不能晚于今天 held_on is in the future", "held_on")
    if data.township_code is not None and not township_exists(session, data.township_code):
        raise CampaignError(f"乡镇 {data.township_code} 不存在 no such township", "township_code")
    problems = []
    for code in dict.fromkeys(data.problem_codes):
        problem = session.scalars(select(Problem).where(Problem.code == code)).first()
        if problem is None:
            raise CampaignError(f"问题 {code} 不存在 no problem {code!r}", "problem_codes")
        problems.append(problem)
    for number in dict.fromkeys(data.notice_numbers):
        if not session.scalar(select(Notice.id).where(Notice.number == number)):
            raise CampaignError(f"文书 {number} 不存在 no notice {number!r}", "notice_numbers")
    township = data.township_code
    if township is None and problems:
        towns = {p.township_code for p in problems}
        township = towns.pop() if len(towns) == 1 else None
    record = AccountabilityRecord(
        kind=data.kind,
        held_on=data.held_on,
        person=data.person.strip(),
        unit=data.unit.strip(),
        township_code=township,
        reason=data.reason.strip(),
        outcome=data.outcome.strip(),
        problem_codes=[p.code for p in problems],
        notice_numbers=list(dict.fromkeys(data.notice_numbers)),
        recorded_by=recorded_by,
    )
    session.add(record)
    session.flush()
    at = now or datetime.now(UTC)
    for problem in problems:
        record_event(
            session,
            problem,
            actor=recorded_by,
            action=data.kind,
            at=at,
            reason=f"{KIND_LABELS[data.kind]} {record.person}（{record.unit}）：{record.reason}",
            after={"accountability_record": record.id, "held_on": data.held_on.isoformat()},
        )
    return record


def list_accountability(
    session: Session,
    *,
    scope: Scope,
    township: str | None = None,
    unit: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    """The records (newest first) and their counts per township and per unit."""
    items = held_records(
        session, scope=scope, township=township, unit=unit, start=start, end=end
    )
    return {
        "items": items,
        "by_township": held_counts(items, "township_code"),
        "by_unit": held_counts(items, "unit"),
    }
