"""Townships, their scorecard (排名) and the sites list."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from gis.ledger import records
from gis.ledger.query import ProblemQuery
from gis.ledger.scorecard import township_scorecard
from server.deps import SessionDep, TodayDep
from server.security import Reader

router = APIRouter(prefix="/api")


@router.get("/townships", tags=["townships"], summary="Townships (codes and names)")
def townships_list(_: Reader, session: SessionDep) -> list[dict]:
    return records.list_townships(session)


@router.get(
    "/townships/summary",
    tags=["townships"],
    summary="Township scorecard: counts, rates and rank, optionally as of a past day",
)
def townships_summary(
    principal: Reader,
    session: SessionDep,
    today: TodayDep,
    as_of: Annotated[date | None, Query(description="the scorecard as it stood that day")] = None,
    period_start: Annotated[date | None, Query(description="start of 'closed this period'")] = None,
) -> dict:
    scores = township_scorecard(
        session,
        today=today,
        period_start=period_start,
        query=ProblemQuery(as_of=as_of),
        scope=principal.townships,
    )
    return {
        "as_of": (as_of or today).isoformat(),
        "townships": [asdict(s) for s in sorted(scores, key=lambda s: s.rank)],
    }


@router.get("/sites", tags=["sites"], summary="Sites by kind")
def sites_list(principal: Reader, session: SessionDep, kind: str | None = None) -> list[dict]:
    return records.list_sites(session, kind=kind, scope=principal.townships)
