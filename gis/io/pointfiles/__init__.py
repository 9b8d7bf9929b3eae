"""Read inspection points from user files (GPX, GeoJSON, anything pyogrio reads), losing nothing.

Every input point ends up either in ``PointFileResult.points`` or in ``PointFileResult.rejected``
with a reason; the two share one running ``index`` in document order. Output coordinates are always
lon/lat on WGS-84/CGCS2000; ``PointFileResult.crs`` names the source CRS they came from.
GPX is parsed with the standard library (namespace-agnostic) rather than gpxpy, because gpxpy
fails a whole file on one bad coordinate and silently drops unparseable times.

The package, in the order a file goes through it: model (what a read gives), common (the
collector, times, numbers, sniffing), gpx, crs (shared by GeoJSON and OGR), geojson, ogr, read
(the entry point).
"""

from __future__ import annotations

from gis.io.pointfiles.model import (
    ParsedPoint,
    PointFileError,
    PointFileResult,
    RejectedPoint,
)
from gis.io.pointfiles.read import (
    read_points,
)

__all__ = [
    "ParsedPoint",
    "PointFileError",
    "PointFileResult",
    "RejectedPoint",
    "read_points",
]
