"""Reading a layer and its CRS: any file pyogrio reads, CRS recognised from coordinates when
missing, Gauss-Krüger zone prefixes corrected, everything to CGCS2000 (EPSG:4490)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from gis.db.models import SRID
from gis.io.boundaries.report import (
    CHINA_LONLAT,
    BoundaryImportError,
    ImportReport,
)


def _is_text(series: pd.Series) -> bool:
    """True for a column of strings (object or pandas string dtype)."""
    return series.dtype == object or pd.api.types.is_string_dtype(series.dtype)


def _has_cjk(frame: pd.DataFrame) -> bool:
    for column in frame.columns:
        if column == frame.geometry.name or not _is_text(frame[column]):
            continue
        if frame[column].astype(str).str.contains(r"[\u4e00-\u9fff]", regex=True).any():
            return True
    return False


def read_layer(
    path: Path,
    report: ImportReport,
    *,
    layer: str | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read one layer of ``path`` (the first polygon or only layer unless ``layer`` is named)."""
    if not path.exists():
        raise BoundaryImportError(f"no such file: {path}")
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # noqa: BLE001 - any GDAL open error means unreadable
        raise BoundaryImportError(f"cannot read {path}: {exc}") from exc
    if layer is None and len(layers) > 1:
        names = [str(n) for n, _ in layers]
        polygonal = [str(n) for n, g in layers if g and "polygon" in str(g).lower()]
        layer = polygonal[0] if polygonal and report.kind == "townships" else names[0]
        report.warnings.append(f"{path.name} has layers {', '.join(names)}: read {layer!r}")
    try:
        frame = gpd.read_file(path, layer=layer, encoding=encoding, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001
        raise BoundaryImportError(f"cannot read {path}: {exc}") from exc
    is_shp = path.suffix.lower() == ".shp"
    no_cpg = not any(path.with_suffix(s).exists() for s in (".cpg", ".CPG"))
    if is_shp and encoding is None and no_cpg and len(frame) and not _has_cjk(frame):
        try:
            gbk = gpd.read_file(path, layer=layer, encoding="gbk", engine="pyogrio")
        except Exception:  # noqa: BLE001 - keep the first reading
            gbk = None
        if gbk is not None and _has_cjk(gbk):
            report.warnings.append(f"{path.name} has no .cpg: text read as GBK (pass encoding=…)")
            frame = gbk
    if not isinstance(frame, gpd.GeoDataFrame) or (len(frame) and frame.geometry.isna().all()):
        raise BoundaryImportError(f"{path.name}: the layer has no geometry")
    return frame


def _prefix_zone(xs: np.ndarray) -> int | None:
    zones = np.unique(np.floor(xs / 1_000_000).astype(int))
    return int(zones[0]) if len(zones) == 1 and 13 <= zones[0] <= 45 else None


def _cgcs2000_gk(zone: int) -> int | None:
    """EPSG code of the CGCS2000 Gauss–Krüger CRS with zone prefix ``zone`` (3° or 6°)."""
    if 25 <= zone <= 45:
        return 4513 + zone - 25
    if 13 <= zone <= 23:
        return 4491 + zone - 13
    return None


def _with_false_easting(crs: CRS, false_easting: float) -> CRS:
    """``crs`` with another false easting: the EPSG CGCS2000 CRS when there is one."""
    params = {k: v for k, v in crs.to_dict().items() if k != "type"}
    lon_0, zone = float(params.get("lon_0", 0)), int(false_easting // 1_000_000)
    if crs.ellipsoid is not None and crs.ellipsoid.name in ("CGCS2000", "GRS 1980"):
        code = None
        if zone and lon_0 == 3 * zone:
            code = _cgcs2000_gk(zone) if 25 <= zone <= 45 else None
        elif zone and lon_0 == 6 * zone - 3:
            code = _cgcs2000_gk(zone) if 13 <= zone <= 23 else None
        elif not zone and lon_0 in range(75, 136, 3):
            code = 4534 + (int(lon_0) - 75) // 3
        if code is not None:
            return CRS.from_epsg(code)
    params["x_0"] = false_easting
    return CRS.from_dict(params)


def resolve_crs(
    frame: gpd.GeoDataFrame, report: ImportReport, crs: str | int | None = None
) -> gpd.GeoDataFrame:
    """The frame with its true CRS set: declared, given, guessed, or zone prefix corrected."""
    xs = frame.geometry.bounds[["minx", "maxx"]].to_numpy().ravel()
    xs = xs[np.isfinite(xs)]
    bounds = frame.total_bounds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if crs is not None:
            given = CRS.from_user_input(crs)
            if frame.crs is not None and not CRS.from_user_input(frame.crs).equals(given):
                report.warnings.append(
                    f"the file declares {CRS.from_user_input(frame.crs).name}; "
                    f"read as {given.name} as asked"
                )
            frame = frame.set_crs(given, allow_override=True)
        elif frame.crs is None:
            minx, miny, maxx, maxy = bounds
            if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
                frame = frame.set_crs(SRID)
                report.warnings.append(
                    "the file has no CRS; its coordinates are longitude/latitude: "
                    "read as CGCS2000 (EPSG:4490)"
                )
            else:
                zone = _prefix_zone(xs) if len(xs) else None
                code = _cgcs2000_gk(zone) if zone else None
                if code is None:
                    raise BoundaryImportError(
                        "the file has no CRS and its coordinates are neither longitude/latitude "
                        "nor Gauss–Krüger with a zone prefix; give the CRS (e.g. EPSG:4547)"
                    )
                frame = frame.set_crs(code)
                report.warnings.append(
                    f"the file has no CRS; x coordinates carry zone prefix {zone}: "
                    f"read as {CRS.from_epsg(code).name} (EPSG:{code})"
                )
        declared = CRS.from_user_input(frame.crs)
        params = declared.to_dict() if declared.is_projected else {}
        if params.get("proj") == "tmerc" and len(xs):
            x0 = float(params.get("x_0", 0))
            zone = _prefix_zone(xs)
            if x0 < 1_000_000 and zone is not None and np.min(xs) > 10_000_000:
                fixed = _with_false_easting(declared, zone * 1_000_000 + x0)
                report.warnings.append(
                    f"{declared.name} has no zone prefix but the x coordinates start with {zone}: "
                    f"read as {fixed.name}"
                )
                frame = frame.set_crs(fixed, allow_override=True)
            elif x0 >= 1_000_000 and np.max(xs) < 1_000_000:
                fixed = _with_false_easting(declared, x0 % 1_000_000)
                report.warnings.append(
                    f"{declared.name} expects a zone prefix but the x coordinates have none: "
                    f"read as {fixed.name}"
                )
                frame = frame.set_crs(fixed, allow_override=True)
    source = CRS.from_user_input(frame.crs)
    code = source.to_epsg(min_confidence=70)
    report.source_crs = f"{source.name}" + (f" (EPSG:{code})" if code else "")
    ellipsoid = source.ellipsoid.name if source.ellipsoid else ""
    if ellipsoid not in ("CGCS2000", "GRS 1980", "WGS 84"):
        report.warnings.append(
            f"source ellipsoid {ellipsoid!r} is not CGCS2000/WGS-84 (Beijing 1954 or Xi'an 1980?): "
            "without local transformation parameters positions may be off by tens of metres"
        )
    return frame


def to_storage_crs(frame: gpd.GeoDataFrame, report: ImportReport) -> gpd.GeoDataFrame:
    """Transform to EPSG:4490 (2D) and check the result lies on Earth (and, normally, China)."""
    out = frame.to_crs(SRID)
    out = out.set_geometry(shapely.force_2d(out.geometry.values))
    minx, miny, maxx, maxy = out.total_bounds
    if not all(map(math.isfinite, (minx, miny, maxx, maxy))) or not (
        -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
    ):
        raise BoundaryImportError(
            f"after transformation from {report.source_crs} the coordinates are not valid "
            "longitude/latitude: the file's CRS is probably wrong; give it explicitly"
        )
    cx0, cy0, cx1, cy1 = CHINA_LONLAT
    if minx < cx0 or maxx > cx1 or miny < cy0 or maxy > cy1:
        report.warnings.append(
            f"data extends outside China ({minx:.4f}, {miny:.4f}) – ({maxx:.4f}, {maxy:.4f}): "
            "check the CRS"
        )
    return out
