"""Hot spots from the ledger: incident points by kind and filter, Gi* maps, DBSCAN, trends.

The statistics live in :mod:`gis.hotspots` (pure numpy); this module feeds them from PostGIS.

* **Points** (:func:`load_points`): problems, complaints, rebounds (problems with
  ``rebound_count > 0``) or overdue problems, filtered by category, source (for complaints: the
  channel), period (``since``/``until``, local dates, on ``reported_at`` or ``received_at``)
  and township. Problem filters go through :class:`gis.ledger.query.ProblemQuery`, the one WHERE
  builder. A line or polygon counts at its ``ST_PointOnSurface``.
* **Hot spots** (:func:`analyse_hotspots`): Optimized-Hot-Spot-style Gi* with FDR. The study
  area is the union of the township boundaries (of the filtered townships, if any), so empty
  cells inside the county count as zeros; ``area="incidents"`` analyses occupied cells only.
* **Clusters** (:func:`dbscan_clusters`): ``ST_ClusterDBSCAN`` in PostGIS on the points in
  their CGCS2000 Gauss-Krüger zone (metres), ``OVER (ORDER BY id)`` so that border points and
  cluster numbers come out the same on every call.
* **Trends** (:func:`emerging_trends`): space-time cube over the last N *complete* months,
  weeks or days (the unfinished current period is left out) and Esri's emerging hot spot
  categories per cell.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any, Literal, get_args

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import mapping
from shapely.geometry import shape as geojson_shape
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import vocab
from gis.config import get_settings
from gis.hotspots import HotspotResult, hotspots_from_points
from gis.hotspots.compare import (
    CHANGES,
    SideGi,
    change_class,
    counts_on_cells,
    gi_on_cells,
    versus_class,
    versus_labels,
)
from gis.hotspots.cube import CubeData
from gis.hotspots.errors import Explanation, HotspotInputError
from gis.hotspots.gistar import fdr_bins, gi_star_on_pairs
from gis.hotspots.grid import (
    Grid,
    Shape,
    gk_epsg_for_lon,
    project_lonlat,
    transform_geometries,
    unproject_xy,
)
from gis.hotspots.lisa import (
    DEFAULT_ALPHA,
    DEFAULT_PERMUTATIONS,
    LisaMap,
    contiguity_neighbours,
    distance_band_neighbours,
    lisa_explanation,
    lisa_on_cells,
    local_moran,
)
from gis.hotspots.periods import (
    STEP_WORDS,
    Step,
    Window,
    complete_window,
    period_end,
    period_label,
    period_start,
    step_indices,
)
from gis.hotspots.rates import RATE_METHODS, RateMethod, rate_values
from gis.hotspots.trends import (
    CATEGORIES,
    MIN_STEPS,
    EmergingResult,
    emerging_hotspots,
    space_time_cube,
)
from gis.ledger.query import ProblemQuery, end_of_day
from gis.palette import HOTSPOT_BINS

InputKind = Literal["problems", "complaints", "rebounds", "overdue"]
StudyArea = Literal["townships", "incidents"]
INPUT_KINDS: tuple[str, ...] = get_args(InputKind)
KIND_LABELS: dict[str, tuple[str, str]] = {
    "problems": ("整改问题", "problems"),
    "complaints": ("信访件", "complaints"),
    "rebounds": ("反弹问题", "rebounded problems"),
    "overdue": ("逾期问题", "overdue problems"),
}
# Gi_Bin → (colour, Chinese label, English label), from the product's one palette.
BIN_STYLE: dict[int, tuple[str, str, str]] = HOTSPOT_BINS
DEFAULT_EPS_M = 500.0
DEFAULT_MIN_POINTS = 4
DEFAULT_MONTHS = 12
MAX_DBSCAN_POINTS = 200_000


@dataclass(frozen=True)
class PointFilter:
    """Which incidents feed an analysis: the kind and the ledger filters."""

    kind: InputKind = "problems"
    categories: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    since: date | None = None
    until: date | None = None
    township_codes: tuple[str, ...] | None = None
    scope: tuple[str, ...] | None = None  # the caller's townships; None: all

    def area_townships(self) -> tuple[str, ...] | None:
        """Townships whose boundaries make the study area (filter within scope; None: all)."""
        if self.scope is None:
            return self.township_codes
        if self.township_codes is None:
            return self.scope
        return tuple(c for c in self.township_codes if c in self.scope)

    def validated(self) -> PointFilter:
        """This filter, or a bilingual :class:`HotspotInputError` naming the bad value."""
        if self.kind not in INPUT_KINDS:
            raise HotspotInputError(
                f"未知的输入类型 {self.kind!r}，应为 {'、'.join(INPUT_KINDS)}。",
                f"Unknown input kind {self.kind!r}; use one of {', '.join(INPUT_KINDS)}.",
            )
        _check_values("类别", "category", self.categories, vocab.values(vocab.Category))
        allowed = vocab.ComplaintChannel if self.kind == "complaints" else vocab.Source
        _check_values("来源", "source", self.sources, vocab.values(allowed))
        if self.since and self.until and self.since > self.until:
            raise HotspotInputError(
                "起始日期晚于截止日期。", "The start date (since) is after the end date (until)."
            )
        return self

    def describe(self) -> tuple[str, str]:
        """The filter in words, Chinese and English."""
        zh, en = KIND_LABELS[self.kind]
        parts_zh, parts_en = [zh], [en]
        if self.categories:
            parts_zh.append("类别 " + "、".join(self.categories))
            parts_en.append("category " + ", ".join(self.categories))
        if self.sources:
            parts_zh.append("来源 " + "、".join(self.sources))
            parts_en.append("source " + ", ".join(self.sources))
        if self.since or self.until:
            span = f"{self.since or '…'} – {self.until or '…'}"
            parts_zh.append(f"时段 {span}")
            parts_en.append(f"period {span}")
        if self.township_codes:
            parts_zh.append("乡镇 " + "、".join(self.township_codes))
            parts_en.append("township " + ", ".join(self.township_codes))
        return "，".join(parts_zh), ", ".join(parts_en)


def _check_values(zh: str, en: str, given: tuple[str, ...] | None, allowed: list[str]) -> None:
    """Refuse values outside a vocabulary, naming them in both languages."""
    bad = [v for v in given or () if v not in allowed]
    if bad:
        raise HotspotInputError(
            f"未知的{zh}：{'、'.join(bad)}。可选：{'、'.join(allowed)}。",
            f"Unknown {en}: {', '.join(bad)}. Allowed: {', '.join(allowed)}.",
        )


@dataclass(frozen=True)
class IncidentPoints:
    """Incident points (EPSG:4326 lon/lat) with their database ids, codes and local month."""

    ids: NDArray[np.int64]
    codes: list[str]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    month: NDArray[np.int64]  # local calendar month as year·12 + month − 1
    day: NDArray[np.int64]  # local date as days since 1970-01-01

    def __len__(self) -> int:
        """Number of points."""
        return int(self.ids.size)


def month_index(day: date) -> int:
    """The calendar month of ``day`` as one integer, year·12 + month − 1."""
    return day.year * 12 + day.month - 1


def month_label(index: int) -> str:
    """``"YYYY-MM"`` of a :func:`month_index`."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _start_of_day(day: date) -> datetime:
    """The first instant of ``day`` in the configured time zone."""
    return datetime.combine(day, time(0), tzinfo=get_settings().zone)


