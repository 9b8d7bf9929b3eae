"""The command-centre wall: its page and the small JSON endpoints it refreshes from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response

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


def _etagged(request: Request, content: object) -> Response:
    """JSON with a strong ETag of its bytes; 304 and no body when the client holds that version.

    The wall refreshes the same views every few seconds: an unchanged view ships nothing.
    """
    body = json.dumps(
        jsonable_encoder(content), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    sent = request.headers.get("if-none-match", "")
    if etag in {tag.strip() for tag in sent.split(",")} or sent.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/api/wall/problems",
    summary="Problems for the view: bubbles or points by zoom",
    response_class=JSONResponse,
    responses={304: {"description": "unchanged since the ETag sent in If-None-Match"}},
)
def wall_problems(
    request: Request,
    principal: Reader,
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
    zoom: Annotated[int, Query(ge=0, le=22)] = 10,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    category: Category | None = None,
    source: Source | None = None,
    township: TownshipParam = None,
) -> Response:
    query = _query(category, source, township, bbox, principal.townships)
    data = problems_for_view(session, today=today, zoom=zoom, query=query)
    return _etagged(request, for_display(data, settings.tile_crs))


@router.get(
    "/api/wall/summary",
    summary="County counts, township ranking and choropleth, ticker",
    response_class=JSONResponse,
    responses={304: {"description": "unchanged since the ETag sent in If-None-Match"}},
)
def wall_summary(
    request: Request,
    principal: Reader,
    session: SessionDep,
    today: TodayDep,
    category: Category | None = None,
    source: Source | None = None,
    township: TownshipParam = None,
    ticker_size: Annotated[int, Query(ge=1, le=50)] = 12,
) -> Response:
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
    return _etagged(request, {
        "today": today.isoformat(),
        "counts": counts,
        "choropleth": choropleth,
        "ranking": [asdict(s) for s in scores],
        "ticker": ticker(session, limit=ticker_size, township_codes=towns),
    })


@router.get(
    "/api/wall/complaints-heat",
    summary="Complaint heat points [lat, lon, weight]",
    response_class=JSONResponse,
    responses={304: {"description": "unchanged since the ETag sent in If-None-Match"}},
)
def wall_heat(
    request: Request,
    principal: Reader,
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
    days: Annotated[int, Query(ge=1, le=3650)] = 90,
    township: TownshipParam = None,
) -> Response:
    if township:
        forbid_out_of_scope(principal, township)
    towns = (township,) if township else principal.townships
    points = complaint_heat(session, today=today, days=days, township_codes=towns)
    return _etagged(request, heat_for_display(points, settings.tile_crs))
