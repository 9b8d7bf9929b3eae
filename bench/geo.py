"""Where the demo county is: its extent and the county seat, read from the townships."""

from __future__ import annotations

from sqlalchemy import Engine, text


def county_frame(
    engine: Engine,
) -> tuple[tuple[float, float, float, float], tuple[float, float]]:
    """The townships' lon/lat extent, and a point in the county seat (the smallest code)."""
    with engine.connect() as conn:
        ext = conn.execute(
            text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                 "FROM (SELECT ST_Extent(geom) AS e FROM townships) x")
        ).one()
        seat = conn.execute(
            text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
                 "FROM townships ORDER BY code LIMIT 1) x")
        ).one()
    return (float(ext[0]), float(ext[1]), float(ext[2]), float(ext[3])), (
        float(seat[0]), float(seat[1]))
