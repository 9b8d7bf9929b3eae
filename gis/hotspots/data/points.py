"""Incident points from the ledger by kind and filter, the study area, and Gi* hot-spot maps on
them (Optimized-Hot-Spot-style, with FDR)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import vocab
from gis.config import get_settings
from gis.hotspots import HotspotResult, hotspots_from_points
from gis.hotspots.errors import Explanation, HotspotInputError
from gis.hotspots.grid import (
    Shape,
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
