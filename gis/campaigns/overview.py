"""What the workbench's campaign pages show: campaigns with their counts, a campaign's batches,
its cases filtered, and the transfer-list import confirmed only as previewed.

Counts are within the caller's townships (a township user sees nothing of the others, not even
counts); the campaign's batches are listed with the cases of the caller's townships only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gis.access.scope import Scope
from gis.campaigns.cases import (
    CampaignNotFound,
    case_by_code,
    case_history,
    get_campaign,
    list_cases,
)
from gis.campaigns.dispatch import daily_bulletin
from gis.campaigns.transfers import TransferImportReport, import_transfer_list
from gis.db.models import Campaign, CampaignBatch, CampaignCaseEvent
from gis.io.staging import PreviewChanged, fingerprint

CASE_STATES = ("received", "checked", "replied", "closed")


def case_counts(items: list[dict[str, Any]]) -> dict[str, int]:
    """Open (not closed), replied, closed and overdue for reply, over ``items``."""
    return {
        "cases": len(items),
        "open": sum(1 for i in items if not i["closed_on"]),
        "replied": sum(1 for i in items if i["replied_on"] is not None),
        "closed": sum(1 for i in items if i["closed_on"]),
        "reply_overdue": sum(1 for i in items if i["reply_overdue"]),
    }


def campaign_overview(session: Session, *, scope: Scope, today: date) -> list[dict[str, Any]]:
    """Every campaign (newest stay first) with its batches and its cases' counts in scope."""
    out = []
    campaigns = session.scalars(
        select(Campaign).order_by(Campaign.stationed_from.desc(), Campaign.id.desc())
    ).all()
    for c in campaigns:
        items = list_cases(session, c, scope=scope, today=today)
        out.append(
            {
                "campaign": c,
                "batches": len(batch_rows(session, c, items, scope=scope)),
                **case_counts(items),
            }
        )
    return out


def running_campaigns(session: Session, *, scope: Scope, today: date) -> list[dict[str, Any]]:
    """The campaigns stationed today (``stationed_from`` ≤ today ≤ ``stationed_to``), each with
    the day's figures of its dispatch page and daily bulletin (:func:`daily_bulletin`, within
    ``scope``): cases received, checked, replied, overdue for reply, and the townships with
    cases that have not reported today."""
    out = []
    campaigns = session.scalars(
        select(Campaign)
        .where(Campaign.stationed_from <= today, Campaign.stationed_to >= today)
        .order_by(Campaign.stationed_from, Campaign.id)
    ).all()
    for c in campaigns:
        b = daily_bulletin(session, c, today, scope=scope)
        out.append(
            {
                "id": c.id,
                "name": c.name,
                "stationed_to": c.stationed_to,
                "cases": b.totals["cases"],
                "new_today": b.totals["new_today"],
                "checked": b.totals["checked"],
                "replied": b.totals["replied"],
                "reply_overdue": b.totals["reply_overdue"],
                "not_reported": [{"code": t.code, "name": t.name} for t in b.not_reported],
            }
        )
    return out


def batch_rows(
    session: Session, campaign: Campaign, items: list[dict[str, Any]], *, scope: Scope = None
) -> list[dict[str, Any]]:
    """The campaign's batches (第N批) with the counts of the given cases in each; for a caller
    with townships, only the batches holding some of their cases."""
    batches = session.scalars(
        select(CampaignBatch)
        .where(CampaignBatch.campaign_id == campaign.id)
        .order_by(CampaignBatch.number)
    ).all()
    rows = []
    for b in batches:
        mine = [i for i in items if i["batch"] == b.number]
        if scope is not None and not mine:
            continue
        rows.append({"number": b.number, "received_on": b.received_on, **case_counts(mine)})
    return rows


def filter_cases(
    items: list[dict[str, Any]],
    *,
    batch: int | None = None,
    township: str | None = None,
    overdue: bool | None = None,
    state: str | None = None,
) -> list[dict[str, Any]]:
    """The cases of one batch, one township, overdue for reply or not, in one state."""
    return [
        i
        for i in items
        if (batch is None or i["batch"] == batch)
        and (township is None or i["township_code"] == township)
        and (overdue is None or i["reply_overdue"] == overdue)
        and (state is None or i["state"] == state)
    ]


def case_detail(
    session: Session, campaign: Campaign, code: str, *, today: date
) -> dict[str, Any]:
    """One case with its state on ``today``, its history and its version (steps so far)."""
    found = list_cases(session, campaign, scope=None, today=today, code=code)
    if not found:
        raise CampaignNotFound(f"转办件 {code} 不存在 no case {code!r} in this campaign")
    history = case_history(session, campaign, code)
    return {**found[0], "history": history, "version": str(len(history))}


def case_version(session: Session, campaign: Campaign, code: str) -> str:
    """How many steps the case has had: a form made before the last one is stale."""
    case, _ = case_by_code(session, campaign, code)
    return str(
        len(
            session.scalars(
                select(CampaignCaseEvent.id).where(CampaignCaseEvent.case_id == case.id)
            ).all()
        )
    )


def apply_previewed_transfer_list(
    engine: Engine,
    campaign_id: int,
    data: bytes,
    *,
    expected: str,
    actor: str,
    filename: str,
    batch: int | None = None,
    received_on: date | None = None,
) -> TransferImportReport:
    """Import ``data`` in one transaction, kept only if every row's outcome is the preview's."""
    with Session(engine) as session:
        try:
            campaign = get_campaign(session, campaign_id)
            report = import_transfer_list(
                session, campaign, data, filename=filename, batch=batch,
                received_on=received_on, actor=actor,
            )
        except BaseException:
            session.rollback()
            raise
        if fingerprint(report) != expected:
            session.rollback()
            report.dry_run = True
            raise PreviewChanged(
                "转办件在预览后已有变化，本次未导入，请核对新的预览后再确认 the cases changed "
                "since the preview; nothing was imported: check the new preview and confirm again",
                report,
            )
        session.commit()
    return report
