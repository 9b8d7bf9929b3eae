"""Hot spot endpoints: Gi* cells, DBSCAN clusters and emerging hot spot trends, as GeoJSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from gis.geo.display import for_display
from gis.hotspots.change import county_change_map
from gis.hotspots.cube import cube_bytes
from gis.hotspots.data import (
    DEFAULT_EPS_M,
    DEFAULT_MIN_POINTS,
    DEFAULT_MONTHS,
    InputKind,
    PointFilter,
    analyse_hotspots,
    analyse_lisa,
    compare_hotspots,
    dbscan_clusters,
    emerging_trends,
)
from gis.hotspots.errors import HotspotInputError
from gis.hotspots.periods import Step
from gis.hotspots.trends import MIN_STEPS
from gis.vocab import Category
from server.deps import SessionDep, SettingsDep, TodayDep
from server.security import Reader, forbid_out_of_scope

router = APIRouter(prefix="/api", tags=["hotspots"])

GEOJSON = "application/geo+json"
InputParam = Annotated[
    InputKind,
    Query(alias="input", description="problems, complaints, rebounds or overdue problems"),
]
SourceParam = Annotated[
    str | None,
    Query(description="problem source (for complaints: the channel, e.g. hotline_12345)"),
]
SinceParam = Annotated[date | None, Query(description="first local date (inclusive)")]
UntilParam = Annotated[date | None, Query(description="last local date (inclusive)")]
TownshipParam = Annotated[
    str | None,
    Query(pattern=r"^\d{12}$", description="12-digit township code, within the caller's own"),
]
CategoryParam = Annotated[
    Category | None, Query(description="category of the problems or complaints analysed")
]
CellParam = Annotated[
    float | None, Query(ge=10, le=50_000, description="cell size in metres (default: automatic)")
]
BandParam = Annotated[
    float | None,
    Query(ge=10, le=200_000, description="Gi* distance band in metres (default: automatic)"),
]
ShapeParam = Annotated[Literal["hex", "square"], Query(description="cell shape")]


def point_filter(
    principal: Reader,
    kind: InputParam = "problems",
    category: CategoryParam = None,
    source: SourceParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
    township: TownshipParam = None,
) -> PointFilter:
    """The incidents a request analyses, within the caller's townships."""
    if township:
        forbid_out_of_scope(principal, township)
    return PointFilter(
        kind=kind,
        categories=(category.value,) if category else None,
        sources=(source,) if source else None,
        since=since,
        until=until,
        township_codes=(township,) if township else None,
        scope=principal.townships,
    )


Incidents = Annotated[PointFilter, Depends(point_filter)]


def _respond(build: Callable[[], dict[str, Any]], crs: str) -> JSONResponse:
    """GeoJSON (shifted for a GCJ-02 basemap), or 422 with the bilingual reason."""
    try:
        collection = build()
    except HotspotInputError as exc:
        return JSONResponse(
            status_code=422, content={"detail": f"{exc.zh} / {exc.en}", "zh": exc.zh, "en": exc.en}
        )
    return JSONResponse(for_display(collection, crs), media_type=GEOJSON)


@router.get(
    "/hotspots.geojson",
    summary="Gi* hot and cold spots (FDR-corrected bins −3…3) of problems or complaints",
)
def hotspots(
    flt: Incidents,
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
    cell_m: CellParam = None,
    band_m: BandParam = None,
    shape: ShapeParam = "hex",
    area: Annotated[
        Literal["townships", "incidents"],
        Query(description="townships: empty cells in the boundaries count as zeros"),
    ] = "townships",
) -> JSONResponse:
    """Gi* cells with count, z, p, FDR bin and band_m, plus the explanations."""
    return _respond(
        lambda: analyse_hotspots(
            session, flt, today=today, cell_m=cell_m, band_m=band_m, shape=shape, area=area
        ).to_geojson(),
        settings.tile_crs,
    )


