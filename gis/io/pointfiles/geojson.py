"""GeoJSON: points and multipoints in any declared CRS, with their properties."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from gis.io.pointfiles.common import (
    _Collector,
    _parse_time,
)
from gis.io.pointfiles.crs import (
    _crs_label,
    _geojson_crs,
    _is_wgs84_like,
    _Reprojector,
)
from gis.io.pointfiles.model import (
    _NAME_KEYS,
    _TIME_KEYS,
    FLAG_TIME_NAIVE,
    FLAG_TIME_UNREADABLE,
    PointFileError,
)

_GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
     "GeometryCollection"}
)  # fmt: skip


def _summary(geometry: Any) -> Any:
    """Return a geometry small enough to keep in a rejection (type only for non-points)."""
    if isinstance(geometry, dict) and geometry.get("type") not in ("Point", "MultiPoint"):
        return {"type": geometry.get("type")}
    return geometry


def _pick(properties: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """Return the first property whose key matches one of keys, case-insensitively."""
    lowered = {str(k).lower(): v for k, v in properties.items()}
    for key in keys:
        if lowered.get(key) not in (None, ""):
            return lowered[key]
    return None


def _json_point(
    position: Any,
    *,
    properties: dict[str, Any],
    raw: Any,
    reproject: _Reprojector,
    out: _Collector,
) -> None:
    """Turn one GeoJSON position into a point or a rejection."""
    if (
        not isinstance(position, list | tuple)
        or len(position) < 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position[:3])
    ):
        out.reject(f"invalid coordinates {position!r} / 坐标无效", raw)
        return
    try:
        x, y = float(position[0]), float(position[1])
        ele = float(position[2]) if len(position) > 2 else None
    except OverflowError:
        out.reject(f"coordinates out of range {position!r} / 坐标超出范围", raw)
        return
    ele = ele if ele is not None and math.isfinite(ele) else None
    if math.isfinite(x) and math.isfinite(y):
        converted = reproject.lonlat(x, y)
        if isinstance(converted, str):
            out.reject(converted, raw)
            return
        x, y = converted

    flags: set[str] = set()
    time = None
    time_value = _pick(properties, _TIME_KEYS)
    if isinstance(time_value, str):
        time, naive = _parse_time(time_value)
        if time is None:
            flags.add(FLAG_TIME_UNREADABLE)
        elif naive:
            flags.add(FLAG_TIME_NAIVE)
            out.warn("some times have no time zone and were taken as UTC")
    name = _pick(properties, _NAME_KEYS)
    out.accept(
        x,
        y,
        raw=raw,
        ele=ele,
        time=time,
        name=str(name) if name is not None else None,
        properties=properties,
        source_kind="feature",
        flags=frozenset(flags),
    )


def _json_geometry(
    geometry: Any,
    *,
    properties: dict[str, Any],
    raw: Any,
    reproject: _Reprojector,
    out: _Collector,
) -> None:
    """Turn one GeoJSON geometry (any type) into points and rejections."""
    if geometry is None:
        out.reject("no geometry / 无几何", raw)
        return
    if not isinstance(geometry, dict) or geometry.get("type") not in _GEOMETRY_TYPES:
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        out.reject(f"invalid geometry {kind!r} / 几何无效", raw)
        return
    kind = geometry["type"]
    if kind == "Point":
        _json_point(
            geometry.get("coordinates"),
            properties=properties,
            raw=raw,
            reproject=reproject,
            out=out,
        )
    elif kind == "MultiPoint":
        parts = geometry.get("coordinates")
        if not isinstance(parts, list) or not parts:
            out.reject("empty MultiPoint / 空的多点几何", raw)
            return
        for part, position in enumerate(parts):
            _json_point(
                position,
                properties={**properties, "part": part},
                raw=raw,
                reproject=reproject,
                out=out,
            )
    elif kind == "GeometryCollection":
        members = geometry.get("geometries")
        if not isinstance(members, list) or not members:
            out.reject("empty GeometryCollection / 空的几何集合", raw)
            return
        for part, member in enumerate(members):
            _json_geometry(
                member,
                properties={**properties, "part": part},
                raw=_summary(member),
                reproject=reproject,
                out=out,
            )
    else:
        out.reject(f"not a point: {kind} / 不是点要素：{kind}", raw)


def _json_feature(feature: Any, reproject: _Reprojector, out: _Collector) -> None:
    """Turn one GeoJSON Feature into points and rejections."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        kind = feature.get("type") if isinstance(feature, dict) else type(feature).__name__
        out.reject(f"not a GeoJSON Feature: {kind!r} / 不是要素", feature)
        return
    properties = feature.get("properties")
    properties = dict(properties) if isinstance(properties, dict) else {}
    if "id" in feature:
        properties.setdefault("id", feature["id"])
    geometry = feature.get("geometry")
    raw = {**feature, "geometry": _summary(geometry)}
    _json_geometry(geometry, properties=properties, raw=raw, reproject=reproject, out=out)


def _read_geojson(data: bytes, path: Path, out: _Collector) -> None:
    """Read points from a GeoJSON FeatureCollection, Feature or bare geometry."""
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise PointFileError(f"{path.name}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise PointFileError(
            f"{path.name}: malformed or truncated JSON at line {exc.lineno}, column {exc.colno} "
            f"({exc.msg})"
        ) from None
    out.result.file_format = "geojson"
    if isinstance(obj, list):
        if not obj or not all(isinstance(f, dict) and f.get("type") == "Feature" for f in obj):
            raise PointFileError(f"{path.name}: JSON top level is a list, not GeoJSON")
        out.warn("top level is a bare list of features; read as a FeatureCollection")
        obj = {"type": "FeatureCollection", "features": obj}
    if not isinstance(obj, dict):
        raise PointFileError(f"{path.name}: JSON top level is not an object; not GeoJSON")

    crs = _geojson_crs(obj, path)
    if crs is not None:
        label = _crs_label(crs)
        out.result.crs = label
        if not _is_wgs84_like(crs):
            out.warn(f"coordinates declared in {label}; transformed to EPSG:4326")
        if out.shift != "wgs84" and not _is_wgs84_like(crs):
            raise PointFileError(
                f"{path.name}: declares {label} but was also said to be {out.shift}; pick one"
            )
    reproject = _Reprojector(crs, out.result.crs)

    kind = obj.get("type")
    if isinstance(obj.get("features"), list):
        if kind != "FeatureCollection":
            out.warn(f"top level says type {kind!r} but has 'features'; read as FeatureCollection")
        for feature in obj["features"]:
            _json_feature(feature, reproject, out)
    elif kind == "Feature":
        _json_feature(obj, reproject, out)
    elif kind in _GEOMETRY_TYPES:
        _json_geometry(obj, properties={}, raw=_summary(obj), reproject=reproject, out=out)
    else:
        raise PointFileError(f"{path.name}: JSON is not GeoJSON (top-level type {kind!r})")
    if projected_degrees := sum(1 for r in out.result.rejected if "look like degrees" in r.reason):
        out.warn(
            f"{projected_degrees} point(s) look like degrees although the file declares "
            f"{out.result.crs}; they were rejected rather than guessed"
        )
