"""Small SQL fragments for geometry output, so every endpoint serialises the same way."""

from __future__ import annotations

GEOJSON_DIGITS = 6  # 1e-6 degrees ≈ 0.1 m


def as_geojson_sql(column: str, digits: int = GEOJSON_DIGITS) -> str:
    """SQL: ``column`` as a GeoJSON geometry (json), lon/lat, with no ``crs`` member (RFC 7946)."""
    return f"ST_AsGeoJSON({column}, {digits}, 0)::json"