def points_sql(flt: PointFilter) -> tuple[str, dict[str, Any]]:
    """SQL selecting ``id, code, g`` (EPSG:4490 point), local ``month`` and ``day`` (number)."""
    flt = flt.validated()
    params: dict[str, Any] = {"tz": get_settings().timezone}
    if flt.kind == "complaints":
        clauses, column = ["c.geom IS NOT NULL"], "c.received_at"
        for col, key, values in (
            ("category", "f_categories", flt.categories),
            ("channel", "f_sources", flt.sources),
            ("township_code", "f_townships", flt.township_codes),
        ):
            if values:
                clauses.append(f"c.{col} = ANY(:{key})")
                params[key] = list(values)
        if flt.scope is not None:
            clauses.append("c.township_code = ANY(:f_scope)")
            params["f_scope"] = list(flt.scope)
        source, alias, geom = "complaints c", "c", "c.geom"
    else:
        query = ProblemQuery(
            categories=flt.categories,
            sources=flt.sources,
            township_codes=flt.township_codes,
            overdue=True if flt.kind == "overdue" else None,
            scope=flt.scope,
        )
        where, qparams = query.where("p")
        src, sparams = query.source()
        params.update(qparams, **sparams)
        clauses, column = ["p.geom IS NOT NULL", where], "p.reported_at"
        if flt.kind == "rebounds":
            clauses.append("p.rebound_count > 0")
        source, alias, geom = src, "p", "p.geom"
    if flt.since:
        clauses.append(f"{column} >= :f_since")
        params["f_since"] = _start_of_day(flt.since)
    if flt.until:
        clauses.append(f"{column} < :f_until")
        params["f_until"] = end_of_day(flt.until)
    local = f"({column} AT TIME ZONE :tz)"
    sql = f"""
        SELECT {alias}.id AS id, {alias}.code AS code,
               ST_PointOnSurface({geom}) AS g,
               (EXTRACT(YEAR FROM {local})::int * 12 + EXTRACT(MONTH FROM {local})::int - 1)
                   AS month,
               (({local})::date - DATE '1970-01-01') AS day
        FROM {source} WHERE {" AND ".join(clauses)}
    """
    return sql, params


def load_points(session: Session, flt: PointFilter, *, today: date) -> IncidentPoints:
    """The filtered incidents as arrays, ordered by id."""
    sql, params = points_sql(flt)
    rows = session.execute(
        text(f"SELECT id, code, ST_X(g), ST_Y(g), month, day FROM ({sql}) q ORDER BY id"),
        {"today": today, **params},
    ).all()
    if not rows:
        empty, none = np.zeros(0), np.zeros(0, np.int64)
        return IncidentPoints(none, [], empty, empty, none, none)
    ids, codes, lon, lat, month, day = zip(*rows, strict=True)
    return IncidentPoints(
        np.asarray(ids, dtype=np.int64),
        [str(c) for c in codes],
        np.asarray(lon, dtype=float),
        np.asarray(lat, dtype=float),
        np.asarray(month, dtype=np.int64),
        np.asarray(day, dtype=np.int64),
    )


def study_area(session: Session, township_codes: tuple[str, ...] | None = None) -> dict | None:
    """Union of the township boundaries (or of the given townships) as GeoJSON, or None."""
    where = "WHERE code = ANY(:codes)" if township_codes is not None else ""
    found = session.execute(
        text(f"SELECT ST_AsGeoJSON(ST_UnaryUnion(ST_Collect(geom)), 7) FROM townships {where}"),
        {"codes": list(township_codes or ())},
    ).scalar()
    return json.loads(found) if found else None


def explanation_dict(e: Explanation) -> dict[str, Any]:
    """An explanation as plain JSON (numpy numbers turned into Python ones)."""
    return {"key": e.key, "zh": e.zh, "en": e.en, "value": _plain(e.value)}


