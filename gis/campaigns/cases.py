"""Campaigns, their numbered batches and the transferred cases (转办件) with their handling.

A case is a complaint (:class:`gis.db.models.Complaint`, channel ``transferred``) linked to its
batch; its reply deadline is the complaint's ``feedback_due``, set by the campaign in calendar or
working days from the day the batch was received. Replying sets the complaint's ``feedback_at``,
so complaint counts and notices see campaign cases like any other complaint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.access.scope import Scope, scope_sql
from gis.config import get_settings
from gis.db.models import (
    CAMPAIGN_LEVELS,
    CASE_FINDINGS,
    REPLY_DAY_KINDS,
    Campaign,
    CampaignBatch,
    CampaignCase,
    CampaignCaseEvent,
    Complaint,
)
from gis.errors import LookbackError
from gis.geo.townships import township_exists
from gis.ledger.workdays import OfficialCalendar, add_workdays, load_calendar


class CampaignError(LookbackError, ValueError):
    """Bad input to a campaign, batch or case, with the field at fault."""

    kind = "invalid"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def details(self) -> dict[str, Any]:
        return {"field": self.field} if self.field else {}


class CampaignNotFound(LookbackError, LookupError):
    kind = "not_found"


class CampaignConflict(LookbackError, ValueError):
    kind = "conflict"


LEVEL_LABELS = {"central": "中央", "provincial": "省级", "municipal": "市级"}
FINDING_LABELS = {"true": "属实", "partly_true": "部分属实", "untrue": "不属实"}
FINDING_WORDS = {
    "属实": "true", "部分属实": "partly_true", "基本属实": "partly_true", "不属实": "untrue"
}
ACTION_LABELS = {
    "orders": "责令整改",
    "penalties": "立案处罚",
    "summonses": "约谈",
    "accountabilities": "问责",
}
# 污染类型 words → complaint kind (水、大气、噪声…); the first match wins.
_KIND_WORDS = (
    ("噪", "noise"),
    ("水", "water"),
    ("土", "soil"),
    ("辐射", "radiation"),
    ("生态", "ecology"),
    ("大气", "air"),
    ("气", "air"),
    ("扬尘", "air"),
    ("油烟", "air"),
    ("臭", "air"),
    ("烟", "air"),
    ("尘", "air"),
)


def complaint_kind(pollution_type: str) -> str:
    """The complaint kind a 污染类型 cell names (``other`` when none)."""
    for word, kind in _KIND_WORDS:
        if word in pollution_type:
            return kind
    return "other"


def check_year(day: date, name: str) -> None:
    """Refuse dates outside 2000–2100 (typing errors such as 0206 or 9999)."""
    if not 2000 <= day.year <= 2100:
        raise CampaignError(f"日期 {day.isoformat()} 不合理 {name}: implausible year", name)


@dataclass
class CampaignInput:
    name: str
    level: str
    stationed_from: date
    stationed_to: date
    reply_days: int = 7
    reply_day_kind: str = "calendar"


def create_campaign(session: Session, data: CampaignInput) -> Campaign:
    """Register a campaign; the name is unique."""
    name = data.name.strip()
    if not name:
        raise CampaignError("督察名称不能为空 the campaign needs a name", "name")
    if data.level not in CAMPAIGN_LEVELS:
        raise CampaignError(
            f"督察级别无效 level must be one of: {', '.join(CAMPAIGN_LEVELS)}", "level"
        )
    if data.reply_day_kind not in REPLY_DAY_KINDS:
        raise CampaignError(
            f"期限计算方式无效 reply_day_kind must be one of: {', '.join(REPLY_DAY_KINDS)}",
            "reply_day_kind",
        )
    if data.reply_days < 1:
        raise CampaignError("反馈期限至少 1 天 reply_days must be at least 1", "reply_days")
    check_year(data.stationed_from, "stationed_from")
    check_year(data.stationed_to, "stationed_to")
    if data.stationed_to < data.stationed_from:
        raise CampaignError(
            "进驻结束日期早于开始日期 stationed_to is before stationed_from", "stationed_to"
        )
    if session.scalar(select(Campaign.id).where(Campaign.name == name)):
        raise CampaignConflict(f"督察 {name} 已存在 a campaign named {name!r} exists")
    campaign = Campaign(
        name=name,
        level=data.level,
        stationed_from=data.stationed_from,
        stationed_to=data.stationed_to,
        reply_days=data.reply_days,
        reply_day_kind=data.reply_day_kind,
    )
    session.add(campaign)
    session.flush()
    return campaign


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignNotFound(f"督察 {campaign_id} 不存在 no campaign {campaign_id}")
    return campaign


def find_campaign(session: Session, key: str) -> Campaign:
    """A campaign by id or by name."""
    if key.isdigit():
        return get_campaign(session, int(key))
    campaign = session.scalars(select(Campaign).where(Campaign.name == key)).first()
    if campaign is None:
        raise CampaignNotFound(f"督察 {key} 不存在 no campaign named {key!r}")
    return campaign


def campaign_dict(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "level": c.level,
        "level_zh": LEVEL_LABELS[c.level],
        "stationed_from": c.stationed_from.isoformat(),
        "stationed_to": c.stationed_to.isoformat(),
        "reply_days": c.reply_days,
        "reply_day_kind": c.reply_day_kind,
    }


def list_campaigns(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(Campaign).order_by(Campaign.stationed_from, Campaign.id))
    return [campaign_dict(c) for c in rows]


def reply_due(campaign: Campaign, received: date, calendar: OfficialCalendar) -> date:
    """The reply deadline of a case received on ``received`` under the campaign's rule."""
    if campaign.reply_day_kind == "working":
        return add_workdays(received, campaign.reply_days, calendar)
    return received + timedelta(days=campaign.reply_days)