@router.get("/clusters.geojson", summary="DBSCAN clusters (PostGIS ST_ClusterDBSCAN, metres)")
def clusters(
    flt: Incidents,
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
    eps_m: Annotated[float, Query(gt=0, le=20_000, description="neighbourhood radius, m")] = (
        DEFAULT_EPS_M
    ),
    min_points: Annotated[int, Query(ge=1, le=1000, description="points for a core point")] = (
        DEFAULT_MIN_POINTS
    ),
) -> JSONResponse:
    """DBSCAN clusters of the filtered incidents, eps in metres."""
    return _respond(
        lambda: dbscan_clusters(
            session, flt, today=today, eps_m=eps_m, min_points=min_points
        ).to_geojson(),
        settings.tile_crs,
    )


@router.get(
    "/hotspots/trends.geojson",
    summary="Emerging hot spot category per cell over the last complete months, weeks or days",
)
def trends(
    flt: Incidents,
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
    months: Annotated[
        int, Query(ge=MIN_STEPS, le=400, description="number of complete time steps")
    ] = DEFAULT_MONTHS,
    step: Annotated[
        Step, Query(description="time step: month, ISO week or day (complete periods only)")
    ] = "month",
    cell_m: CellParam = None,
    band_m: BandParam = None,
    shape: ShapeParam = "hex",
) -> JSONResponse:
    """Emerging hot spot category per cell; the final step is the last complete period."""
    flt = replace(flt, since=None, until=None)  # the window: the last `months` complete steps
    return _respond(
        lambda: emerging_trends(
            session, flt, today=today, months=months, step=step, cell_m=cell_m, band_m=band_m,
            shape=shape,
        ).to_geojson(),
        settings.tile_crs,
    )


@router.get(
    "/hotspots/lisa.geojson",
    summary="Local Moran's I (LISA): high-high, low-low, high-low, low-high cells or townships",
)
def lisa(
    flt: Incidents,
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
    unit: Annotated[
        Literal["cells", "townships"],
        Query(description="cells: the Gi* grid and band; townships: queen contiguity"),
    ] = "cells",
    value: Annotated[
        Literal["count", "rate", "eb", "spatial_eb"],
        Query(description="count, crude rate, or empirical-Bayes smoothed rate"),
    ] = "count",
    denominator: Annotated[
        Literal["sites", "area"], Query(description="rate denominator: sites or km²")
    ] = "sites",
    cell_m: CellParam = None,
    band_m: BandParam = None,
    shape: ShapeParam = "hex",
    area: Annotated[
        Literal["townships", "incidents"],
        Query(description="cells: townships (empty cells count as zeros) or incidents only"),
    ] = "townships",
    permutations: Annotated[
        int, Query(ge=99, le=9999, description="conditional permutations")
    ] = 999,
    seed: Annotated[int | None, Query(ge=0, le=2**32 - 1, description="random seed")] = None,
    alpha: Annotated[float, Query(gt=0, le=0.2, description="significance level")] = 0.05,
    fdr: Annotated[bool, Query(description="Benjamini-Hochberg FDR correction")] = True,
) -> JSONResponse:
    """Per unit: I, p_sim, quadrant and cluster (HH, LL, HL, LH or ns), plus explanations."""
    return _respond(
        lambda: analyse_lisa(
            session, flt, today=today, unit=unit, value=value, denominator=denominator,
            cell_m=cell_m, band_m=band_m, shape=shape, area=area, permutations=permutations,
            seed=seed, alpha=alpha, fdr=fdr,
        ).to_geojson(),
        settings.tile_crs,
    )