def _plain(v: Any) -> Any:
    """A JSON-safe Python scalar (numpy scalars unwrapped, non-finite floats as None)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _filter_explanation(flt: PointFilter, n: int) -> Explanation:
    """The input and its filters as the first explanation."""
    zh, en = flt.describe()
    return Explanation(
        "input", f"输入：{zh}，共 {n} 个有位置的记录。", f"Input: {en}; {n} with a location.", n
    )


@dataclass(frozen=True)
class HotspotRun:
    """One hot spot analysis of ledger incidents: the input, the study area and the result."""

    filter: PointFilter
    points: IncidentPoints
    boundary: dict | None
    result: HotspotResult

    def to_geojson(self) -> dict[str, Any]:
        """The cells as a FeatureCollection with the explanations and settings at top level."""
        return hotspot_collection(self.result, kind=self.filter.kind)


def analyse_hotspots(
    session: Session,
    flt: PointFilter,
    *,
    today: date,
    cell_m: float | None = None,
    band_m: float | None = None,
    shape: Shape = "hex",
    area: StudyArea = "townships",
) -> HotspotRun:
    """Gi* hot spots of the filtered incidents; :class:`HotspotInputError` when too few."""
    points = load_points(session, flt, today=today)
    towns = flt.area_townships()
    boundary = study_area(session, towns) if area == "townships" else None
    if area == "townships" and boundary is None:
        area_note = Explanation(
            "study_area",
            "数据库中没有乡镇边界，只分析有事件的格网。",
            "No township boundaries in the database; only cells holding incidents are analysed.",
        )
    elif boundary is not None:
        area_note = Explanation(
            "study_area",
            "研究区为" + ("所选乡镇" if towns is not None else "全县各乡镇") + "边界的并集。",
            "The study area is the union of the "
            + ("selected townships'" if towns is not None else "county's township")
            + " boundaries.",
        )
    else:
        area_note = Explanation(
            "study_area",
            "未使用研究区边界，只分析有事件的格网。",
            "No study-area boundary: only cells holding incidents are analysed.",
        )
    result = hotspots_from_points(
        points.lon, points.lat, cell_m=cell_m, band_m=band_m, shape=shape, boundary=boundary
    )
    notes = [_filter_explanation(flt, len(points)), area_note]
    result = replace(result, explanations=notes + list(result.explanations))
    return HotspotRun(flt, points, boundary, result)


def hotspot_collection(result: HotspotResult, *, kind: str | None = None) -> dict[str, Any]:
    """A FeatureCollection of the cells (count, z, p, bin, band_m) with the run's settings."""
    fc = result.to_geojson()
    fc.update(
        input=kind,
        n_points=result.n_points,
        n_used=result.n_used,
        cell_m=result.cell_m,
        band_m=result.band_m,
        band_method=result.band_method,
        band_curve=result.band_curve,
        shape=result.shape,
        epsg=result.epsg,
        summary={str(k): v for k, v in result.summary().items()},
        legend=[
            {"bin": b, "colour": c, "zh": zh, "en": en} for b, (c, zh, en) in BIN_STYLE.items()
        ],
        explanations=[explanation_dict(e) for e in result.explanations],
    )
    return fc


# ------------------------------------------------------------------------------------------
# DBSCAN in PostGIS
# ------------------------------------------------------------------------------------------


def _dbscan_sql(points: str) -> str:
    """Cluster numbers for a ``points`` subquery with columns id, code, g (EPSG:4490 points)."""
    return f"""
        SELECT id, code, ST_X(g) AS lon, ST_Y(g) AS lat,
               ST_ClusterDBSCAN(ST_Transform(g, CAST(:epsg AS integer)),
                                eps => :eps, minpoints => :minpoints)
                   OVER (ORDER BY id) AS cluster
        FROM ({points}) q ORDER BY id
    """


@dataclass(frozen=True)
class Clusters:
    """DBSCAN labels per point (−1 for noise), with the parameters and the metric CRS."""

    ids: NDArray[np.int64]
    codes: list[str]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    label: NDArray[np.int64]
    eps_m: float
    min_points: int
    epsg: int

    @property
    def n_clusters(self) -> int:
        """How many clusters were found."""
        return int(np.unique(self.label[self.label >= 0]).size)

    def members(self) -> list[NDArray[np.int64]]:
        """Row indices of each cluster's points (in input order), cluster-number order; O(n)."""
        label = np.asarray(self.label)
        rows = np.flatnonzero(label >= 0)
        if rows.size == 0:
            return []
        labs = label[rows]
        order = np.argsort(labs, kind="stable")  # stable: members stay in input (id) order
        rows, labs = rows[order], labs[order]
        cuts = np.flatnonzero(np.diff(labs)) + 1
        return list(np.split(rows, cuts))

    def groups(self) -> list[frozenset[int]]:
        """The clusters as sets of point ids, in cluster-number order."""
        return [frozenset(self.ids[m].tolist()) for m in self.members()]

    def explanations(self) -> list[Explanation]:
        """The parameters and the outcome in Chinese and English."""
        noise = int((self.label < 0).sum())
        return [
            Explanation(
                "dbscan",
                f"DBSCAN 聚类（PostGIS ST_ClusterDBSCAN）：邻域半径 {self.eps_m:g} 米，"
                f"核心点最少 {self.min_points} 个点（含自身），在 EPSG:{self.epsg} 高斯-克吕格"
                "投影下按米计算；按记录编号排序，结果可重复。",
                f"DBSCAN clustering (PostGIS ST_ClusterDBSCAN): eps {self.eps_m:g} m, at least "
                f"{self.min_points} points (itself included) for a core point, distances in "
                f"metres in the Gauss-Krüger zone EPSG:{self.epsg}; ordered by id so results "
                "repeat.",
                self.eps_m,
            ),
            Explanation(
                "clusters",
                f"共 {len(self.ids)} 个点，形成 {self.n_clusters} 个聚类，{noise} 个为噪声点。",
                f"{len(self.ids)} points form {self.n_clusters} cluster(s); {noise} are noise.",
                self.n_clusters,
            ),
        ]

    def to_geojson(self) -> dict[str, Any]:
        """One feature per cluster: the convex hull of its members, with count and codes."""
        # One stable sort groups the points by cluster: O(n log n) once instead of a pass over
        # all n points for each of the K clusters.
        features = []
        codes_all = self.codes
        for member in self.members():
            k = int(self.label[member[0]])
            pts = shapely.multipoints(np.column_stack([self.lon[member], self.lat[member]]))
            hull = shapely.convex_hull(pts)
            codes = [codes_all[i] for i in member.tolist()]
            features.append(
                {
                    "type": "Feature",
                    "id": f"cluster:{k}",
                    "geometry": _rounded(mapping(hull)),
                    "properties": {
                        "cluster": k,
                        "count": int(member.size),
                        "codes": codes,
                        "eps_m": self.eps_m,
                        "min_points": self.min_points,
                    },
                }
            )
        return {
            "type": "FeatureCollection",
            "features": features,
            "n_points": int(self.ids.size),
            "n_clusters": self.n_clusters,
            "n_noise": int((self.label < 0).sum()),
            "eps_m": self.eps_m,
            "min_points": self.min_points,
            "epsg": self.epsg,
            "explanations": [explanation_dict(e) for e in self.explanations()],
        }


def _rounded(geometry: dict[str, Any], digits: int = 7) -> dict[str, Any]:
    """A GeoJSON Point, LineString or Polygon with coordinates rounded to ``digits``."""
    coords = np.round(np.asarray(shapely.get_coordinates(geojson_shape(geometry))), digits)
    out = json.loads(json.dumps(geometry))
    if geometry["type"] == "Point":
        out["coordinates"] = coords[0].tolist()
    elif geometry["type"] == "LineString":
        out["coordinates"] = coords.tolist()
    elif geometry["type"] == "Polygon":
        out["coordinates"] = [coords.tolist()]
    return out


