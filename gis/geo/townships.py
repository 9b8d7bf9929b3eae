"""Township assignment (属地): which township a geometry belongs to, decided in PostGIS.

A point on the border of two townships belongs to the one with the smaller code, so the answer
never depends on row order. A line or polygon belongs to the township holding the greatest
length or area of it (measured on the spheroid, in metres). Outside every township: ``None``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.geo.sql import as_geojson_sql

# One home for the rule, used for single geometries and for bulk updates alike.
_TOWNSHIP_OF = """
    SELECT t.code FROM townships t
    WHERE ST_Intersects(t.geom, {g})
    ORDER BY
        CASE
            WHEN ST_Dimension({g}) = 2
                THEN ST_Area(ST_Intersection(t.geom, {g})::geography)
            WHEN ST_Dimension({g}) = 1
                THEN ST_Length(ST_Intersection(t.geom, {g})::geography)
            ELSE 0
        END DESC,
        t.code
    LIMIT 1
"""

ASSIGNABLE_TABLES = ("problems", "sites", "inspections", "complaints")


def township_of_sql(geometry_sql: str) -> str:
    """A scalar subquery giving the township code of ``geometry_sql`` (an SQL expression)."""
    return "(" + _TOWNSHIP_OF.format(g=geometry_sql) + ")"


def township_exists(session: Session, code: str) -> bool:
    """Whether a township with this code is loaded."""
    found = session.execute(text("SELECT 1 FROM townships WHERE code = :c"), {"c": code})
    return found.first() is not None


def township_for_wkt(session: Session, wkt: str, srid: int = 4490) -> str | None:
    """The township code for a WKT geometry in ``srid``, or None outside every township."""
    sql = "SELECT " + township_of_sql(f"ST_Transform(ST_GeomFromText(:wkt, {srid}), 4490)")
    return session.execute(text(sql), {"wkt": wkt}).scalar()


def township_for_point(session: Session, lon: float, lat: float) -> str | None:
    """The township code for a CGCS2000/WGS-84 point."""
    sql = "SELECT " + township_of_sql("ST_SetSRID(ST_MakePoint(:lon, :lat), 4490)")
    return session.execute(text(sql), {"lon": lon, "lat": lat}).scalar()


def assign_missing_townships(session: Session, table: str) -> int:
    """Fill ``township_code`` from the geometry where it is NULL; returns rows updated."""
    if table not in ASSIGNABLE_TABLES:
        raise ValueError(f"cannot assign townships in {table!r}")
    sql = f"""
        UPDATE {table} AS x SET township_code = {township_of_sql("x.geom")}
        WHERE x.township_code IS NULL AND x.geom IS NOT NULL
          AND EXISTS (SELECT 1 FROM townships t WHERE ST_Intersects(t.geom, x.geom))
    """
    result: Any = session.execute(text(sql))
    return int(result.rowcount or 0)


def townships_geojson(session: Session) -> dict:
    """All townships as a GeoJSON FeatureCollection, geometry serialised in SQL."""
    row = session.execute(
        text(
            f"""
            SELECT json_build_object(
                'type', 'FeatureCollection',
                'features', COALESCE(json_agg(json_build_object(
                    'type', 'Feature',
                    'id', code,
                    'geometry', {as_geojson_sql("geom")},
                    'properties', json_build_object('code', code, 'name', name)
                ) ORDER BY code), '[]'::json))
            FROM townships
            """
        )
    ).scalar_one()
    return row