@router.get(
    "/hotspots/trends.nc",
    summary="The emerging hot spot space-time cube as netCDF (counts, Gi* per bin, trends)",
    response_class=Response,
)
def trends_cube(
    flt: Incidents,
    session: SessionDep,
    today: TodayDep,
    months: Annotated[
        int, Query(ge=MIN_STEPS, le=400, description="number of complete time steps")
    ] = DEFAULT_MONTHS,
    step: Annotated[
        Step, Query(description="time step: month, ISO week or day (complete periods only)")
    ] = "month",
    cell_m: CellParam = None,
    band_m: BandParam = None,
    shape: ShapeParam = "hex",
) -> Response:
    """The cube of the trends endpoint as a netCDF-4 file that xarray, GDAL and QGIS open."""
    flt = replace(flt, since=None, until=None)
    try:
        run = emerging_trends(
            session, flt, today=today, months=months, step=step, cell_m=cell_m,
            band_m=band_m, shape=shape,
        )
    except HotspotInputError as exc:
        return JSONResponse(
            status_code=422, content={"detail": f"{exc.zh} / {exc.en}", "zh": exc.zh, "en": exc.en}
        )
    name = f"lookback-cube-{run.window.step}-{run.steps[-1]}.nc"
    return Response(
        cube_bytes(run.to_cube()),
        media_type="application/x-netcdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/hotspots/compare.geojson",
    summary="Gi* of this period against the last, or of one category against another",
)
def compare(
    flt: Incidents,
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
    by: Annotated[
        Literal["period", "category"],
        Query(description="period: the last complete period(s) against the ones before"),
    ] = "period",
    months: Annotated[
        int, Query(ge=1, le=60, description="period: steps per side (complete periods)")
    ] = 1,
    step: Annotated[Step, Query(description="period: month, ISO week or day")] = "month",
    a: Annotated[Category | None, Query(description="category: side A")] = None,
    b: Annotated[Category | None, Query(description="category: side B")] = None,
    cell_m: CellParam = None,
    band_m: BandParam = None,
    shape: ShapeParam = "hex",
) -> JSONResponse:
    """Per cell: count, z and FDR bin of A and of B, and the change (became hot, cooled, …)."""
    cats = (a.value, b.value) if a is not None and b is not None else None
    if by == "period":
        flt = replace(flt, since=None, until=None)
    else:
        flt = replace(flt, categories=None)
    return _respond(
        lambda: compare_hotspots(
            session, flt, today=today, by=by, months=months, step=step, categories=cats,
            cell_m=cell_m, band_m=band_m, shape=shape,
        ).to_geojson(),
        settings.tile_crs,
    )


@router.get(
    "/hotspots/change.geojson",
    summary="Hot spots this period against the last, or one category against another, by cell",
)
def change(
    flt: Incidents,
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
    period: Annotated[
        Step,
        Query(
            description="the last complete month (ISO week, day) against the one before it; "
            "the unfinished current one never counts"
        ),
    ] = "month",
    versus: Annotated[
        Category | None,
        Query(
            description="compare `category` (A) with this category (B) instead of two periods, "
            "over `since`…`until` (all records when not given)"
        ),
    ] = None,
) -> JSONResponse:
    """The county's Gi* hot spots of the last complete period against the period before it,
    or of `category` against `versus`, on one county-wide grid and distance band.

    The analysis is always the county's (the township report's comparison, the same function);
    `township`, or the caller's own townships, choose which cells come back: those whose centre
    lies in them. Each cell has both sides' `count_a`/`count_b`, `z_a`/`z_b`, FDR bins
    `bin_a`/`bin_b`, `class_a`/`class_b` (`hot`, `cold` or `none`) with `confidence_a`/
    `confidence_b` (90, 95 or 99 %, 0 when not significant), and `change` with `change_zh` and
    `change_en`: for periods `became_hot`, `stayed_hot`, `cooled`, `became_cold`, `stayed_cold`,
    `warmed` or `unchanged`; for categories `hot_both`, `hot_a_only`, `hot_b_only` or
    `hot_neither`. Top level: `by`, `a` and `b` (the two periods, e.g. `2026-09` and `2026-10`,
    or the two categories), `period` (`a_start`, `a_end`, `b_start`, `b_end`, `excluded`: the
    unfinished current period) or `dates` and `categories`, `tally` and `legend` (each class's
    colour, Chinese and English name) for the cells returned, and the `explanations`. Too few
    incidents: 422 with the reason in Chinese and English.
    """
    return _respond(
        lambda: county_change_map(
            session, flt, today=today, step=period, versus=versus.value if versus else None
        ).to_geojson(flt.area_townships()),
        settings.tile_crs,
    )