def _check_dbscan(eps_m: float, min_points: int) -> None:
    """Refuse a non-positive eps or a min_points below 1."""
    if not (math.isfinite(eps_m) and eps_m > 0):
        raise HotspotInputError("邻域半径必须为正数。", "eps must be a positive number of metres.")
    if min_points < 1:
        raise HotspotInputError("最少点数必须至少为 1。", "min_points must be at least 1.")


def _run_dbscan(
    session: Session,
    points: str,
    params: dict[str, Any],
    eps_m: float,
    min_points: int,
    epsg: int,
) -> Clusters:
    """Run ST_ClusterDBSCAN over a points subquery; clusters numbered by first id."""
    rows = session.execute(
        text(_dbscan_sql(points)),
        {**params, "eps": float(eps_m), "minpoints": int(min_points), "epsg": int(epsg)},
    ).all()
    ids = np.asarray([r.id for r in rows], dtype=np.int64)
    label = np.asarray([-1 if r.cluster is None else r.cluster for r in rows], dtype=np.int64)
    # Number clusters by their first member (lowest id), so numbering never depends on plans.
    order: dict[int, int] = {}
    for lab in label.tolist():
        if lab >= 0 and lab not in order:
            order[lab] = len(order)
    label = np.asarray([order.get(v, -1) for v in label.tolist()], dtype=np.int64)
    return Clusters(
        ids,
        [str(r.code) for r in rows],
        np.asarray([r.lon for r in rows], dtype=float),
        np.asarray([r.lat for r in rows], dtype=float),
        label,
        float(eps_m),
        int(min_points),
        int(epsg),
    )


def dbscan_lonlat(
    session: Session,
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    eps_m: float,
    min_points: int = DEFAULT_MIN_POINTS,
    epsg: int | None = None,
) -> Clusters:
    """DBSCAN of lon/lat points in PostGIS (ids 0…n−1 in input order)."""
    _check_dbscan(eps_m, min_points)
    x = np.asarray(lon, dtype=float).ravel()
    y = np.asarray(lat, dtype=float).ravel()
    epsg = epsg or gk_epsg_for_lon(float(np.median(x)) if x.size else 120.0)
    points = (
        "SELECT (ord - 1)::bigint AS id, (ord - 1)::text AS code,"
        " ST_SetSRID(ST_MakePoint(x, y), 4490) AS g"
        " FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS u(x, y, ord)"
    )
    return _run_dbscan(
        session, points, {"xs": x.tolist(), "ys": y.tolist()}, eps_m, min_points, epsg
    )


def dbscan_clusters(
    session: Session,
    flt: PointFilter,
    *,
    today: date,
    eps_m: float = DEFAULT_EPS_M,
    min_points: int = DEFAULT_MIN_POINTS,
) -> Clusters:
    """DBSCAN clusters of the filtered incidents, computed by PostGIS in metres."""
    _check_dbscan(eps_m, min_points)
    sql, params = points_sql(flt)
    params["today"] = today
    count = session.execute(text(f"SELECT count(*), avg(ST_X(g)) FROM ({sql}) q"), params).one()
    if count[0] > MAX_DBSCAN_POINTS:
        raise HotspotInputError(
            f"点数过多（{count[0]}），请缩小筛选范围。",
            f"Too many points ({count[0]}) for clustering; narrow the filter.",
        )
    epsg = gk_epsg_for_lon(float(count[1]) if count[1] is not None else 120.0)
    return _run_dbscan(session, sql, params, eps_m, min_points, epsg)


# ------------------------------------------------------------------------------------------
# Emerging hot spots over complete periods
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendRun:
    """Emerging hot spot categories per cell over complete monthly, weekly or daily steps."""

    window: Window
    cells: list[str]
    polygons: NDArray[np.object_]
    counts: NDArray[np.int64]  # (cells, steps)
    pattern: list[str]
    trend_z: NDArray[np.float64]
    trend_p: NDArray[np.float64]
    count_trend: list[str]
    final_bin: NDArray[np.int8]
    cell_m: float
    band_m: float
    explanations: list[Explanation]
    epsg: int = 0  # the Gauss-Krüger zone of the grid
    shape: str = "hex"
    cell_ix: NDArray[np.int64] | None = None
    cell_iy: NDArray[np.int64] | None = None
    xy: NDArray[np.float64] | None = None  # cell centres, metres in EPSG:epsg
    emerging: EmergingResult | None = None  # per-bin Gi* and both Mann-Kendall tests

    def to_cube(self) -> CubeData:
        """The cube (counts, Gi* per bin, trends, categories) for :mod:`gis.hotspots.cube`."""
        if self.emerging is None or self.xy is None or self.cell_ix is None:
            raise ValueError("this run holds no cube")
        assert self.cell_iy is not None
        e = self.emerging
        lon, lat = unproject_xy(self.xy[:, 0], self.xy[:, 1], self.epsg)
        return CubeData(
            window=self.window, cell_ids=self.cells, cell_ix=self.cell_ix,
            cell_iy=self.cell_iy, x=self.xy[:, 0], y=self.xy[:, 1], lon=lon, lat=lat,
            counts=self.counts, gi_z=e.z, gi_p=e.p, gi_bin=e.bins,
            trend_z=e.trend_counts.z, trend_p=e.trend_counts.p,
            gi_trend_z=e.trend_z.z, gi_trend_p=e.trend_z.p, pattern=self.pattern,
            epsg=self.epsg, cell_m=self.cell_m, band_m=self.band_m, shape=self.shape,
        )

    @property
    def steps(self) -> list[str]:
        """One label per time step, oldest first; the last is the last complete period."""
        return self.window.labels()

    @property
    def months(self) -> list[str]:
        """The step labels (``YYYY-MM`` for monthly steps)."""
        return self.steps

    def tally(self) -> dict[str, int]:
        """Cells per category key."""
        return dict(Counter(self.pattern))

    def period(self) -> dict[str, Any]:
        """The window: step kind, first and last day, the last complete and the left-out period."""
        w = self.window
        return {
            "step": w.step,
            "n_steps": w.n_steps,
            "start": w.start.isoformat(),
            "end": w.end.isoformat(),
            "last_complete": period_label(w.last, w.step),
            "excluded": period_label(w.current, w.step),
            "today": w.today.isoformat(),
        }

    def to_geojson(self) -> dict[str, Any]:
        """One Polygon per cell with CATEGORY, PATTERN (zh/en), counts per step and MK trends."""
        features = []
        for k, cell in enumerate(self.cells):
            code, en, zh = CATEGORIES[self.pattern[k]]
            features.append(
                {
                    "type": "Feature",
                    "id": cell,
                    "geometry": _rounded(mapping(self.polygons[k])),
                    "properties": {
                        "cell": cell,
                        "category": code,
                        "pattern": self.pattern[k],
                        "pattern_en": en,
                        "pattern_zh": zh,
                        "count": int(self.counts[k].sum()),
                        "counts": self.counts[k].tolist(),
                        "final_bin": int(self.final_bin[k]),
                        "trend_z": _plain(float(self.trend_z[k])),
                        "trend_p": _plain(float(self.trend_p[k])),
                        "count_trend": self.count_trend[k],
                    },
                }
            )
        out: dict[str, Any] = {
            "type": "FeatureCollection",
            "features": features,
            "step": self.window.step,
            "steps": self.steps,
            "period": self.period(),
            "cell_m": self.cell_m,
            "band_m": self.band_m,
            "epsg": self.epsg,
            "tally": self.tally(),
            "categories": [
                {"key": key, "category": c, "en": en, "zh": zh}
                for key, (c, en, zh) in CATEGORIES.items()
            ],
            "explanations": [explanation_dict(e) for e in self.explanations],
        }
        if self.window.step == "month":
            out["months"] = self.steps
        return out


