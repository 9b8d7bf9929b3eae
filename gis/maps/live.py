"""Data for live maps: problems aggregated or as points by zoom, the ticker, complaint heat.

A wall map must stay small on the wire at any ledger size: below :data:`POINT_ZOOM` problems are
counted per township or per grid cell in PostGIS; from it on, only the points in view are sent
(capped at :data:`MAX_POINTS`). Every filter goes through :class:`gis.ledger.query.ProblemQuery`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access.scope import scope_sql
from gis.geo.sql import as_geojson_sql
from gis.ledger.deadlines import warning_sql
from gis.ledger.query import ProblemQuery, map_class_sql, problem_properties_sql

TOWNSHIP_ZOOM = 11  # below: one bubble per township
POINT_ZOOM = 14  # from here: the points themselves
MAX_POINTS = 5000


def grid_size_m(zoom: int) -> float:
    """Grid cell size in Web-Mercator metres for a zoom level (about 48 screen pixels)."""
    return 48 * 156543.03392 / (2**zoom)


def problems_for_view(session: Session, *, today: date, query: ProblemQuery, zoom: int) -> dict:
    """A FeatureCollection for the view: township bubbles, grid bubbles or points, by zoom."""
    if zoom >= POINT_ZOOM:
        return _points(session, today=today, query=query)
    if zoom < TOWNSHIP_ZOOM:
        return _by_township(session, today=today, query=replace(query, bbox=None))
    return _by_grid(session, today=today, query=query, cell_m=grid_size_m(zoom))


_COUNTS = """
    count(*) FILTER (WHERE {mc} = 'open') AS open,
    count(*) FILTER (WHERE {mc} = 'overdue') AS overdue,
    count(*) FILTER (WHERE {mc} = 'rebounded') AS rebounded,
    count(*) FILTER (WHERE {mc} = 'closed') AS closed,
    count(*) FILTER (WHERE {w} = 'red') AS red
"""


def _counts_sql() -> str:
    return _COUNTS.format(mc=map_class_sql("p"), w=warning_sql("p"))


def _feature_collection(session: Session, sql: str, params: dict, mode: str) -> dict:
    rows = session.execute(text(sql), params).mappings().all()
    features = []
    for r in rows:
        props = {k: r[k] for k in ("open", "overdue", "rebounded", "closed", "red")}
        props.update(key=r["key"], name=r.get("name"), mode=mode)
        features.append({"type": "Feature", "geometry": r["geometry"], "properties": props})
    return {"type": "FeatureCollection", "mode": mode, "features": features}


def _by_township(session: Session, *, today: date, query: ProblemQuery) -> dict:
    clause, params = query.where("p")
    source, source_params = query.source()
    sql = f"""
        SELECT t.code AS key, t.name, {as_geojson_sql("ST_PointOnSurface(t.geom)")} AS geometry,
               {_counts_sql()}
        FROM {source} JOIN townships t ON t.code = p.township_code
        WHERE {clause}
        GROUP BY t.code, t.name, t.geom ORDER BY t.code
    """
    return _feature_collection(
        session, sql, {"today": today, **params, **source_params}, "township"
    )


CELL_CENTROID = "ST_Transform(ST_Centroid(ST_Collect(ST_Transform(p.geom, 3857))), 4490)"


def _by_grid(session: Session, *, today: date, query: ProblemQuery, cell_m: float) -> dict:
    clause, params = query.where("p")
    source, source_params = query.source()
    sql = f"""
        WITH binned AS (
            SELECT ST_SnapToGrid(ST_Transform(ST_PointOnSurface(p.geom), 3857), :cell) AS cell,
                   p.*
            FROM {source} WHERE p.geom IS NOT NULL AND {clause}
        )
        SELECT ST_AsText(cell) AS key, NULL AS name,
               {as_geojson_sql(CELL_CENTROID)} AS geometry,
               {_counts_sql()}
        FROM binned p GROUP BY cell
    """
    return _feature_collection(
        session, sql, {"today": today, "cell": cell_m, **params, **source_params}, "grid"
    )


def _points(session: Session, *, today: date, query: ProblemQuery) -> dict:
    clause, params = query.where("p")
    source, source_params = query.source()
    sql = f"""
        SELECT json_build_object('type', 'Feature', 'id', p.code,
                                 'geometry', {as_geojson_sql("ST_PointOnSurface(p.geom)")},
                                 'properties', {problem_properties_sql("p")}) AS f
        FROM {source} LEFT JOIN townships t ON t.code = p.township_code
        WHERE p.geom IS NOT NULL AND {clause}
        ORDER BY p.id LIMIT :max_points
    """
    rows = (
        session.execute(
            text(sql), {"today": today, "max_points": MAX_POINTS + 1, **params, **source_params}
        )
        .scalars()
        .all()
    )
    return {
        "type": "FeatureCollection",
        "mode": "points",
        "truncated": len(rows) > MAX_POINTS,
        "features": rows[:MAX_POINTS],
    }


def ticker(
    session: Session, *, limit: int = 12, township_codes: tuple[str, ...] | None = None
) -> list[dict]:
    """The latest inspections, complaints and new problems, newest first, with their notes."""
    params: dict = {"limit": limit}
    where_t = "AND " + scope_sql("x.township_code", township_codes, params, "towns")
    sql = f"""
        SELECT * FROM (
            SELECT 'inspection' AS kind, x.received_at AS at, x.note AS text, x.finding AS what,
                   x.township_code, t.name AS township_name, p.code AS problem_code,
                   x.inspector AS who
            FROM inspections x LEFT JOIN problems p ON p.id = x.problem_id
            LEFT JOIN townships t ON t.code = x.township_code WHERE TRUE {where_t}
            ORDER BY x.received_at DESC LIMIT :limit) a
        UNION ALL SELECT * FROM (
            SELECT 'complaint', x.received_at, x.text, x.kind, x.township_code, t.name,
                   x.code, x.channel
            FROM complaints x LEFT JOIN townships t ON t.code = x.township_code
            WHERE TRUE {where_t} ORDER BY x.received_at DESC LIMIT :limit) b
        UNION ALL SELECT * FROM (
            SELECT 'problem', x.created_at, x.description, x.category, x.township_code, t.name,
                   x.code, x.responsible_unit
            FROM problems x LEFT JOIN townships t ON t.code = x.township_code
            WHERE TRUE {where_t} ORDER BY x.created_at DESC LIMIT :limit) c
        ORDER BY at DESC LIMIT :limit
    """
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


def complaint_heat(
    session: Session,
    *,
    today: date,
    days: int = 90,
    township_codes: tuple[str, ...] | None = None,
) -> list[list[float]]:
    """``[lat, lon, weight]`` of complaints received in the last ``days``, binned at 100 m."""
    params: dict = {"today": today, "days": days}
    where_t = "AND " + scope_sql("township_code", township_codes, params, "towns")
    rows = session.execute(
        text(f"""
        SELECT ST_Y(c) AS lat, ST_X(c) AS lon, n FROM (
            SELECT ST_Transform(ST_SnapToGrid(ST_Transform(geom, 3857), 100), 4490) AS c,
                   count(*) AS n FROM complaints
            WHERE geom IS NOT NULL AND received_at >= CAST(:today AS date) - :days {where_t}
            GROUP BY 1) g
    """),
        params,
    ).all()
    return [[round(r.lat, 5), round(r.lon, 5), int(r.n)] for r in rows]
