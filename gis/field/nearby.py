"""What lies around an inspector: nearest open problems, protection zones, likely duplicates.

Metres are measured on the spheroid (PostGIS geography). A geometry GiST index cannot answer
"within R metres" directly and the KNN operator ``<->`` on geometry orders by degrees, which at
30°N shrinks east–west distances by 13 %; so the index is used through a bounding box that is
sure to hold every point within R metres, then the exact geography distance filters and orders.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import palette, vocab
from gis.geo.sql import as_geojson_sql
from gis.geo.townships import township_of_sql
from gis.ledger.deadlines import open_sql, warning_sql

# Shortest metres per degree of latitude (at the equator) and of longitude at the equator, WGS-84.
_M_PER_DEG_LAT_MIN = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0
OPEN = open_sql("p")
ZONE_ORDER = {"1": 0, "2": 1, "quasi": 2}
DESCRIPTION_CHARS = 120


def _point_sql() -> str:
    """SQL for the query point in EPSG:4490."""
    return "ST_SetSRID(ST_MakePoint(:lon, :lat), 4490)"


def expand_degrees(lat: float, radius_m: float) -> tuple[float, float]:
    """Return (dlon, dlat) degrees that surely contain every point within ``radius_m``."""
    dlat = radius_m / _M_PER_DEG_LAT_MIN * 1.01 + 1e-6
    far_lat = min(89.0, abs(lat) + dlat)
    dlon = radius_m / (_M_PER_DEG_LON_EQ * math.cos(math.radians(far_lat))) * 1.01 + 1e-6
    return min(dlon, 180.0), min(dlat, 90.0)


def _labels(enum: type[vocab.Labelled], value: str | None) -> dict[str, str] | None:
    """Return {zh, en} labels of a vocabulary value."""
    if value is None:
        return None
    try:
        member = enum(value)
    except ValueError:
        return None
    return {"zh": member.zh, "en": member.en}


def _nearest_sql(
    params: dict[str, Any],
    lat: float,
    radius_m: float,
    limit: int,
    category: str | None,
    exclude_code: str | None,
    townships: Sequence[str] | None,
    p: str = "",
) -> str:
    """SQL of the open problems within ``radius_m`` of (:lon, :lat), nearest first.

    Parameters go into ``params`` under names prefixed with ``p`` (so that several such queries
    can share one statement).
    """
    dlon, dlat = expand_degrees(lat, radius_m)
    clauses = [OPEN, "p.geom IS NOT NULL", f"p.geom && ST_Expand(q.pt, :{p}dlon, :{p}dlat)"]
    params.update({f"{p}dlon": dlon, f"{p}dlat": dlat, f"{p}r": radius_m, f"{p}n": limit})
    if category:
        clauses.append(f"p.category = :{p}category")
        params[f"{p}category"] = category
    if exclude_code:
        clauses.append(f"p.code <> :{p}exclude")
        params[f"{p}exclude"] = exclude_code
    if townships is not None:
        clauses.append(f"p.township_code = ANY(:{p}towns)")
        params[f"{p}towns"] = list(townships)
    return f"""
        WITH q AS (SELECT {_point_sql()} AS pt)
        SELECT p.code, p.category, p.status, p.description, p.township_code,
               p.responsible_unit, p.deadline,
               ST_Distance(p.geom::geography, q.pt::geography) AS metres,
               ST_X(ST_ClosestPoint(p.geom, q.pt)) AS near_lon,
               ST_Y(ST_ClosestPoint(p.geom, q.pt)) AS near_lat
        FROM problems p, q
        WHERE {" AND ".join(clauses)}
          AND ST_DWithin(p.geom::geography, q.pt::geography, :{p}r)
        ORDER BY metres, p.code
        LIMIT :{p}n
    """


def _problem_out(r: Mapping[str, Any]) -> dict[str, Any]:
    """One nearby problem as JSON-ready values (from a row or from its JSON in SQL)."""
    deadline = r["deadline"]
    return {
        "code": r["code"],
        "category": r["category"],
        "category_label": _labels(vocab.Category, r["category"]),
        "status": r["status"],
        "status_label": _labels(vocab.Status, r["status"]),
        "description": (r["description"] or "")[:DESCRIPTION_CHARS],
        "township_code": r["township_code"],
        "responsible_unit": r["responsible_unit"],
        "deadline": (deadline if isinstance(deadline, str) else deadline.isoformat())
        if deadline else None,
        "distance_m": round(float(r["metres"]), 1),
        "lon": round(float(r["near_lon"]), 7),
        "lat": round(float(r["near_lat"]), 7),
    }


def nearest_open_problems(
    session: Session,
    lon: float,
    lat: float,
    *,
    radius_m: float = 1000.0,
    limit: int = 10,
    category: str | None = None,
    exclude_code: str | None = None,
    townships: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Return up to ``limit`` open problems within ``radius_m`` metres, nearest first.

    ``townships`` limits the answer to problems of those townships (None: every township).
    """
    params: dict[str, Any] = {"lon": lon, "lat": lat}
    sql = _nearest_sql(params, lat, radius_m, limit, category, exclude_code, townships)
    return [_problem_out(r) for r in session.execute(text(sql), params).mappings()]


