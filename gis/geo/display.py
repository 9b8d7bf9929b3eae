"""Coordinates for display only: shift GeoJSON to the basemap's datum, never the stored data.

Stored geometry is CGCS2000/WGS-84. Tianditu tiles use the same datum, so nothing moves; Amap-style
tiles are GCJ-02, so every coordinate is shifted on the way out (once, at the edge).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gis.geo.coords import from_wgs84


def _shift(coords: Any, crs: str) -> Any:
    arr = np.asarray(coords, dtype=float)
    if arr.ndim == 1:
        x, y = from_wgs84(arr[0], arr[1], crs)
        return [round(float(x), 7), round(float(y), 7), *arr[2:].tolist()]
    if arr.ndim == 2 and arr.shape[1] >= 2:
        x, y = from_wgs84(arr[:, 0], arr[:, 1], crs)
        out = np.column_stack([np.round(x, 7), np.round(y, 7), arr[:, 2:]])
        return out.tolist()
    return [_shift(part, crs) for part in coords]


def for_display(collection: dict, crs: str) -> dict:
    """A copy of a FeatureCollection with coordinates in ``crs`` (``wgs84`` returns it as is)."""
    if crs in ("wgs84", "cgcs2000"):
        return collection
    features = []
    for feature in collection.get("features", []):
        geometry = feature.get("geometry")
        if geometry and geometry.get("coordinates") is not None:
            geometry = {**geometry, "coordinates": _shift(geometry["coordinates"], crs)}
        features.append({**feature, "geometry": geometry})
    return {**collection, "features": features}


def heat_for_display(points: list[list[float]], crs: str) -> list[list[float]]:
    """``[lat, lon, w]`` triples shifted to ``crs``."""
    if crs in ("wgs84", "cgcs2000") or not points:
        return points
    arr = np.asarray(points, dtype=float)
    x, y = from_wgs84(arr[:, 1], arr[:, 0], crs)
    return np.column_stack([np.round(y, 6), np.round(x, 6), arr[:, 2]]).tolist()