def _period_explanation(w: Window) -> Explanation:
    """Which periods the cube holds, and that the unfinished current one is left out."""
    zh_unit, en_unit = STEP_WORDS[w.step]
    first, last = period_label(w.first, w.step), period_label(w.last, w.step)
    current = period_label(w.current, w.step)
    return Explanation(
        "period",
        f"时间步为完整的{zh_unit}：{first} 至 {last}，共 {w.n_steps} 个（{w.start} 至 {w.end}）。"
        f"最后一个时间步是最后一个完整的{zh_unit}（{last}）；当前未结束的{zh_unit}（{current}，"
        f"截至 {w.today}）不计入，否则其偏少的事件数会造成虚假的历史热点和新增冷点。",
        f"Time steps are complete {en_unit}s: {first} to {last}, {w.n_steps} in all "
        f"({w.start} to {w.end}). The final step is the last complete {en_unit} ({last}); the "
        f"unfinished current {en_unit} ({current}, as of {w.today}) is left out, since its "
        "incomplete counts would show spurious historical hot spots and new cold spots.",
        period_label(w.last, w.step),
        {"start": w.start.isoformat(), "end": w.end.isoformat(), "excluded": current},
    )


def emerging_trends(
    session: Session,
    flt: PointFilter,
    *,
    today: date,
    months: int = DEFAULT_MONTHS,
    step: Step = "month",
    cell_m: float | None = None,
    band_m: float | None = None,
    shape: Shape = "hex",
) -> TrendRun:
    """Emerging hot spot category per cell over the last ``months`` complete ``step`` periods."""
    # ``months`` is the number of time steps (of kind ``step``); the window ends with the last
    # complete period before ``today``, so the current, unfinished one never counts.
    if months < MIN_STEPS:
        raise HotspotInputError(
            f"新兴热点分析至少需要 {MIN_STEPS} 个时间步。",
            f"Emerging hot spot analysis needs at least {MIN_STEPS} time steps.",
        )
    w = complete_window(today, months, step)
    since, until = w.start, w.end
    if flt.since and flt.since > since:
        since = flt.since
    window = replace(flt, since=since, until=min(flt.until or until, until))
    run = analyse_hotspots(session, window, today=today, cell_m=cell_m, band_m=band_m, shape=shape)
    result, pts = run.result, run.points
    keep = np.ones(len(pts), dtype=bool)
    if run.boundary is not None:
        area = shapely.make_valid(geojson_shape(run.boundary))
        shapely.prepare(area)
        keep = shapely.intersects_xy(area, pts.lon, pts.lat)
    x, y = project_lonlat(pts.lon[keep], pts.lat[keep], result.epsg)
    grid = Grid(result.cell_m, result.shape, result.orientation)
    t = step_indices(pts.day[keep], step) - w.first
    # With a study area the cube holds every analysed cell (all cells inside the boundary, zeros
    # included, as Esri's cube does); without one only the cells holding incidents.
    cells = (result.cell_ix, result.cell_iy) if run.boundary is not None else None
    cube = space_time_cube(grid, x, y, t, w.n_steps, cells=cells)
    emerging = emerging_hotspots(cube.counts, cube.xy, result.band_m)
    tag = "sq" if result.shape == "square" else f"hex{result.orientation[0]}"
    ids = [f"{tag}:{i}:{j}" for i, j in zip(cube.ix.tolist(), cube.iy.tolist(), strict=True)]
    polys = transform_geometries(grid.polygons(cube.ix, cube.iy), result.epsg, 4326)
    labels = w.labels()
    tally = Counter(emerging.pattern)
    hot = sum(v for k, v in tally.items() if k.endswith("_hot"))
    cold = sum(v for k, v in tally.items() if k.endswith("_cold"))
    notes = [
        e
        for e in result.explanations
        if e.key in ("input", "study_area", "cell_size", "distance_band")
    ]
    notes.append(_period_explanation(w))
    zh_unit, en_unit = STEP_WORDS[step]
    notes.append(
        Explanation(
            "emerging",
            f"按{zh_unit}构建时空立方体：{labels[0]} 至 {labels[-1]} 共 {w.n_steps} 个{zh_unit}、"
            f"{len(ids)} 个格网；时空 Gi*（时间邻域 1 个{zh_unit}，FDR 校正）与 Mann-Kendall "
            f"趋势检验后，{hot} 个格网为各类热点，{cold} 个为各类冷点。",
            f"Space-time cube by {en_unit} from {labels[0]} to {labels[-1]} ({w.n_steps} "
            f"{en_unit}s, {len(ids)} cells); after space-time Gi* (one-{en_unit} time window, "
            f"FDR) and Mann-Kendall trend tests, {hot} cells show a hot-spot pattern and {cold} "
            "a cold-spot pattern.",
            w.n_steps,
            dict(tally),
        )
    )
    return TrendRun(
        window=w,
        cells=ids,
        polygons=polys,
        counts=cube.counts,
        pattern=emerging.pattern,
        trend_z=emerging.trend_z.z,
        trend_p=emerging.trend_z.p,
        count_trend=[str(t) for t in emerging.trend_counts.trend],
        final_bin=emerging.bins[:, -1],
        cell_m=result.cell_m,
        band_m=result.band_m,
        explanations=notes,
        epsg=result.epsg,
        shape=result.shape,
        cell_ix=cube.ix,
        cell_iy=cube.iy,
        xy=cube.xy,
        emerging=emerging,
    )


