"""Daily dispatch (一天一调度、一天一通报): townships report the day's progress on their cases, the
office sees who has not reported, and the campaign's daily bulletin is assembled.

Progress by township is counted from the cases themselves as of the end of the day (checked,
replied, closed, replies overdue), so a township's report cannot change the figures; its text
stands beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.access.scope import Scope, in_scope
from gis.campaigns.accountability import list_accountability
from gis.campaigns.cases import (
    FINDING_LABELS,
    CampaignError,
    campaign_dict,
    check_year,
    checked_by,
    checked_that_day,
    list_cases,
)
from gis.campaigns.privacy import summary
from gis.db.models import Campaign, CampaignBatch, DispatchReport
from gis.geo.townships import township_exists


def report_progress(
    session: Session,
    campaign: Campaign,
    *,
    township_code: str,
    day: date,
    progress: str,
    reported_by: str,
    today: date,
    at: datetime | None = None,
) -> DispatchReport:
    """A township's report for ``day``; reporting again the same day replaces the text."""
    if not progress.strip():
        raise CampaignError("调度内容不能为空 the report needs its text", "progress")
    if day > today:
        raise CampaignError("不能报送未来日期 the day is in the future", "day")
    if not township_exists(session, township_code):
        raise CampaignError(f"乡镇 {township_code} 不存在 no such township", "township_code")
    report = session.scalars(
        select(DispatchReport).where(
            DispatchReport.campaign_id == campaign.id,
            DispatchReport.township_code == township_code,
            DispatchReport.day == day,
        )
    ).first()
    if report is None:
        report = DispatchReport(campaign_id=campaign.id, township_code=township_code, day=day)
        session.add(report)
    report.progress = progress.strip()
    report.reported_by = reported_by
    report.reported_at = at or datetime.now(UTC)
    session.flush()
    return report


@dataclass
class TownshipProgress:
    code: str
    name: str
    cases: int = 0
    checked: int = 0
    replied: int = 0
    closed: int = 0
    reply_overdue: int = 0
    new_today: int = 0
    checked_today: int = 0
    replied_today: int = 0
    closed_today: int = 0
    reported: bool = False
    report: str = ""
    reported_by: str = ""
    recorded: str = ""  # what the cases' records show was done that day

    def summarise(self) -> None:
        """Set ``recorded`` from the day's steps (the automatic report of the day)."""
        self.recorded = (
            f"今日核查{self.checked_today}件、反馈{self.replied_today}件、"
            f"办结{self.closed_today}件"
        )


@dataclass
class DailyBulletin:
    campaign: dict[str, Any]
    day: date
    batches_today: list[dict[str, Any]]
    cases_today: list[dict[str, Any]]
    townships: list[TownshipProgress]
    overdue: list[dict[str, Any]]
    not_reported: list[TownshipProgress]
    totals: dict[str, int] = field(default_factory=dict)
    actions: dict[str, int] = field(default_factory=dict)
    # summons and accountability held during the stay, up to the day (约谈、问责)
    records: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def j(v: Any) -> Any:
            if isinstance(v, date | datetime):
                return v.isoformat()
            if isinstance(v, TownshipProgress):
                return dict(v.__dict__)
            if isinstance(v, list):
                return [j(x) for x in v]
            if isinstance(v, dict):
                return {k: j(x) for k, x in v.items()}
            return v

        return {k: j(v) for k, v in self.__dict__.items()}


def _as_of(item: dict[str, Any], day: date) -> dict[str, Any]:
    """A case's state at the end of ``day`` (steps dated later are not yet taken)."""
    checked = checked_by(item, day)
    replied = item["replied_on"] is not None and item["replied_on"] <= day
    closed = item["closed_on"] is not None and item["closed_on"] <= day
    return {
        **item,
        "checked": checked,
        "replied": replied,
        "closed": closed,
        "reply_overdue": not replied and item["reply_due"] < day,
        "days_overdue": (day - item["reply_due"]).days if not replied else 0,
    }