def batch_for(session: Session, campaign: Campaign, number: int, received: date) -> CampaignBatch:
    """The campaign's batch ``number``, created with ``received`` when new."""
    if number < 1:
        raise CampaignError("批次号至少为 1 the batch number must be at least 1", "batch")
    batch = session.scalars(
        select(CampaignBatch).where(
            CampaignBatch.campaign_id == campaign.id, CampaignBatch.number == number
        )
    ).first()
    if batch is None:
        batch = CampaignBatch(campaign_id=campaign.id, number=number, received_on=received)
        session.add(batch)
        session.flush()
    return batch


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}


def chinese_number(s: str) -> int | None:
    """An integer written in digits or Chinese numerals up to 99 (三, 十二, 二十一), or None."""
    if s.isdigit():
        return int(s)
    if not s or any(ch not in _CN_DIGITS and ch != "十" for ch in s):
        return None
    if "十" in s:
        tens, _, ones = s.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    return _CN_DIGITS[s] if len(s) == 1 else None


def parse_batch_number(value: str) -> int | None:
    """The N of 第N批 / N批 / N (digits or Chinese numerals), or None."""
    s = re.sub(r"\s+", "", value)
    m = re.search(r"第?([0-9一二两三四五六七八九十〇零]+)批", s)
    if m:
        return chinese_number(m[1])
    return int(s) if s.isdigit() else None


@dataclass
class CaseInput:
    """A transferred case as the team's list gives it."""

    code: str
    batch: int
    text: str
    township_code: str | None
    received_on: date
    pollution_type: str = ""
    received_at: datetime | None = None
    responsible_unit: str = ""  # when the list names the unit it transfers the case to
    responsible_person: str = ""