# ------------------------------------------------------------------------------------------
# Local Moran's I (LISA) on cells or townships, on counts or rates
# ------------------------------------------------------------------------------------------

LisaUnit = Literal["cells", "townships"]
Denominator = Literal["sites", "area"]
DENOMINATOR_WORDS: dict[str, tuple[str, str]] = {
    "sites": ("站点数", "sites"),
    "area": ("面积（平方千米）", "area (km²)"),
}
VALUE_WORDS: dict[str, tuple[str, str]] = {
    "count": ("事件数", "incident counts"),
    "rate": ("原始比率", "crude rates"),
    "eb": ("经验贝叶斯平滑比率（全局）", "empirical-Bayes smoothed rates (global)"),
    "spatial_eb": ("经验贝叶斯平滑比率（空间）", "empirical-Bayes smoothed rates (spatial)"),
}


@dataclass(frozen=True)
class TownshipUnits:
    """Township polygons (EPSG:4326) with their denominators."""

    codes: list[str]
    names: list[str]
    polygons: NDArray[np.object_]
    area_km2: NDArray[np.float64]
    sites: NDArray[np.float64]


def township_units(session: Session, codes: tuple[str, ...] | None = None) -> TownshipUnits:
    """The townships (all, or ``codes``) ordered by code, with area and number of sites."""
    where = "WHERE t.code = ANY(:codes)" if codes is not None else ""
    rows = session.execute(
        text(
            f"""SELECT t.code, t.name, ST_AsBinary(t.geom),
                       ST_Area(t.geom::geography) / 1e6,
                       (SELECT count(*) FROM sites s WHERE s.township_code = t.code)
                FROM townships t {where} ORDER BY t.code"""
        ),
        {"codes": list(codes or ())},
    ).all()
    return TownshipUnits(
        [r[0] for r in rows],
        [r[1] for r in rows],
        np.asarray([shapely.from_wkb(bytes(r[2])) for r in rows], dtype=object),
        np.asarray([float(r[3]) for r in rows], dtype=float),
        np.asarray([float(r[4]) for r in rows], dtype=float),
    )


def count_in_polygons(
    polygons: ArrayLike, lon: ArrayLike, lat: ArrayLike
) -> NDArray[np.int64]:
    """Points per polygon; a point on a shared edge counts once, in the first polygon."""
    polys = np.asarray(polygons, dtype=object)
    pts = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    if len(polys) == 0 or len(pts) == 0:
        return np.zeros(len(polys), dtype=np.int64)
    tree = shapely.STRtree(polys)
    p_idx, g_idx = tree.query(pts, predicate="intersects")
    order = np.lexsort((g_idx, p_idx))
    p_idx, g_idx = p_idx[order], g_idx[order]
    first = np.r_[True, p_idx[1:] != p_idx[:-1]] if p_idx.size else np.zeros(0, dtype=bool)
    return np.bincount(g_idx[first], minlength=len(polys)).astype(np.int64)


def _site_cells(session: Session, flt: PointFilter, grid: Grid, epsg: int) -> dict[tuple, int]:
    """Number of sites per cell (sites of the filter's townships), keyed by (ix, iy)."""
    towns = flt.area_townships()
    where = "WHERE s.geom IS NOT NULL" + (
        " AND s.township_code = ANY(:codes)" if towns is not None else ""
    )
    rows = session.execute(
        text(
            "SELECT ST_X(ST_PointOnSurface(s.geom)), ST_Y(ST_PointOnSurface(s.geom))"
            f" FROM sites s {where}"
        ),
        {"codes": list(towns or ())},
    ).all()
    if not rows:
        return {}
    lon, lat = (np.asarray(v, dtype=float) for v in zip(*rows, strict=True))
    x, y = project_lonlat(lon, lat, epsg)
    ix, iy = grid.cell_of(x, y)
    return dict(Counter(zip(ix.tolist(), iy.tolist(), strict=True)))


def _value_note(value: str, denominator: str | None, n_dropped: int) -> Explanation:
    zh, en = VALUE_WORDS[value]
    if denominator is not None and value != "count":
        dzh, den = DENOMINATOR_WORDS[denominator]
        zh += f"，分母为{dzh}"
        en += f" against {den}"
        if value in ("eb", "spatial_eb"):
            zh += "；小单元的比率向均值收缩，大单元不会仅因规模大而成为热点"
            en += (
                "; the rates of small units shrink towards the mean, and a large unit is not "
                "a hot spot only because it is large"
            )
    if n_dropped:
        zh += f"；{n_dropped} 个分母为零的单元未参与分析"
        en += f"; {n_dropped} unit(s) with a zero denominator left out"
    return Explanation("value", f"分析值：{zh}。", f"Analysed value: {en}.", value)


