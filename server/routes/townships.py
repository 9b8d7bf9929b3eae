"""Townships, their scorecard (排名) and the sites list."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select, text

from gis.db.models import Site
from gis.ledger.query import ProblemQuery
from gis.ledger.scorecard import township_scorecard
from server.deps import SessionDep, TodayDep
from server.security import Reader

router = APIRouter(prefix="/api")


@router.get("/townships", tags=["townships"], summary="Townships (codes and names)")
def townships_list(_: Reader, session: SessionDep) -> list[dict]:
    rows = session.execute(text("SELECT code, name FROM townships ORDER BY code")).mappings()
    return [dict(r) for r in rows]


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
def sites_list(_: Reader, session: SessionDep, kind: str | None = None) -> list[dict]:
    stmt = select(Site.id, Site.kind, Site.name, Site.zone_level, Site.township_code)
    if kind:
        stmt = stmt.where(Site.kind == kind)
    return [dict(r._mapping) for r in session.execute(stmt.order_by(Site.id))]
