"""CRS handling shared by GeoJSON and OGR sources."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from gis.io.pointfiles.model import (
    PointFileError,
)

_WGS84_LIKE = frozenset({4326, 4490, 4979, 4480})  # WGS 84 and CGCS2000, 2-D and 3-D
_SOURCE_CRS_LABELS = {
    "wgs84": "EPSG:4326",
    "cgcs2000": "EPSG:4490",
    "gcj02": "GCJ-02",
    "bd09": "BD-09",
}


class _Reprojector:
    """Turns source x/y into WGS-84 lon/lat, or says why a point cannot be used."""

    def __init__(self, crs: CRS | None, label: str) -> None:
        """Prepare a transformer unless the CRS is already WGS-84/CGCS2000 lon/lat."""
        self.label = label
        self.crs = crs
        self.transformer: Transformer | None = None
        if crs is not None and not _is_wgs84_like(crs):
            self.transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    @property
    def projected(self) -> bool:
        """Return whether the source CRS is projected (metres/feet)."""
        return self.crs is not None and self.crs.is_projected

    def lonlat(self, x: float, y: float) -> tuple[float, float] | str:
        """Return (lon, lat) or a rejection reason."""
        if self.transformer is None:
            return x, y
        if self.projected and abs(x) <= 180 and abs(y) <= 90:
            return (
                f"coordinates ({x}, {y}) look like degrees but the file declares projected "
                f"{self.label}; fix the file's CRS / "
                f"坐标像经纬度，但文件声明为投影坐标系 {self.label}"
            )
        lon, lat = self.transformer.transform(x, y)
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return f"coordinates ({x}, {y}) cannot be transformed from {self.label}"
        return lon, lat


def _is_wgs84_like(crs: CRS) -> bool:
    """Return whether a CRS is geographic WGS-84/CGCS2000 (or OGC CRS84) needing no transform."""
    if not crs.is_geographic:
        return False
    epsg = crs.to_epsg(min_confidence=70)
    if epsg in _WGS84_LIKE:
        return True
    name = crs.name.upper()
    datum = crs.datum.name.upper() if crs.datum is not None else ""
    wgs84_datum = "1984" in datum and ("WORLD GEODETIC" in datum or "WGS" in datum)
    return "CRS84" in name or "WGS 84" in name or wgs84_datum or "CHINA 2000" in datum


def _crs_label(crs: CRS) -> str:
    """Return "EPSG:nnnn" where possible, else the CRS name."""
    epsg = crs.to_epsg(min_confidence=70)
    if epsg:
        return f"EPSG:{epsg}"
    if "CRS84" in crs.name.upper() or crs.to_string().upper().endswith("CRS84"):
        return "OGC:CRS84"
    return crs.name


def _geojson_crs(obj: dict[str, Any], path: Path) -> CRS | None:
    """Return the CRS named by a legacy GeoJSON ``crs`` member, or None when absent."""
    member = obj.get("crs")
    if member is None:
        return None
    if not isinstance(member, dict):
        raise PointFileError(f"{path.name}: the 'crs' member is not an object")
    props = member.get("properties") or {}
    kind = str(member.get("type", "")).lower()
    if kind == "name":
        text = props.get("name")
    elif kind == "epsg":
        text = f"EPSG:{props.get('code')}"
    else:
        raise PointFileError(
            f"{path.name}: unsupported 'crs' member of type {member.get('type')!r}; "
            "remove it (GeoJSON is WGS-84 lon/lat) or name an EPSG code"
        )
    try:
        return CRS.from_user_input(text)
    except (CRSError, TypeError) as exc:
        raise PointFileError(f"{path.name}: unknown CRS {text!r} in 'crs' member ({exc})") from None
