"""GeoJSON of the ledger's layers (township boundaries, problems)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from gis.geo.townships import townships_geojson
from gis.ledger.query import ProblemQuery, problems_feature_collection
from gis.vocab import Category
from server.deps import SessionDep, TodayDep
from server.security import Reader

router = APIRouter(prefix="/api", tags=["layers"])

GEOJSON = "application/geo+json"


@router.get("/townships.geojson", summary="Township boundaries")
def townships(_: Reader, session: SessionDep) -> JSONResponse:
    return JSONResponse(townships_geojson(session), media_type=GEOJSON)


@router.get("/problems.geojson", summary="Problems with their derived overdue and warning")
def problems(
    principal: Reader,
    session: SessionDep,
    today: TodayDep,
    township: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    category: Category | None = None,
    map_class: Literal["closed", "open", "overdue", "rebounded"] | None = None,
) -> JSONResponse:
    where = ProblemQuery(
        township_codes=(township,) if township else None,
        categories=(category.value,) if category else None,
        map_class=map_class,
        scope=principal.townships,
    )
    return JSONResponse(
        problems_feature_collection(session, today=today, where=where), media_type=GEOJSON
    )
