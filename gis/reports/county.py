"""County-level data every township report needs, read once and shared by ``report all``.

Scorecards (today and the same day last month), month-to-date flows, category mix, the
12-month trend, problem points and the county hot spot analysis: a handful of grouped queries
whatever the number of townships.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.config import get_settings
from gis.geo.sql import as_geojson_sql
from gis.ledger.counts import closure_event_sql, closure_moment_sql
from gis.ledger.deadlines import open_sql
from gis.ledger.query import ProblemQuery, end_of_day, map_class_sql
from gis.ledger.scorecard import TownshipScore, township_scorecard
from gis.reports.hotspot_cells import CountyHotspots, county_hotspots
from gis.reports.periods import ReportDate, add_months, last_months, month_start


@dataclass(frozen=True)
class TownshipInfo:
    """A township's code, name and boundary (lon/lat)."""

    code: str
    name: str
    geom: BaseGeometry


@dataclass(frozen=True)
class MapPoint:
    """A problem on the report map."""

    code: str
    lon: float
    lat: float
    map_class: str
    category: str


@dataclass
class CategoryCount:
    """Problems of one category in one township."""

    category: str
    open: int = 0
    total: int = 0
    new_this_month: int = 0


@dataclass
class CountyData:
    """Everything county-wide a township report reads; build with :func:`load_county`."""

    report_date: ReportDate
    previous_day: date
    townships: list[TownshipInfo]
    scores: dict[str, TownshipScore]
    previous_scores: dict[str, TownshipScore]
    new_this_month: dict[str, int]
    new_previous: dict[str, int]
    categories: dict[str, dict[str, CategoryCount]]
    months: list[date]
    new_by_month: dict[str, dict[date, int]]
    closed_by_month: dict[str, dict[date, int]]
    points: dict[str, list[MapPoint]]
    hotspots: CountyHotspots
    # this month's complaint hot spots against last month's (gis.reports.hotspot_change),
    # computed once when a township report first asks
    change: Any = None

    def township(self, code: str) -> TownshipInfo | None:
        """The township with ``code``, or None."""
        return next((t for t in self.townships if t.code == code), None)


def start_of_day(day: date) -> datetime:
    """The first instant of ``day`` in the configured time zone."""
    return end_of_day(day - timedelta(days=1))


def load_townships(session: Session) -> list[TownshipInfo]:
    """All townships, ordered by code, with shapely boundaries."""
    rows = session.execute(
        text(f"SELECT code, name, {as_geojson_sql('geom')} AS g FROM townships ORDER BY code")
    ).all()
    return [
        TownshipInfo(r.code, r.name, shape(r.g if isinstance(r.g, dict) else json.loads(r.g)))
        for r in rows
    ]


def load_county(session: Session, report_date: ReportDate, *, hotspots: bool = True) -> CountyData:
    """Read the county-wide report data on ``report_date``."""
    day = report_date.day
    previous_day = add_months(day, -1)
    query = report_date.query()
    scores = township_scorecard(session, today=day, query=query)
    previous = township_scorecard(
        session,
        today=previous_day,
        period_start=month_start(previous_day),
        query=ProblemQuery(as_of=previous_day),
    )
    townships = load_townships(session)
    clause, params = query.where("p")
    source, source_params = query.source()
    base = {"today": day, **params, **source_params}
    categories, new_now, new_prev = _categories(session, source, clause, base, day, previous_day)
    months = last_months(day, 12)
    new_by_month, closed_by_month = _trend(session, source, clause, base, day, months[0])
    points = _points(session, source, clause, base)
    everything = [p for pts in points.values() for p in pts]
    if hotspots:
        analysis = county_hotspots(
            [p.lon for p in everything],
            [p.lat for p in everything],
            [p.category for p in everything],
            [(t.code, t.geom) for t in townships],
        )
    else:
        analysis = CountyHotspots(
            available=False,
            reason_zh="本次未运行热点分析。",
            reason_en="The hot spot analysis was not run for this report.",
        )
    return CountyData(
        report_date=report_date,
        previous_day=previous_day,
        townships=townships,
        scores={s.code: s for s in scores},
        previous_scores={s.code: s for s in previous},
        new_this_month=new_now,
        new_previous=new_prev,
        categories=categories,
        months=months,
        new_by_month=new_by_month,
        closed_by_month=closed_by_month,
        points=points,
        hotspots=analysis,
    )


