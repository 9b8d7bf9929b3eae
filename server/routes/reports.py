"""Reports and bulletins over HTTP: township hotspot reports and county bulletins, HTML or PDF."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, Response

from gis.reports import ReportDate, UnknownTownship, county_bulletin, township_report
from layers.report_render import html_to_pdf, render_bulletin_html, render_township_html
from server.deps import SessionDep, TodayDep
from server.security import Reader, forbid_out_of_scope

router = APIRouter(prefix="/reports", tags=["reports"])


class ReportFormat(StrEnum):
    """Output format."""

    HTML = "html"
    PDF = "pdf"


class BulletinKind(StrEnum):
    """Which bulletin."""

    DAILY = "daily"
    HALF_MONTHLY = "half-monthly"


AsOf = Annotated[
    date | None,
    Query(description="read the ledger as it stood at the end of this past day (YYYY-MM-DD)"),
]


def _report_date(today: date, as_of: date | None) -> ReportDate:
    try:
        return ReportDate.for_request(today, as_of)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


def _respond(html: str, fmt: ReportFormat, filename: str) -> Response:
    if fmt is ReportFormat.HTML:
        return HTMLResponse(html)
    return Response(
        html_to_pdf(html),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}.pdf"'},
    )


@router.get(
    "/township/{code}.{fmt}",
    summary="A township's hotspot report (乡镇热点报告), HTML or PDF",
    response_class=Response,
    responses={
        200: {"content": {"text/html": {}, "application/pdf": {}}},
        404: {"description": "no township with this code"},
    },
)
def township(
    principal: Reader,
    code: str,
    fmt: ReportFormat,
    session: SessionDep,
    today: TodayDep,
    as_of: AsOf = None,
) -> Response:
    forbid_out_of_scope(principal, code)
    report_date = _report_date(today, as_of)
    try:
        report = township_report(session, code, report_date=report_date)
    except UnknownTownship as exc:
        raise HTTPException(404, str(exc)) from exc
    html = render_township_html(report)
    return _respond(html, fmt, f"report-{code}-{report_date.day.isoformat()}")


@router.get(
    "/bulletin/{kind}.{fmt}",
    summary="The county's daily or half-monthly bulletin (通报), HTML or PDF",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def bulletin(
    principal: Reader,
    kind: BulletinKind,
    fmt: ReportFormat,
    session: SessionDep,
    today: TodayDep,
    as_of: AsOf = None,
) -> Response:
    if principal.townships is not None:
        raise HTTPException(
            403,
            "通报为全县汇总，乡镇用户请查看本乡镇报告 bulletins are county-wide; "
            "users scoped to townships read their township reports",
        )
    report_date = _report_date(today, as_of)
    data = county_bulletin(session, kind.value.replace("-", "_"), report_date=report_date)
    html = render_bulletin_html(data)
    return _respond(html, fmt, f"bulletin-{kind.value}-{report_date.day.isoformat()}")