def _received_at(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=get_settings().zone)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def trace(
    session: Session,
    case: CampaignCase,
    *,
    actor: str,
    action: str,
    changes: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one step to the case's history."""
    session.add(
        CampaignCaseEvent(
            case_id=case.id,
            at=at or datetime.now(UTC),
            actor=actor,
            action=action,
            changes={k: _json(v) for k, v in (changes or {}).items()},
        )
    )


def case_history(session: Session, campaign: Campaign, code: str) -> list[dict[str, Any]]:
    """Every step of a case, oldest first."""
    case, _ = case_by_code(session, campaign, code)
    rows = session.scalars(
        select(CampaignCaseEvent)
        .where(CampaignCaseEvent.case_id == case.id)
        .order_by(CampaignCaseEvent.at, CampaignCaseEvent.id)
    )
    return [
        {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "changes": e.changes}
        for e in rows
    ]


def add_case(
    session: Session,
    campaign: Campaign,
    data: CaseInput,
    calendar: OfficialCalendar | None = None,
    *,
    actor: str = "",
) -> CampaignCase:
    """Register a transferred case: its complaint (channel ``transferred``) and its batch."""
    code = data.code.strip()
    if not code:
        raise CampaignError("受理编号不能为空 the case needs its 受理编号", "code")
    if not data.text.strip():
        raise CampaignError("反映内容不能为空 the case needs its content (反映内容)", "text")
    check_year(data.received_on, "received_on")
    if data.township_code is not None and not township_exists(session, data.township_code):
        raise CampaignError(f"乡镇 {data.township_code} 不存在 no such township", "township_code")
    if session.scalar(select(Complaint.id).where(Complaint.code == code)):
        raise CampaignConflict(f"受理编号 {code} 已登记 a complaint with code {code!r} exists")
    calendar = calendar or load_calendar(session)
    batch = batch_for(session, campaign, data.batch, data.received_on)
    complaint = Complaint(
        code=code,
        channel="transferred",
        kind=complaint_kind(data.pollution_type),
        text=data.text.strip(),
        received_at=data.received_at or _received_at(data.received_on),
        feedback_due=reply_due(campaign, data.received_on, calendar),
        township_code=data.township_code,
    )
    session.add(complaint)
    session.flush()
    case = CampaignCase(
        batch_id=batch.id,
        complaint_id=complaint.id,
        pollution_type=data.pollution_type.strip(),
        responsible_unit=data.responsible_unit.strip(),
        responsible_person=data.responsible_person.strip(),
    )
    session.add(case)
    session.flush()
    trace(
        session, case, actor=actor or "import", action="received",
        changes={"batch": data.batch, "reply_due": complaint.feedback_due,
                 "township_code": data.township_code},
    )
    return case


def case_by_code(session: Session, campaign: Campaign, code: str) -> tuple[CampaignCase, Complaint]:
    row = session.execute(
        select(CampaignCase, Complaint)
        .join(Complaint, Complaint.id == CampaignCase.complaint_id)
        .join(CampaignBatch, CampaignBatch.id == CampaignCase.batch_id)
        .where(CampaignBatch.campaign_id == campaign.id, Complaint.code == code)
    ).first()
    if row is None:
        raise CampaignNotFound(f"转办件 {code} 不存在 no case {code!r} in this campaign")
    return row[0], row[1]


HANDLING_FIELDS = (
    "checked_on",
    "check_note",
    "finding",
    "measures",
    "responsible_unit",
    "responsible_person",
    "orders",
    "penalties",
    "summonses",
    "accountabilities",
    "result",
)


def handle_case(
    session: Session,
    campaign: Campaign,
    code: str,
    changes: dict[str, Any],
    *,
    today: date,
    actor: str = "",
) -> CampaignCase:
    """Record the handling of a case: on-site check, finding, measures, units, actions taken."""
    case, _ = case_by_code(session, campaign, code)
    unknown = set(changes) - set(HANDLING_FIELDS)
    if unknown:
        raise CampaignError(f"未知字段 unknown fields: {', '.join(sorted(unknown))}", "changes")
    finding = changes.get("finding")
    if finding is not None:
        finding = FINDING_WORDS.get(finding, finding)
        if finding not in CASE_FINDINGS:
            raise CampaignError(
                "核查结论须为 属实/部分属实/不属实 finding must be true, partly_true or untrue",
                "finding",
            )
        changes = {**changes, "finding": finding}
    for name in ("orders", "penalties", "summonses", "accountabilities"):
        if name in changes and (not isinstance(changes[name], int) or changes[name] < 0):
            raise CampaignError(f"{ACTION_LABELS[name]} 数量须为非负整数 {name} must be >= 0", name)
    checked = changes.get("checked_on")
    if checked is not None and checked > today:
        raise CampaignError("核查日期不能晚于今天 checked_on is in the future", "checked_on")
    if changes.get("finding", case.finding) is not None and (
        changes.get("checked_on", case.checked_on) is None
    ):
        raise CampaignError(
            "请填写现场核查日期：核查结论须注明核查日期 record the day of the on-site check "
            "(checked_on) with the finding",
            "checked_on",
        )
    changed = {n: v for n, v in changes.items() if getattr(case, n) != v}
    for name, value in changed.items():
        setattr(case, name, value)
    if changed:
        trace(session, case, actor=actor, action="handled", changes=changed)
    session.flush()
    return case


def reply_case(
    session: Session,
    campaign: Campaign,
    code: str,
    reply_text: str,
    *,
    at: datetime | None = None,
    actor: str = "",
) -> CampaignCase:
    """Send the reply (反馈) of a case: its text, and the complaint's feedback time."""
    case, complaint = case_by_code(session, campaign, code)
    if not reply_text.strip():
        raise CampaignError("反馈内容不能为空 the reply needs its text", "reply_text")
    if case.finding is None:
        raise CampaignError(
            "请先填写核查结论 record the finding (属实/部分属实/不属实) before replying", "finding"
        )
    if case.checked_on is None:
        raise CampaignError(
            "请先填写现场核查日期 record the day of the on-site check before replying",
            "checked_on",
        )
    case.reply_text = reply_text.strip()
    complaint.feedback_at = at or datetime.now(UTC)
    trace(session, case, actor=actor, action="replied", at=complaint.feedback_at,
          changes={"reply_text": case.reply_text})
    session.flush()
    return case


def close_case(
    session: Session, campaign: Campaign, code: str, *, on: date, actor: str = ""
) -> CampaignCase:
    """Close a case (办结): it needs its reply first."""
    case, complaint = case_by_code(session, campaign, code)
    if complaint.feedback_at is None:
        raise CampaignError("请先反馈再办结 reply before closing the case", "reply_text")
    case.closed_on = on
    trace(session, case, actor=actor, action="closed", changes={"closed_on": on})
    session.flush()
    return case


def checked_by(item: dict[str, Any], day: date) -> bool:
    """Whether a case was checked (现场核查) by the end of ``day``: its on-site check day
    ``checked_on`` is on or before ``day``, whenever the check was entered.

    This is the one definition of "checked" (核查) that the case states, the daily dispatch,
    the daily bulletin and the office's home page count with."""
    return item["checked_on"] is not None and item["checked_on"] <= day


def checked_that_day(item: dict[str, Any], day: date) -> bool:
    """Whether a case's on-site check was on ``day`` (今日核查), whenever it was entered: a
    check done on Monday and entered on Tuesday counts on Monday."""
    return item["checked_on"] is not None and item["checked_on"] == day


def case_rows_sql(where: str = "TRUE") -> str:
    """SELECT of every case with its complaint, batch and township (``:campaign_id``)."""
    return f"""
        SELECT c.code, b.number AS batch, b.received_on, c.text, c.township_code,
               t.name AS township_name, k.pollution_type, c.kind, c.feedback_due AS reply_due,
               c.feedback_at, k.checked_on, k.check_note, k.finding, k.measures,
               k.responsible_unit, k.responsible_person, k.orders, k.penalties, k.summonses,
               k.accountabilities, k.reply_text, k.result, k.closed_on
        FROM campaign_cases k
        JOIN campaign_batches b ON b.id = k.batch_id
        JOIN complaints c ON c.id = k.complaint_id
        LEFT JOIN townships t ON t.code = c.township_code
        WHERE b.campaign_id = :campaign_id AND {where}
        ORDER BY b.number, c.code
    """


def list_cases(
    session: Session,
    campaign: Campaign,
    *,
    scope: Scope,
    today: date,
    batch: int | None = None,
    code: str | None = None,
) -> list[dict[str, Any]]:
    """The campaign's cases within ``scope`` (one batch, or one case), each with its state on
    ``today``."""
    params: dict[str, Any] = {"campaign_id": campaign.id}
    where = scope_sql("c.township_code", scope, params)
    if batch is not None:
        where += " AND b.number = :batch"
        params["batch"] = batch
    if code is not None:
        where += " AND c.code = :code"
        params["code"] = code
    rows = session.execute(text(case_rows_sql(where)), params).mappings().all()
    zone = get_settings().zone
    out = []
    for r in rows:
        item = dict(r)
        replied_on = r["feedback_at"].astimezone(zone).date() if r["feedback_at"] else None
        item["replied_on"] = replied_on
        item["reply_overdue"] = replied_on is None and r["reply_due"] < today
        item["replied_late"] = replied_on is not None and replied_on > r["reply_due"]
        item["finding_zh"] = FINDING_LABELS.get(r["finding"] or "", "")
        item["state"] = (
            "closed" if r["closed_on"] else "replied" if replied_on else
            "checked" if checked_by(r, today) else "received"
        )
        out.append(item)
    return out


def case_record(session: Session, campaign: Campaign, code: str, today: date) -> dict[str, Any]:
    """One case with its state on ``today``, JSON-ready."""
    found = list_cases(session, campaign, scope=None, today=today, code=code)
    if not found:
        raise CampaignNotFound(f"转办件 {code} 不存在 no case {code!r} in this campaign")
    return jsonable(found[0])


def jsonable(item: dict[str, Any]) -> dict[str, Any]:
    """Dates and times as ISO text."""
    return {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in item.items()}


def case_township(session: Session, campaign: Campaign, code: str) -> str | None:
    """The township of a case (for the caller's scope check); CampaignNotFound if none."""
    _, complaint = case_by_code(session, campaign, code)
    return complaint.township_code