_ZONES_SQL = f"""
    SELECT s.id, s.name, s.zone_level, w.name AS source_name
    FROM sites s LEFT JOIN sites w ON w.id = s.parent_id
    WHERE s.kind = 'protection_zone' AND ST_Intersects(s.geom, {_point_sql()})
"""


def _zones_out(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Protection zones as JSON-ready values, level 1 first."""
    zones = [
        {
            "id": r["id"],
            "name": r["name"],
            "zone_level": r["zone_level"],
            "level_label": _labels(vocab.ZoneLevel, r["zone_level"]),
            "water_source": r["source_name"],
        }
        for r in rows
    ]
    return sorted(zones, key=lambda z: (ZONE_ORDER.get(z["zone_level"], 9), z["name"]))


def zones_at(session: Session, lon: float, lat: float) -> list[dict[str, Any]]:
    """Return the water-source protection zones holding the point, level 1 first."""
    return _zones_out(session.execute(text(_ZONES_SQL), {"lon": lon, "lat": lat}).mappings())


def _recent_sql(
    params: dict[str, Any],
    lat: float,
    category: str,
    radius_m: float,
    days: int,
    exclude_uuid: str | None,
    townships: Sequence[str] | None,
    p: str = "",
) -> str:
    """SQL of the new-problem inspections of ``category`` near (:lon, :lat), nearest first."""
    dlon, dlat = expand_degrees(lat, radius_m)
    params.update({
        f"{p}category": category, f"{p}dlon": dlon, f"{p}dlat": dlat, f"{p}r": radius_m,
        f"{p}days": days, f"{p}exclude": exclude_uuid,
        f"{p}towns": list(townships) if townships is not None else None,
    })
    return f"""
        WITH q AS (SELECT {_point_sql()} AS pt)
        SELECT x.uuid, x.observed_at, x.note,
               ST_Distance(x.geom::geography, q.pt::geography) AS metres
        FROM inspections x, q
        WHERE x.finding = 'new_problem' AND x.category = :{p}category AND x.problem_id IS NULL
          AND x.geom && ST_Expand(q.pt, :{p}dlon, :{p}dlat)
          AND ST_DWithin(x.geom::geography, q.pt::geography, :{p}r)
          AND x.received_at > now() - make_interval(days => :{p}days)
          AND x.uuid::text IS DISTINCT FROM :{p}exclude
          AND (CAST(:{p}towns AS text[]) IS NULL
               OR x.township_code = ANY(CAST(:{p}towns AS text[])))
        ORDER BY metres LIMIT 10
    """


def _report_out(r: Mapping[str, Any]) -> dict[str, Any]:
    observed = r["observed_at"]
    return {
        "uuid": str(r["uuid"]),
        "observed_at": observed if isinstance(observed, str) else observed.isoformat(),
        "note": (r["note"] or "")[:DESCRIPTION_CHARS],
        "distance_m": round(float(r["metres"]), 1),
    }


def recent_reports(
    session: Session,
    lon: float,
    lat: float,
    category: str,
    *,
    radius_m: float = 50.0,
    days: int = 30,
    exclude_uuid: str | None = None,
    townships: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Return new-problem inspections of ``category`` within ``radius_m`` in the last ``days``."""
    params: dict[str, Any] = {"lon": lon, "lat": lat}
    sql = _recent_sql(params, lat, category, radius_m, days, exclude_uuid, townships)
    return [_report_out(r) for r in session.execute(text(sql), params).mappings()]


def _as_json_array(sql: str) -> str:
    """A scalar subquery giving the rows of ``sql`` as one JSON array of objects."""
    return f"(SELECT COALESCE(json_agg(row_to_json(j)), '[]'::json) FROM ({sql}) j)"


def hints(
    session: Session,
    lon: float,
    lat: float,
    *,
    category: str | None = None,
    problem_code: str | None = None,
    duplicate_radius_m: float = 50.0,
    townships: Sequence[str] | None = None,
    exclude_uuid: str | None = None,
) -> dict[str, Any]:
    """Return what to tell the inspector before submitting: township, zones, likely duplicates.

    One statement: the township and its name, the zones, and (with a category) the open
    problems and recent new-problem reports within the duplicate radius.
    """
    params: dict[str, Any] = {}
    sql = _hints_sql(
        params, lon, lat, category, problem_code, duplicate_radius_m, townships, exclude_uuid
    )
    row = session.execute(text(sql), params).mappings().one()
    return _hints_out(row, lon, lat, duplicate_radius_m)


_BIND = re.compile(r"(?<![:\w]):(\w+)")
_HINT_COLUMNS = {
    "lon": "float8", "lat": "float8", "d_dlon": "float8", "d_dlat": "float8", "d_r": "float8",
    "d_n": "int", "d_category": "text", "d_exclude": "text", "d_towns": "text[]",
    "r_category": "text", "r_dlon": "float8", "r_dlat": "float8", "r_r": "float8",
    "r_days": "int", "r_exclude": "text", "r_towns": "text[]",
}


def _hints_sql(
    params: dict[str, Any],
    lon: float,
    lat: float,
    category: str | None,
    problem_code: str | None,
    duplicate_radius_m: float,
    townships: Sequence[str] | None,
    exclude_uuid: str | None,
) -> str:
    """The statement of :func:`hints` (its parameters go into ``params``)."""
    params.update({"lon": lon, "lat": lat})
    duplicates_sql = reports_sql = "'[]'::json"
    if category:
        duplicates_sql = _as_json_array(_nearest_sql(
            params, lat, duplicate_radius_m, 10, category, problem_code, townships, p="d_"
        ))
        reports_sql = _as_json_array(_recent_sql(
            params, lat, category, duplicate_radius_m, 30, exclude_uuid, townships, p="r_"
        ))
    return f"""
            SELECT tc.code, (SELECT name FROM townships WHERE code = tc.code) AS name,
                   {_as_json_array(_ZONES_SQL)} AS zones,
                   {duplicates_sql} AS duplicates, {reports_sql} AS reports
            FROM (SELECT {township_of_sql(_point_sql())} AS code) tc
            """


def _hints_out(
    row: Mapping[str, Any], lon: float, lat: float, duplicate_radius_m: float
) -> dict[str, Any]:
    township = row["code"]
    return {
        "lon": lon,
        "lat": lat,
        "township_code": township,
        "township_name": row["name"] if township else None,
        "outside_county": township is None,
        "zones": _zones_out(row["zones"]),
        "duplicates": [_problem_out(r) for r in row["duplicates"]],
        "recent_reports": [_report_out(r) for r in row["reports"]],
        "duplicate_radius_m": duplicate_radius_m,
    }


@lru_cache(maxsize=64)
def _per_row_statement(sql: str) -> tuple[Any, tuple[str, ...]]:
    """The statement of :func:`hints_many` for points whose :func:`hints` statement is ``sql``
    (the same text for every point of one shape), and the parameters it reads from each row;
    (None, names) when one of them cannot be read from a row."""
    names = tuple(sorted(set(_BIND.findall(sql))))
    if any(n not in _HINT_COLUMNS for n in names):
        return None, names
    per_row = _BIND.sub(lambda m: f"i.{m.group(1)}", sql)
    columns = ", ".join(f"{n} {_HINT_COLUMNS[n]}" for n in names)
    return text(f"""
            SELECT i.idx, h.* FROM jsonb_to_recordset(CAST(:rows AS jsonb))
                AS i(idx int{", " + columns if columns else ""})
            CROSS JOIN LATERAL ({per_row}) h
        """), names


def hints_many(
    session: Session,
    points: Sequence[Mapping[str, Any]],
    *,
    duplicate_radius_m: float = 50.0,
    townships: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """:func:`hints` of many points at once, in order; one statement per kind of point.

    Each point is a mapping with ``lon``, ``lat`` and optionally ``category``,
    ``problem_code`` and ``exclude_uuid``, the arguments of :func:`hints`. Points whose
    statement has the same shape (with or without a category, a problem code) share one
    statement: the statement of :func:`hints` run for every row of a JSON recordset, its
    parameters read from the row, so each answer is exactly what :func:`hints` gives.
    """
    shapes: dict[tuple[bool, bool], list[int]] = {}
    for index, point in enumerate(points):
        key = (bool(point.get("category")), bool(point.get("problem_code")))
        shapes.setdefault(key, []).append(index)
    out: list[dict[str, Any] | None] = [None] * len(points)
    for indexes in shapes.values():
        rows = []
        sql = ""
        for index in indexes:
            point = points[index]
            params: dict[str, Any] = {}
            sql = _hints_sql(
                params, point["lon"], point["lat"], point.get("category"),
                point.get("problem_code"), duplicate_radius_m, townships,
                point.get("exclude_uuid"),
            )
            rows.append({"idx": index, **params})
        statement, _ = _per_row_statement(sql)
        if statement is None:  # a parameter this function does not know how to read from a row
            for index in indexes:
                point = points[index]
                out[index] = hints(
                    session, point["lon"], point["lat"], category=point.get("category"),
                    problem_code=point.get("problem_code"),
                    duplicate_radius_m=duplicate_radius_m, townships=townships,
                    exclude_uuid=point.get("exclude_uuid"),
                )
            continue
        found = session.execute(statement, {"rows": json.dumps(rows)}).mappings()
        for row in found:
            point = points[row["idx"]]
            out[row["idx"]] = _hints_out(row, point["lon"], point["lat"], duplicate_radius_m)
    return [h for h in out if h is not None]


def offline_pack(session: Session, townships: Sequence[str] | None = None) -> dict[str, Any]:
    """Return open problems (a representative point each) and protection zones, for offline use."""
    problems = [
        dict(r)
        for r in session.execute(
            text(
                f"""
                SELECT p.code, p.category, p.status, left(p.description, {DESCRIPTION_CHARS})
                       AS description, p.township_code,
                       round(ST_X(ST_PointOnSurface(p.geom))::numeric, 7)::float AS lon,
                       round(ST_Y(ST_PointOnSurface(p.geom))::numeric, 7)::float AS lat
                FROM problems p
                WHERE {OPEN} AND p.geom IS NOT NULL
                  AND (CAST(:towns AS text[]) IS NULL
                       OR p.township_code = ANY(CAST(:towns AS text[])))
                ORDER BY p.code
                """
            ),
            {"towns": list(townships) if townships is not None else None},
        ).mappings()
    ]
    zones = session.execute(
        text(
            f"""
            SELECT json_build_object('type', 'FeatureCollection', 'features',
                   COALESCE(json_agg(json_build_object(
                       'type', 'Feature', 'id', s.id,
                       'geometry', {as_geojson_sql("s.geom")},
                       'properties', json_build_object('name', s.name, 'zone_level', s.zone_level)
                   ) ORDER BY s.id), '[]'::json))
            FROM sites s WHERE s.kind = 'protection_zone'
            """
        )
    ).scalar_one()
    return {"problems": problems, "zones": zones}


SURROUNDINGS_RADIUS_M = 1000.0  # the sites and zones a problem's page shows around it
SURROUNDINGS_LIMIT = 30


def _site_label(kind: str, zone_level: str | None) -> tuple[str, str]:
    """(zh, en) of a site's kind; a protection zone by its level."""
    if kind == vocab.SiteKind.PROTECTION_ZONE and zone_level:
        level = _labels(vocab.ZoneLevel, zone_level)
        if level:
            return level["zh"], level["en"]
    labels = _labels(vocab.SiteKind, kind)
    return (labels["zh"], labels["en"]) if labels else (kind, kind)


def problem_surroundings(
    session: Session,
    code: str,
    *,
    today: date,
    radius_m: float = SURROUNDINGS_RADIUS_M,
    limit: int = SURROUNDINGS_LIMIT,
) -> dict[str, Any] | None:
    """The problem's geometry and the sites within ``radius_m`` of it, for its small map.

    A GeoJSON FeatureCollection: the problem first (coloured by its warning), then the sites
    (plants, outfalls, protection zones …) nearest first, each with its kind and name, the
    metres between it and the problem on the spheroid (0 for a zone the problem lies in,
    ``inside`` true) and its colours from :mod:`gis.palette`. ``None`` when the problem has no
    geometry (or does not exist). The index is used through a bounding box sure to hold every
    site within ``radius_m`` (see :func:`expand_degrees`), then geography decides.
    """
    row = session.execute(
        text(
            f"""
            SELECT p.id, {as_geojson_sql("p.geom")} AS geometry, {warning_sql("p")} AS warning,
                   GREATEST(abs(ST_YMin(p.geom)), abs(ST_YMax(p.geom))) AS far_lat
            FROM problems p WHERE p.code = :code AND p.geom IS NOT NULL
            """
        ),
        {"code": code, "today": today},
    ).mappings().one_or_none()
    if row is None:
        return None
    dlon, dlat = expand_degrees(float(row["far_lat"]), radius_m)
    sites = session.execute(
        text(
            f"""
            SELECT s.id, s.kind, s.name, s.zone_level, w.name AS water_source,
                   {as_geojson_sql("s.geom")} AS geometry,
                   ST_Distance(s.geom::geography, p.geom::geography) AS metres,
                   ST_Intersects(s.geom, p.geom) AS inside
            FROM problems p
            JOIN sites s ON s.geom && ST_Expand(p.geom, :dlon, :dlat)
                AND ST_DWithin(s.geom::geography, p.geom::geography, :r)
            LEFT JOIN sites w ON w.id = s.parent_id
            WHERE p.id = :id
            ORDER BY metres, s.id
            LIMIT :n
            """
        ),
        {"id": row["id"], "dlon": dlon, "dlat": dlat, "r": radius_m, "n": limit},
    ).mappings()
    fill, stroke = palette.problem_marker(row["warning"])
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "id": f"problem:{code}",
            "geometry": row["geometry"],
            "properties": {
                "role": "problem", "code": code, "warning": row["warning"],
                "label_zh": f"问题 {code}", "label_en": f"Problem {code}",
                "stroke": stroke, "fill": fill, "fill_opacity": 0.8,
            },
        }
    ]
    for s in sites:
        zh, en = _site_label(s["kind"], s["zone_level"])
        outline, site_fill, opacity = palette.site_style(s["kind"], s["zone_level"])
        metres = 0 if s["inside"] else round(float(s["metres"]))
        features.append({
            "type": "Feature",
            "id": s["id"],
            "geometry": s["geometry"],
            "properties": {
                "role": "site", "id": s["id"], "kind": s["kind"], "name": s["name"],
                "zone_level": s["zone_level"], "water_source": s["water_source"],
                "kind_zh": zh, "kind_en": en, "distance_m": metres, "inside": bool(s["inside"]),
                "label_zh": f"{zh} · {s['name']} · "
                + ("问题位于区内" if s["inside"] else f"{metres} 米"),
                "label_en": f"{en} · {s['name']} · "
                + ("the problem lies inside" if s["inside"] else f"{metres} m"),
                "stroke": outline, "fill": site_fill, "fill_opacity": opacity,
            },
        })
    return {
        "type": "FeatureCollection",
        "features": features,
        "radius_m": radius_m,
        "limit": limit,
    }
