"""The command-centre wall: its page and the small JSON endpoints it refreshes from."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from gis.geo.display import for_display, heat_for_display
from gis.ledger import records
from gis.ledger.counts import ledger_counts
from gis.ledger.query import ProblemQuery
from gis.ledger.scorecard import township_scorecard
from gis.maps.classify import classify
from gis.maps.live import complaint_heat, problems_for_view, ticker
from gis.vocab import Category, Source
from layers.county_map import render_page
from layers.wall import wall_map
from server.deps import SessionDep, SettingsDep, TodayDep
from server.routes.problems import parse_bbox
from server.security import Reader, forbid_out_of_scope, html_page

router = APIRouter(tags=["wall"])
TownshipParam = Annotated[str | None, Query(pattern=r"^\d{12}$")]


def _query(
    category: Category | None,
    source: Source | None,
    township: str | None,
    bbox: str | None = None,
    scope: tuple[str, ...] | None = None,
) -> ProblemQuery:
    return ProblemQuery(
        categories=(category.value,) if category else None,
        sources=(source.value,) if source else None,
        township_codes=(township,) if township else None,
        bbox=parse_bbox(bbox),
        scope=scope,
    )


@router.get("/wall", response_class=HTMLResponse, summary="Command-centre wall map (挂图作战)")
def wall_page(
    request: Request,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    refresh: Annotated[int, Query(ge=2, le=3600, description="refresh interval, s")] = 15,
) -> HTMLResponse:
    towns = principal.townships
    only = towns[0] if towns and len(towns) == 1 else None
    fmap = wall_map(
        session,
        settings=settings,
        refresh_s=refresh,
        township_code=only,
        title="环保督察整改 挂图作战 Command centre",
    )
    return html_page(request, render_page(fmap, nonce=request.state.csp_nonce))


@router.get(
    "/map/township/{code}",
    response_class=HTMLResponse,
    summary="The wall for one township, zoomed to it",
)
def township_wall(
    request: Request,
    principal: Reader,
    code: str,
    session: SessionDep,
    settings: SettingsDep,
    refresh: Annotated[int, Query(ge=2, le=3600)] = 15,
) -> HTMLResponse:
    forbid_out_of_scope(principal, code)
    name = records.township_name(session, code)
    fmap = wall_map(
        session,
        settings=settings,
        refresh_s=refresh,
        township_code=code,
        title=f"{name} 整改挂图 Township wall",
    )
    return html_page(request, render_page(fmap, nonce=request.state.csp_nonce))


@router.get("/api/wall/problems", summary="Problems for the view: bubbles or points by zoom")
def wall_problems(
    principal: Reader,
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
    zoom: Annotated[int, Query(ge=0, le=22)] = 10,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    category: Category | None = None,
    source: Source | None = None,
    township: TownshipParam = None,
) -> dict:
    query = _query(category, source, township, bbox, principal.townships)
    data = problems_for_view(session, today=today, zoom=zoom, query=query)
    return for_display(data, settings.tile_crs)


@router.get("/api/wall/summary", summary="County counts, township ranking and choropleth, ticker")
def wall_summary(
    principal: Reader,
    session: SessionDep,
    today: TodayDep,
    category: Category | None = None,
    source: Source | None = None,
    township: TownshipParam = None,
    ticker_size: Annotated[int, Query(ge=1, le=50)] = 12,
) -> dict:
    scope = principal.townships
    if township:
        forbid_out_of_scope(principal, township)
    where = _query(category, source, township, scope=scope)
    counts = ledger_counts(session, today=today, query=where)
    scores = sorted(
        township_scorecard(
            session, today=today, query=_query(category, source, None), scope=scope
        ),
        key=lambda s: s.rank,
    )
    classes = classify([s.overdue for s in scores])
    choropleth = {
        "metric": "overdue",
        "method": classes.method,
        "bins": classes.bins,
        "colours": classes.colours,
        "classes": {s.code: classes.index[i] for i, s in enumerate(scores)},
    }
    towns = (township,) if township else scope
    return {
        "today": today.isoformat(),
        "counts": counts,
        "choropleth": choropleth,
        "ranking": [asdict(s) for s in scores],
        "ticker": ticker(session, limit=ticker_size, township_codes=towns),
    }


@router.get("/api/wall/complaints-heat", summary="Complaint heat points [lat, lon, weight]")
def wall_heat(
    principal: Reader,
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
    days: Annotated[int, Query(ge=1, le=3650)] = 90,
    township: TownshipParam = None,
) -> list[list[float]]:
    if township:
        forbid_out_of_scope(principal, township)
    towns = (township,) if township else principal.townships
    points = complaint_heat(session, today=today, days=days, township_codes=towns)
    return heat_for_display(points, settings.tile_crs)