def analyse_lisa(
    session: Session,
    flt: PointFilter,
    *,
    today: date,
    unit: LisaUnit = "cells",
    value: RateMethod = "count",
    denominator: Denominator = "sites",
    cell_m: float | None = None,
    band_m: float | None = None,
    shape: Shape = "hex",
    area: StudyArea = "townships",
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int | None = None,
    alpha: float = DEFAULT_ALPHA,
    fdr: bool = True,
) -> LisaMap:
    """Local Moran's I of the filtered incidents per cell or per township, counts or rates."""
    if value not in RATE_METHODS:
        rate_values(value, [1.0], None)  # raises the bilingual error
    den = None if value == "count" else denominator
    settings: dict[str, Any] = {"input": flt.kind, "value": value, "denominator": den}
    if unit == "cells":
        if den == "area":
            raise HotspotInputError(
                "格网面积相同，按面积的比率与计数等价；请改用 value=count 或 denominator=sites。",
                "Cells all have the same area, so a rate per area equals the count; use "
                "value=count or denominator=sites.",
            )
        run = analyse_hotspots(
            session, flt, today=today, cell_m=cell_m, band_m=band_m, shape=shape, area=area
        )
        res = run.result
        keep = None
        vals = None
        note = _value_note(value, den, 0)
        if den == "sites":
            grid = Grid(res.cell_m, res.shape, res.orientation)
            per_cell = _site_cells(session, flt, grid, res.epsg)
            sites = np.asarray(
                [per_cell.get(k, 0) for k in zip(res.cell_ix.tolist(), res.cell_iy.tolist(),
                                                 strict=True)],
                dtype=float,
            )
            keep = sites > 0
            if keep.sum() < 3:
                raise HotspotInputError(
                    "含站点的格网少于 3 个，无法按站点数计算比率。",
                    "Fewer than 3 cells hold a site; rates per site cannot be analysed.",
                )
            cx, cy = grid.centres(res.cell_ix[keep], res.cell_iy[keep])
            pairs = distance_band_neighbours(np.column_stack([cx, cy]), res.band_m)
            vals = rate_values(value, res.count[keep], sites[keep], (pairs.i, pairs.j))
            note = _value_note(value, den, int((~keep).sum()))
        lisa = lisa_on_cells(
            res, values=vals, keep=keep, permutations=permutations, seed=seed, alpha=alpha,
            fdr=fdr, settings=settings,
        )
        return replace(lisa, explanations=[lisa.explanations[0], note, *lisa.explanations[1:]])
    if unit != "townships":
        raise HotspotInputError(
            f"未知的分析单元 {unit!r}，应为 cells 或 townships。",
            f"Unknown unit {unit!r}; use cells or townships.",
        )
    points = load_points(session, flt, today=today)
    towns = township_units(session, flt.area_townships())
    if len(towns.codes) < 3:
        raise HotspotInputError(
            f"只有 {len(towns.codes)} 个乡镇，局部莫兰指数至少需要 3 个。",
            f"Only {len(towns.codes)} township(s); local Moran's I needs at least 3.",
        )
    counts = count_in_polygons(towns.polygons, points.lon, points.lat).astype(float)
    base = None if den is None else (towns.sites if den == "sites" else towns.area_km2)
    keep = np.ones(len(towns.codes), dtype=bool) if base is None else base > 0
    if keep.sum() < 3:
        raise HotspotInputError(
            "分母（站点数或面积）大于零的乡镇少于 3 个。",
            "Fewer than 3 townships have a positive denominator (sites or area).",
        )
    polys = towns.polygons[keep]
    nb = contiguity_neighbours(polys)
    vals = rate_values(
        value, counts[keep], None if base is None else base[keep], (nb.i, nb.j)
    )
    res_l = local_moran(vals, nb, permutations=permutations, seed=seed, alpha=alpha, fdr=fdr)
    gi_z, gi_p, _ = gi_star_on_pairs(vals, nb.i, nb.j)
    gi_bin = fdr_bins(gi_z, gi_p)
    islands = int((nb.cardinality == 0).sum())
    notes = [
        _filter_explanation(flt, len(points)),
        _value_note(value, den, int((~keep).sum())),
        lisa_explanation(
            res_l, "乡镇", "townships",
            "边界相接（Queen 邻接）的乡镇为邻居"
            + (f"，{islands} 个乡镇没有邻居（不参与显著性判断）" if islands else ""),
            "townships sharing a boundary point are neighbours (queen contiguity)"
            + (f"; {islands} township(s) without neighbours are never significant"
               if islands else ""),
        ),
    ]
    return LisaMap(
        unit="townships",
        ids=[c for c, k in zip(towns.codes, keep.tolist(), strict=True) if k],
        names=[c for c, k in zip(towns.names, keep.tolist(), strict=True) if k],
        polygons=polys,
        value=vals,
        count=counts[keep],
        result=res_l,
        explanations=[
            *notes,
            Explanation(
                "gi_townships",
                f"另给出 Gi*（同一分析值，邻接乡镇加自身为窗口，FDR 分级）：热点乡镇 "
                f"{int((gi_bin > 0).sum())} 个，冷点乡镇 {int((gi_bin < 0).sum())} 个。",
                f"Gi* on the same value (window: the township and its contiguous ones, FDR "
                f"bins) is given too: {int((gi_bin > 0).sum())} hot and "
                f"{int((gi_bin < 0).sum())} cold township(s).",
                int((gi_bin != 0).sum()),
            ),
        ],
        settings={**settings, "n_points": len(points)},
        gi_z=gi_z,
        gi_p=gi_p,
        gi_bin=gi_bin,
    )


# ------------------------------------------------------------------------------------------
# Comparison: this period against the last, one category against another
# ------------------------------------------------------------------------------------------

CompareBy = Literal["period", "category"]


@dataclass(frozen=True)
class Comparison:
    """Two Gi* maps on the same cells and band, and each cell's change class."""

    by: str
    labels: tuple[str, str]
    result: HotspotResult  # the shared grid (run on both sides together)
    a: SideGi
    b: SideGi
    change: list[str]
    explanations: list[Explanation]
    period: dict[str, Any] | None = None
    # class → (Chinese, English): CHANGES for periods, VERSUS named for the two categories
    classes: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(CHANGES))

    def tally(self) -> dict[str, int]:
        """Cells per change class, every class listed."""
        return {k: self.change.count(k) for k in self.classes}

    def to_geojson(self) -> dict[str, Any]:
        """One Polygon per cell with both sides' count, z, bin and the change class."""
        base = self.result.to_geojson()
        for k, f in enumerate(base["features"]):
            zh, en = self.classes[self.change[k]]
            f["properties"] = {
                "cell": f["properties"]["cell"],
                "count_a": int(self.a.count[k]),
                "count_b": int(self.b.count[k]),
                "z_a": _plain(float(self.a.z[k])),
                "z_b": _plain(float(self.b.z[k])),
                "bin_a": int(self.a.bin[k]),
                "bin_b": int(self.b.bin[k]),
                "bin": int(self.b.bin[k]),
                "change": self.change[k],
                "change_zh": zh,
                "change_en": en,
            }
        base.update(
            by=self.by,
            a=self.labels[0],
            b=self.labels[1],
            cell_m=self.result.cell_m,
            band_m=self.result.band_m,
            shape=self.result.shape,
            epsg=self.result.epsg,
            tally=self.tally(),
            changes=[
                {"change": k, "zh": zh, "en": en} for k, (zh, en) in self.classes.items()
            ],
            explanations=[explanation_dict(e) for e in self.explanations],
        )
        if self.period is not None:
            base["period"] = self.period
        return base


