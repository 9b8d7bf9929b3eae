"""Campaign documents: the daily dispatch bulletin, the public disclosure list and the
assessment report, as self-contained HTML and as PDF (same fonts and page as the reports)."""

from __future__ import annotations

from typing import Any

from gis.campaigns.assessment import COUNTED, ITEM_LABELS, Assessment
from gis.campaigns.disclosure import COLUMNS, DisclosureBatch
from gis.campaigns.dispatch import DailyBulletin
from gis.config import get_settings
from layers.report_render import ENV, _check_local, _common, html_to_pdf


def _render(template: str, footer: str, **context: Any) -> str:
    html = ENV.get_template(template).render(footer=footer, **context, **_common())
    _check_local(html)
    return html


def render_daily_html(bulletin: DailyBulletin) -> str:
    """The campaign's daily bulletin as one self-contained HTML page."""
    return _render(
        "campaign_daily.html",
        f"{bulletin.campaign['name']} {bulletin.day.isoformat()}",
        b=bulletin,
    )


def render_daily_pdf(bulletin: DailyBulletin) -> bytes:
    return html_to_pdf(render_daily_html(bulletin))


def render_disclosure_html(campaign: dict[str, Any], batches: list[DisclosureBatch]) -> str:
    """The public disclosure list (边督边改公开) as one self-contained HTML page."""
    return _render(
        "campaign_disclosure.html",
        f"{campaign['name']} 边督边改公开",
        campaign=campaign,
        batches=batches,
        columns=COLUMNS,
    )


def render_disclosure_pdf(campaign: dict[str, Any], batches: list[DisclosureBatch]) -> bytes:
    return html_to_pdf(render_disclosure_html(campaign, batches))


def render_assessment_html(a: Assessment) -> str:
    """The assessment of a period: ranking with the per-item breakdown."""
    return _render(
        "campaign_assessment.html",
        f"考核 {a.start.isoformat()}–{a.end.isoformat()}",
        a=a,
        items=COUNTED,
        labels=ITEM_LABELS,
        stored_at=(
            f"{a.stored['closed_at'].astimezone(get_settings().zone):%Y-%m-%d %H:%M}"
            if a.stored else ""
        ),
    )


def render_assessment_pdf(a: Assessment) -> bytes:
    return html_to_pdf(render_assessment_html(a))
