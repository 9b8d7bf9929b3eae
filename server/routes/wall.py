"""The command-centre wall: its page and the small JSON endpoints it refreshes from."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import text

from gis.classify import classify
from gis.display import for_display, heat_for_display
from gis.mapdata import complaint_heat, problems_for_view, ticker
from gis.problems import ProblemQuery, map_class_counts
from gis.scorecard import township_scorecard
from gis.vocab import Category, Source
from layers.county_map import render_page
from layers.wall import wall_map
from server.deps import SessionDep, SettingsDep, TodayDep
from server.routes.problems import parse_bbox

router = APIRouter(tags=["wall"])
TownshipParam = Annotated[str | None, Query(pattern=r"^\d{12}$")]


def _query(
    category: Category | None, source: Source | None, township: str | None, bbox: str | None = None
) -> ProblemQuery:
    return ProblemQuery(
        categories=(category.value,) if category else None,
        sources=(source.value,) if source else None,
        township_codes=(township,) if township else None,
        bbox=parse_bbox(bbox),
    )


def _township_name(session, code: str) -> str:  # type: ignore[no-untyped-def]
    name = session.execute(text("SELECT name FROM townships WHERE code = :c"), {"c": code})
    found = name.scalar()
    if found is None:
        raise HTTPException(404, f"no township with code {code}")
    return found


@router.get("/wall", response_class=HTMLResponse, summary="Command-centre wall map (挂图作战)")
def wall_page(
    session: SessionDep,
    settings: SettingsDep,
    refresh: Annotated[int, Query(ge=2, le=3600, description="refresh interval, s")] = 15,
) -> HTMLResponse:
    fmap = wall_map(
        session, settings=settings, refresh_s=refresh, title="环保督察整改 挂图作战 Command centre"
    )
    return HTMLResponse(render_page(fmap))


@router.get(
    "/map/township/{code}",
    response_class=HTMLResponse,
    summary="The wall for one township, zoomed to it",
)
def township_wall(
    code: str,
    session: SessionDep,
    settings: SettingsDep,
    refresh: Annotated[int, Query(ge=2, le=3600)] = 15,
) -> HTMLResponse:
    name = _township_name(session, code)
    fmap = wall_map(
        session,
        settings=settings,
        refresh_s=refresh,
        township_code=code,
        title=f"{name} 整改挂图 Township wall",
    )
    return HTMLResponse(render_page(fmap))


@router.get("/api/wall/problems", summary="Problems for the view: bubbles or points by zoom")
def wall_problems(
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
    zoom: Annotated[int, Query(ge=0, le=22)] = 10,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    category: Category | None = None,
    source: Source | None = None,
    township: TownshipParam = None,
) -> dict:
    data = problems_for_view(
        session, today=today, zoom=zoom, query=_query(category, source, township, bbox)
    )
    return for_display(data, settings.tile_crs)


@router.get("/api/wall/summary", summary="County counts, township ranking and choropleth, ticker")
def wall_summary(
    session: SessionDep,
    today: TodayDep,
    category: Category | None = None,
    source: Source | None = None,
    township: TownshipParam = None,
    ticker_size: Annotated[int, Query(ge=1, le=50)] = 12,
) -> dict:
    query = _query(category, source, township)
    counts = map_class_counts(session, today=today, where=query)
    scores = sorted(
        township_scorecard(session, today=today, query=_query(category, source, None)),
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
    towns = (township,) if township else None
    return {
        "today": today.isoformat(),
        "counts": counts,
        "choropleth": choropleth,
        "ranking": [asdict(s) for s in scores],
        "ticker": ticker(session, limit=ticker_size, township_codes=towns),
    }


@router.get("/api/wall/complaints-heat", summary="Complaint heat points [lat, lon, weight]")
def wall_heat(
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
    days: Annotated[int, Query(ge=1, le=3650)] = 90,
    township: TownshipParam = None,
) -> list[list[float]]:
    points = complaint_heat(
        session, today=today, days=days, township_codes=(township,) if township else None
    )
    return heat_for_display(points, settings.tile_crs)