def _categories(
    session: Session,
    source: str,
    clause: str,
    base: dict,
    day: date,
    previous_day: date,
) -> tuple[dict[str, dict[str, CategoryCount]], dict[str, int], dict[str, int]]:
    sql = f"""
        SELECT p.township_code AS code, p.category,
            count(*) FILTER (WHERE {open_sql('p')}) AS open,
            count(*) AS total,
            count(*) FILTER (WHERE p.reported_at >= :m0 AND p.reported_at < :m1) AS new_now,
            count(*) FILTER (WHERE p.reported_at >= :pm0 AND p.reported_at < :pm1) AS new_prev
        FROM {source} WHERE p.township_code IS NOT NULL AND {clause}
        GROUP BY 1, 2
    """
    rows = session.execute(
        text(sql),
        {
            **base,
            "m0": start_of_day(month_start(day)),
            "m1": end_of_day(day),
            "pm0": start_of_day(month_start(previous_day)),
            "pm1": end_of_day(previous_day),
        },
    ).all()
    categories: dict[str, dict[str, CategoryCount]] = {}
    new_now: dict[str, int] = {}
    new_prev: dict[str, int] = {}
    for r in rows:
        categories.setdefault(r.code, {})[r.category] = CategoryCount(
            r.category, int(r.open), int(r.total), int(r.new_now)
        )
        new_now[r.code] = new_now.get(r.code, 0) + int(r.new_now)
        new_prev[r.code] = new_prev.get(r.code, 0) + int(r.new_prev)
    return categories, new_now, new_prev


def _trend(
    session: Session, source: str, clause: str, base: dict, day: date, first: date
) -> tuple[dict[str, dict[date, int]], dict[str, dict[date, int]]]:
    """New problems (by report time) and problems closed (``closed_in_period``) per township
    and month."""
    params = {
        **base,
        "t0": start_of_day(first),
        "t1": end_of_day(day),
        "tz": get_settings().timezone,
    }
    new_sql = f"""
        SELECT p.township_code AS code,
               date_trunc('month', p.reported_at AT TIME ZONE :tz)::date AS m, count(*) AS n
        FROM {source}
        WHERE p.township_code IS NOT NULL AND p.reported_at >= :t0 AND p.reported_at < :t1
          AND {clause}
        GROUP BY 1, 2
    """
    # closed_in_period per month (gis.ledger.counts): each problem once per month it was closed
    closed_at = closure_moment_sql("e")
    closed_sql = f"""
        SELECT p.township_code AS code,
               date_trunc('month', {closed_at} AT TIME ZONE :tz)::date AS m,
               count(DISTINCT p.id) AS n
        FROM events e JOIN {source} ON p.id = e.problem_id
        WHERE p.township_code IS NOT NULL AND {closure_event_sql("e")}
          AND {closed_at} >= :t0 AND {closed_at} < :t1 AND {clause}
        GROUP BY 1, 2
    """
    out: list[dict[str, dict[date, int]]] = []
    for sql in (new_sql, closed_sql):
        table: dict[str, dict[date, int]] = {}
        for r in session.execute(text(sql), params):
            table.setdefault(r.code, {})[r.m] = int(r.n)
        out.append(table)
    return out[0], out[1]


def _points(session: Session, source: str, clause: str, base: dict) -> dict[str, list[MapPoint]]:
    sql = f"""
        SELECT p.code, p.township_code, p.category, {map_class_sql("p")} AS map_class,
               ST_X(ST_PointOnSurface(p.geom)) AS lon, ST_Y(ST_PointOnSurface(p.geom)) AS lat
        FROM {source} WHERE p.geom IS NOT NULL AND {clause}
        ORDER BY p.id
    """
    points: dict[str, list[MapPoint]] = {}
    for r in session.execute(text(sql), base):
        points.setdefault(r.township_code or "", []).append(
            MapPoint(r.code, float(r.lon), float(r.lat), r.map_class, r.category)
        )
    return points