def daily_bulletin(
    session: Session, campaign: Campaign, day: date, *, scope: Scope = None
) -> DailyBulletin:
    """The campaign's bulletin of ``day``: the day's batch, progress by township, overdue
    replies naming the point, the unit and the person, and who has not reported."""
    check_year(day, "day")
    items = [
        _as_of(i, day)
        for i in list_cases(session, campaign, scope=scope, today=day)
        if i["received_on"] <= day
    ]
    reports = {
        r.township_code: r
        for r in session.scalars(
            select(DispatchReport).where(
                DispatchReport.campaign_id == campaign.id, DispatchReport.day == day
            )
        )
    }
    names = dict(session.execute(text("SELECT code, name FROM townships")).all())
    towns: dict[str, TownshipProgress] = {}
    for i in items:
        code = i["township_code"]
        if code is None:
            continue
        t = towns.setdefault(code, TownshipProgress(code, names.get(code, code)))
        t.cases += 1
        t.checked += i["checked"]
        t.replied += i["replied"]
        t.closed += i["closed"]
        t.reply_overdue += i["reply_overdue"]
        t.new_today += i["received_on"] == day
        t.checked_today += checked_that_day(i, day)
        t.replied_today += i["replied_on"] == day
        t.closed_today += i["closed_on"] == day
    for code, r in reports.items():
        if in_scope(scope, code):
            t = towns.setdefault(code, TownshipProgress(code, names.get(code, code)))
            t.reported, t.report, t.reported_by = True, r.progress, r.reported_by
    for t in towns.values():
        t.summarise()
    progress = sorted(towns.values(), key=lambda t: (-t.reply_overdue, t.code))
    batches = session.scalars(
        select(CampaignBatch)
        .where(CampaignBatch.campaign_id == campaign.id, CampaignBatch.received_on == day)
        .order_by(CampaignBatch.number)
    ).all()

    def row(i: dict[str, Any]) -> dict[str, Any]:
        return {
            "code": i["code"],
            "batch": i["batch"],
            "township": i["township_name"] or "",
            "summary": summary(i["text"]),
            "pollution_type": i["pollution_type"],
            "reply_due": i["reply_due"],
            "days_overdue": i["days_overdue"],
            "finding": FINDING_LABELS.get(i["finding"] or "", ""),
            "responsible_unit": i["responsible_unit"],
            "responsible_person": i["responsible_person"],
        }

    overdue = sorted(
        (row(i) for i in items if i["reply_overdue"]),
        key=lambda r: (-r["days_overdue"], r["code"]),
    )
    held = list_accountability(
        session, scope=scope, start=campaign.stationed_from, end=day
    )["items"]
    return DailyBulletin(
        campaign=campaign_dict(campaign),
        records=held,
        day=day,
        batches_today=[
            {"number": b.number, "cases": sum(1 for i in items if i["batch"] == b.number)}
            for b in batches
        ],
        cases_today=[row(i) for i in items if i["received_on"] == day],
        townships=progress,
        overdue=overdue,
        not_reported=[t for t in progress if t.cases and not t.reported],
        totals={
            "cases": len(items),
            "checked": sum(i["checked"] for i in items),
            "replied": sum(i["replied"] for i in items),
            "closed": sum(i["closed"] for i in items),
            "reply_overdue": len(overdue),
            "new_today": sum(i["received_on"] == day for i in items),
        },
        actions={
            k: sum(int(i[k]) for i in items if i["checked"])
            for k in ("orders", "penalties", "summonses", "accountabilities")
        },
    )


def dispatch_status(
    session: Session, campaign: Campaign, day: date, *, scope: Scope
) -> dict[str, Any]:
    """Who reported on ``day`` and who has not (townships with cases received by then)."""
    b = daily_bulletin(session, campaign, day, scope=scope)
    return {
        "day": day.isoformat(),
        "reported": [
            {"township_code": t.code, "township": t.name, "progress": t.report,
             "reported_by": t.reported_by, "recorded": t.recorded}
            for t in b.townships if t.reported
        ],
        "not_reported": [
            {"township_code": t.code, "township": t.name, "recorded": t.recorded}
            for t in b.not_reported
        ],
    }
