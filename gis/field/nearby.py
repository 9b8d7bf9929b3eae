"""What lies around an inspector: nearest open problems, protection zones, likely duplicates.

Metres are measured on the spheroid (PostGIS geography). A geometry GiST index cannot answer
"within R metres" directly and the KNN operator ``<->`` on geometry orders by degrees, which at
30°N shrinks east–west distances by 13 %; so the index is used through a bounding box that is
sure to hold every point within R metres, then the exact geography distance filters and orders.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import vocab
from gis.geo.sql import as_geojson_sql
from gis.geo.townships import township_for_point
from gis.ledger.deadlines import open_sql

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
    dlon, dlat = expand_degrees(lat, radius_m)
    clauses = [OPEN, "p.geom IS NOT NULL", "p.geom && ST_Expand(q.pt, :dlon, :dlat)"]
    params: dict[str, Any] = {
        "lon": lon, "lat": lat, "dlon": dlon, "dlat": dlat, "r": radius_m, "n": limit
    }
    if category:
        clauses.append("p.category = :category")
        params["category"] = category
    if exclude_code:
        clauses.append("p.code <> :exclude")
        params["exclude"] = exclude_code
    if townships is not None:
        clauses.append("p.township_code = ANY(:towns)")
        params["towns"] = list(townships)
    rows = session.execute(
        text(
            f"""
            WITH q AS (SELECT {_point_sql()} AS pt)
            SELECT p.code, p.category, p.status, p.description, p.township_code,
                   p.responsible_unit, p.deadline,
                   ST_Distance(p.geom::geography, q.pt::geography) AS metres,
                   ST_X(ST_ClosestPoint(p.geom, q.pt)) AS near_lon,
                   ST_Y(ST_ClosestPoint(p.geom, q.pt)) AS near_lat
            FROM problems p, q
            WHERE {" AND ".join(clauses)}
              AND ST_DWithin(p.geom::geography, q.pt::geography, :r)
            ORDER BY metres, p.code
            LIMIT :n
            """
        ),
        params,
    ).mappings()
    return [
        {
            "code": r["code"],
            "category": r["category"],
            "category_label": _labels(vocab.Category, r["category"]),
            "status": r["status"],
            "status_label": _labels(vocab.Status, r["status"]),
            "description": (r["description"] or "")[:DESCRIPTION_CHARS],
            "township_code": r["township_code"],
            "responsible_unit": r["responsible_unit"],
            "deadline": r["deadline"].isoformat() if r["deadline"] else None,
            "distance_m": round(float(r["metres"]), 1),
            "lon": round(float(r["near_lon"]), 7),
            "lat": round(float(r["near_lat"]), 7),
        }
        for r in rows
    ]


def zones_at(session: Session, lon: float, lat: float) -> list[dict[str, Any]]:
    """Return the water-source protection zones holding the point, level 1 first."""
    rows = session.execute(
        text(
            f"""
            SELECT s.id, s.name, s.zone_level, w.name AS source_name
            FROM sites s LEFT JOIN sites w ON w.id = s.parent_id
            WHERE s.kind = 'protection_zone' AND ST_Intersects(s.geom, {_point_sql()})
            """
        ),
        {"lon": lon, "lat": lat},
    ).mappings()
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
    dlon, dlat = expand_degrees(lat, radius_m)
    rows = session.execute(
        text(
            f"""
            WITH q AS (SELECT {_point_sql()} AS pt)
            SELECT x.uuid, x.observed_at, x.note,
                   ST_Distance(x.geom::geography, q.pt::geography) AS metres
            FROM inspections x, q
            WHERE x.finding = 'new_problem' AND x.category = :category AND x.problem_id IS NULL
              AND x.geom && ST_Expand(q.pt, :dlon, :dlat)
              AND ST_DWithin(x.geom::geography, q.pt::geography, :r)
              AND x.received_at > now() - make_interval(days => :days)
              AND x.uuid::text IS DISTINCT FROM :exclude
              AND (CAST(:towns AS text[]) IS NULL OR x.township_code = ANY(CAST(:towns AS text[])))
            ORDER BY metres LIMIT 10
            """
        ),
        {
            "lon": lon, "lat": lat, "category": category, "dlon": dlon, "dlat": dlat,
            "r": radius_m, "days": days, "exclude": exclude_uuid,
            "towns": list(townships) if townships is not None else None,
        },
    ).mappings()
    return [
        {
            "uuid": str(r["uuid"]),
            "observed_at": r["observed_at"].isoformat(),
            "note": (r["note"] or "")[:DESCRIPTION_CHARS],
            "distance_m": round(float(r["metres"]), 1),
        }
        for r in rows
    ]


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
    """Return what to tell the inspector before submitting: township, zones, likely duplicates."""
    duplicates: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    if category:
        duplicates = nearest_open_problems(
            session, lon, lat, radius_m=duplicate_radius_m, limit=10, category=category,
            exclude_code=problem_code, townships=townships,
        )
        reports = recent_reports(
            session, lon, lat, category, radius_m=duplicate_radius_m, townships=townships,
            exclude_uuid=exclude_uuid,
        )
    township = township_for_point(session, lon, lat)
    name = None
    if township:
        name = session.execute(
            text("SELECT name FROM townships WHERE code = :c"), {"c": township}
        ).scalar()
    return {
        "lon": lon,
        "lat": lat,
        "township_code": township,
        "township_name": name,
        "outside_county": township is None,
        "zones": zones_at(session, lon, lat),
        "duplicates": duplicates,
        "recent_reports": reports,
        "duplicate_radius_m": duplicate_radius_m,
    }


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