def compare_hotspots(
    session: Session,
    flt: PointFilter,
    *,
    today: date,
    by: CompareBy = "period",
    months: int = 1,
    step: Step = "month",
    categories: tuple[str, str] | None = None,
    cell_m: float | None = None,
    band_m: float | None = None,
    shape: Shape = "hex",
    area: StudyArea = "townships",
) -> Comparison:
    """Gi* of two sides on one grid: the last ``months`` complete steps against the ``months``
    before them (``by="period"``), or category A against category B (``by="category"``)."""
    period = None
    if by == "period":
        if months < 1:
            raise HotspotInputError("时段长度至少为 1。", "The period must be at least 1 step.")
        w = complete_window(today, 2 * months, step)
        both = replace(flt, since=max(flt.since or w.start, w.start), until=w.end)
        run = analyse_hotspots(
            session, both, today=today, cell_m=cell_m, band_m=band_m, shape=shape, area=area
        )
        split = w.first + months
        t = step_indices(run.points.day, step)
        side_b = t >= split
        lab_a = f"{period_label(w.first, step)}…{period_label(split - 1, step)}"
        lab_b = f"{period_label(split, step)}…{period_label(w.last, step)}"
        if months == 1:
            lab_a, lab_b = period_label(w.first, step), period_label(w.last, step)
        lon_lat = [
            (run.points.lon[~side_b], run.points.lat[~side_b]),
            (run.points.lon[side_b], run.points.lat[side_b]),
        ]
        period = {
            "step": step, "a": lab_a, "b": lab_b, "start": w.start.isoformat(),
            "end": w.end.isoformat(), "excluded": period_label(w.current, step),
            "a_start": w.start.isoformat(), "a_end": period_end(split - 1, step).isoformat(),
            "b_start": period_start(split, step).isoformat(), "b_end": w.end.isoformat(),
        }
    elif by == "category":
        if not categories or len(categories) != 2 or categories[0] == categories[1]:
            raise HotspotInputError(
                "按类别比较需要两个不同的类别。", "Comparing categories needs two different ones."
            )
        both = replace(flt, categories=tuple(categories))
        both.validated()
        run = analyse_hotspots(
            session, both, today=today, cell_m=cell_m, band_m=band_m, shape=shape, area=area
        )
        lon_lat = []
        for cat in categories:
            pts = load_points(session, replace(both, categories=(cat,)), today=today)
            lon_lat.append((pts.lon, pts.lat))
        lab_a, lab_b = categories
    else:
        raise HotspotInputError(
            f"未知的比较方式 {by!r}，应为 period 或 category。",
            f"Unknown comparison {by!r}; use period or category.",
        )
    res = run.result
    grid = Grid(res.cell_m, res.shape, res.orientation)
    cx, cy = grid.centres(res.cell_ix, res.cell_iy)
    centres = np.column_stack([cx, cy])
    area_geom = None
    if run.boundary is not None:
        area_geom = shapely.make_valid(geojson_shape(run.boundary))
        shapely.prepare(area_geom)
    sides = []
    for lon, lat in lon_lat:
        if area_geom is not None:
            inside = shapely.intersects_xy(area_geom, lon, lat)
            lon, lat = lon[inside], lat[inside]
        x, y = project_lonlat(lon, lat, res.epsg)
        sides.append(gi_on_cells(centres, counts_on_cells(grid, res.cell_ix, res.cell_iy, x, y),
                                 res.band_m))
    notes = [
        e for e in res.explanations
        if e.key in ("input", "study_area", "cell_size", "cells", "distance_band")
    ]
    n_a, n_b = int(sides[0].count.sum()), int(sides[1].count.sum())
    if by == "period":
        change, classes = change_class(sides[0].bin, sides[1].bin), dict(CHANGES)
        tally = Counter(change)
        notes.append(
            Explanation(
                "compare",
                f"按时段比较：A = {lab_a}（{n_a} 个事件），B = {lab_b}（{n_b} 个事件），两者使用"
                f"同一格网与距离阈值，各自计算 Gi* 与 FDR 分级。新成为热点 {tally['became_hot']} "
                f"个、持续为热点 {tally['stayed_hot']} 个、热点消退 {tally['cooled']} 个。",
                f"Comparison by period: A = {lab_a} ({n_a} incidents), B = {lab_b} ({n_b} "
                "incidents), on the same grid and band, each with its own Gi* and FDR bins. "
                f"Became hot {tally['became_hot']}, stayed hot {tally['stayed_hot']}, cooled "
                f"{tally['cooled']}.",
                tally["became_hot"],
            )
        )
    else:
        a, b = (vocab.Category(c) for c in (lab_a, lab_b))
        change, classes = versus_class(sides[0].bin, sides[1].bin), versus_labels(
            (a.zh, a.en), (b.zh, b.en)
        )
        tally = Counter(change)
        notes.append(
            Explanation(
                "compare",
                f"按类别比较：A = {a.zh}（{n_a} 个事件），B = {b.zh}（{n_b} 个事件），两者使用"
                f"同一格网与距离阈值，各自计算 Gi* 与 FDR 分级。两类均为热点 "
                f"{tally['hot_both']} 个、仅{a.zh}为热点 {tally['hot_a_only']} 个、"
                f"仅{b.zh}为热点 {tally['hot_b_only']} 个。",
                f"Comparison by category: A = {a.en} ({n_a} incidents), B = {b.en} ({n_b} "
                "incidents), on the same grid and band, each with its own Gi* and FDR bins. "
                f"Hot for both {tally['hot_both']}, for {a.en} only {tally['hot_a_only']}, for "
                f"{b.en} only {tally['hot_b_only']}.",
                tally["hot_both"],
            )
        )
    return Comparison(
        by, (lab_a, lab_b), res, sides[0], sides[1], change, notes, period, classes
    )


__all__ = [
    "BIN_STYLE",
    "INPUT_KINDS",
    "KIND_LABELS",
    "Clusters",
    "HotspotRun",
    "IncidentPoints",
    "InputKind",
    "PointFilter",
    "TrendRun",
    "analyse_hotspots",
    "analyse_lisa",
    "compare_hotspots",
    "dbscan_clusters",
    "dbscan_lonlat",
    "emerging_trends",
    "hotspot_collection",
    "load_points",
    "study_area",
]
