"""The official working-day calendar: which years are loaded, and loading a year (admin)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from gis.ledger.workdays import is_provisional, load_calendar, load_schedule
from server.deps import SessionDep, TodayDep, committing
from server.security import Reader, principal_dep

router = APIRouter(prefix="/api", tags=["calendar"])
CalendarAdmin = principal_dep("calendar:manage")
MAX_SCHEDULE_BYTES = 256_000


@router.get("/calendar", summary="Years of the official schedule: loaded, published or provisional")
def calendar_years(_: Reader, session: SessionDep, today: TodayDep) -> dict:
    calendar = load_calendar(session)
    years = sorted(calendar.years | {today.year, today.year + 1})
    return {
        "years": [
            {
                "year": y,
                "loaded": y in calendar.years,
                "provisional": is_provisional(date(y, 6, 30), calendar),
            }
            for y in years
        ]
    }


@router.post(
    "/calendar",
    summary="Load (or replace) a year's official schedule (CSV: date[~date],休|班[,name])",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def calendar_load(
    principal: CalendarAdmin,
    request: Request,
    session: SessionDep,
    dry_run: Annotated[bool, Query(description="check the file, change nothing")] = False,
) -> dict:
    body = await request.body()
    if len(body) > MAX_SCHEDULE_BYTES:
        raise HTTPException(413, "日程文件过大 / the schedule file is too large")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HTTPException(422, "日程文件须为UTF-8 / the schedule must be UTF-8 text") from exc
    with committing(session):
        result = load_schedule(session, text, actor=principal.name, dry_run=dry_run)
    return asdict(result) | {"dry_run": dry_run}
