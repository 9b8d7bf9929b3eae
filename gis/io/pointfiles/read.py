"""The entry point: read any supported file into points and reasoned rejections."""

from __future__ import annotations

from pathlib import Path

from gis.io.pointfiles.common import (
    _Collector,
    _read_bytes,
    _sniff,
)
from gis.io.pointfiles.crs import (
    _SOURCE_CRS_LABELS,
)
from gis.io.pointfiles.geojson import (
    _read_geojson,
)
from gis.io.pointfiles.gpx import (
    _local,
    _parse_gpx_xml,
    _read_gpx,
)
from gis.io.pointfiles.model import (
    OGR_EXTENSIONS,
    PointFileError,
    PointFileResult,
)
from gis.io.pointfiles.ogr import (
    _read_ogr,
)


def read_points(path: str | Path, *, source_crs: str | None = None) -> PointFileResult:
    """Read every point of a GPX/GeoJSON/OGR file into parsed points and reasoned rejections."""
    path = Path(path)
    result = PointFileResult()
    try:
        out = _Collector(result, source_crs)
    except ValueError as exc:
        raise PointFileError(str(exc)) from None
    try:
        _dispatch(path, out)
    except RecursionError:
        raise PointFileError(f"{path.name}: nested too deeply to be a point file") from None
    if not result.total:
        out.warn("the file contains no points")
    if source_crs is not None:
        result.crs = _SOURCE_CRS_LABELS[out.shift]
        if out.shift in ("gcj02", "bd09"):
            out.warn(f"lon/lat converted from {result.crs} to WGS-84")
    return result


def _dispatch(path: Path, out: _Collector) -> None:
    """Pick the reader from the extension and the file's first bytes."""
    suffix = path.suffix.lower()
    if suffix in OGR_EXTENSIONS:
        if not path.exists():
            raise PointFileError(f"{path}: file not found")
        _read_ogr(path, out)
    else:
        data = _read_bytes(path)
        if not data.strip():
            raise PointFileError(f"{path.name}: file is empty")
        kind = _sniff(data)
        if kind == "xml":
            root = _parse_gpx_xml(data, path)
            if _local(root.tag) == "gpx":
                _read_gpx(root, out)
            else:
                _read_ogr(path, out)
        elif kind == "json":
            _read_geojson(data, path, out)
        else:
            _read_ogr(path, out)
