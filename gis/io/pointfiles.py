"""Read inspection points from user files (GPX, GeoJSON, anything pyogrio reads), losing nothing.

Every input point ends up either in ``PointFileResult.points`` or in ``PointFileResult.rejected``
with a reason; the two share one running ``index`` in document order. Output coordinates are always
lon/lat on WGS-84/CGCS2000; ``PointFileResult.crs`` names the source CRS they came from.
GPX is parsed with the standard library (namespace-agnostic) rather than gpxpy, because gpxpy
fails a whole file on one bad coordinate and silently drops unparseable times.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from gis.errors import LookbackError
from gis.geo import coords

__all__ = [
    "ParsedPoint",
    "PointFileError",
    "PointFileResult",
    "RejectedPoint",
    "read_points",
]

SourceKind = Literal["waypoint", "trackpoint", "routepoint", "feature"]

# Flags a ParsedPoint may carry.
FLAG_TIME_NAIVE = "time_naive_assumed_utc"
FLAG_TIME_UNREADABLE = "time_unreadable"
FLAG_ELE_UNREADABLE = "ele_unreadable"

OGR_EXTENSIONS = frozenset(
    {".shp", ".dbf", ".gpkg", ".fgb", ".kml", ".kmz", ".gml", ".tab", ".mif", ".zip", ".sqlite"}
)
GPX_NAMESPACES = frozenset(
    {"http://www.topografix.com/GPX/1/0", "http://www.topografix.com/GPX/1/1"}
)
# GPX point children kept as numbers in ``properties``.
_GPX_NUMERIC = frozenset(
    {
        "magvar", "geoidheight", "hdop", "vdop", "pdop", "ageofdgpsdata", "speed", "course",
        "sat", "dgpsid",
    }
)  # fmt: skip
_GPX_INTEGER = frozenset({"sat", "dgpsid"})
_GPX_HANDLED = frozenset({"ele", "time", "name", "link", "extensions"})
_TIME_KEYS = ("time", "timestamp", "datetime")
_NAME_KEYS = ("name", "title")
_RAW_TEXT_LIMIT = 500


class PointFileError(LookbackError):
    """The file cannot be read at all (unreadable, malformed, truncated, unknown format)."""


@dataclass(frozen=True)
class ParsedPoint:
    """One accepted point: lon/lat in WGS-84/CGCS2000, UTC-aware time, and what came with it."""

    index: int
    lon: float
    lat: float
    ele: float | None
    time: datetime | None
    name: str | None
    properties: dict[str, Any]
    source_kind: SourceKind
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RejectedPoint:
    """One input point (or feature) that was not accepted, with the reason and what it held."""

    index: int
    reason: str
    raw: Any


@dataclass
class PointFileResult:
    """Everything read from one file: accepted points, rejections, warnings and the source CRS."""

    points: list[ParsedPoint] = field(default_factory=list)
    rejected: list[RejectedPoint] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    crs: str = "EPSG:4326"
    file_format: str = ""

    @property
    def total(self) -> int:
        """Return how many input points/features were seen (accepted + rejected)."""
        return len(self.points) + len(self.rejected)


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------


class _Collector:
    """Hands out running indices and collects points, rejections and warnings for one file."""

    def __init__(self, result: PointFileResult, source_crs: str | None) -> None:
        """Start collecting into ``result``; ``source_crs`` (gcj02/bd09...) shifts lon/lat."""
        self.result = result
        self.next_index = 0
        self.shift = coords.normalize_crs(source_crs) if source_crs else "wgs84"
        self._warned: set[str] = set()

    def warn(self, message: str) -> None:
        """Record a warning once."""
        if message not in self._warned:
            self._warned.add(message)
            self.result.warnings.append(message)

    def reject(self, reason: str, raw: Any) -> None:
        """Record one rejection."""
        self.result.rejected.append(RejectedPoint(self.next_index, reason, raw))
        self.next_index += 1

    def accept(
        self,
        lon: Any,
        lat: Any,
        *,
        raw: Any,
        ele: float | None = None,
        time: datetime | None = None,
        name: str | None = None,
        properties: dict[str, Any] | None = None,
        source_kind: SourceKind,
        flags: frozenset[str] = frozenset(),
    ) -> None:
        """Validate lon/lat (then shift GCJ-02/BD-09 to WGS-84) and record a point or rejection."""
        try:
            x, y = coords.validate_lonlat(lon, lat)
        except coords.CoordinateError as exc:
            self.reject(exc.message, raw)
            return
        if self.shift in ("gcj02", "bd09"):
            x, y = coords.to_wgs84(x, y, self.shift)
        point = ParsedPoint(
            index=self.next_index,
            lon=float(x),
            lat=float(y),
            ele=ele,
            time=time,
            name=name,
            properties=properties or {},
            source_kind=source_kind,
            flags=flags,
        )
        self.result.points.append(point)
        self.next_index += 1


def _parse_time(text: str) -> tuple[datetime | None, bool]:
    """Return (UTC-aware time, was_naive) for ISO-8601 text, or (None, False) if unreadable."""
    s = text.strip()
    if not s:
        return None, False
    try:
        value = datetime.fromisoformat(s)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC), True
        return value.astimezone(UTC), False
    except (ValueError, OverflowError):
        return None, False


def _float_or_none(text: str | None) -> tuple[float | None, bool]:
    """Return (finite float or None, unreadable) for optional numeric text."""
    if text is None or not text.strip():
        return None, False
    try:
        value = float(text)
    except ValueError:
        return None, True
    return (value, False) if math.isfinite(value) else (None, True)


def _read_bytes(path: Path) -> bytes:
    """Return the file's bytes or raise PointFileError."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PointFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise PointFileError(f"{path}: is a directory, not a point file") from None
    except OSError as exc:
        raise PointFileError(f"{path}: cannot read file ({exc.strerror or exc})") from None


def _sniff(data: bytes) -> str:
    """Return "xml", "json", "sqlite" or "" from the first bytes of a file."""
    if data.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    head = data[:4096]
    boms = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
    for bom, enc in boms:
        if head.startswith(bom):
            head = head[len(bom) :].decode(enc, errors="ignore").encode("utf-8")
            break
    stripped = head.lstrip()
    if stripped.startswith(b"<"):
        return "xml"
    if stripped.startswith((b"{", b"[")):
        return "json"
    return ""


# ---------------------------------------------------------------------------------------------
# GPX
# ---------------------------------------------------------------------------------------------


def _local(tag: Any) -> str:
    """Return an element tag without its namespace ("" for comments/processing instructions)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    """Return an element tag's namespace URI, or ""."""
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _children(elem: ET.Element, name: str) -> Iterator[ET.Element]:
    """Yield direct children with the given local name, whatever their namespace."""
    return (child for child in elem if _local(child.tag) == name)


def _child_text(elem: ET.Element, name: str) -> str | None:
    """Return the stripped text of the first direct child with this local name, or None."""
    for child in _children(elem, name):
        return (child.text or "").strip()
    return None


def _parse_gpx_xml(data: bytes, path: Path) -> ET.Element:
    """Return the parsed XML root, refusing DTDs and turning parser errors into PointFileError."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if body[:1].isspace():
        body = body.lstrip()  # whitespace before <?xml ...?> is a fatal error for expat
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise PointFileError(f"{path.name}: XML with a DTD or entities is not accepted")
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        detail = str(exc).split(":", 1)[0]
        raise PointFileError(
            f"{path.name}: malformed or truncated XML at line {line}, column {column} ({detail})"
        ) from None


def _gpx_raw(elem: ET.Element) -> dict[str, Any]:
    """Return a small JSON-friendly summary of a GPX point element for a rejection."""
    raw: dict[str, Any] = {"element": _local(elem.tag), **dict(elem.attrib)}
    for key in ("ele", "time", "name"):
        text = _child_text(elem, key)
        if text:
            raw[key] = text[:_RAW_TEXT_LIMIT]
    return raw


def _gpx_extensions(elem: ET.Element) -> dict[str, str]:
    """Return leaf values under <extensions> keyed by local name (heart rate, cadence...)."""
    values: dict[str, str] = {}
    for ext in _children(elem, "extensions"):
        for node in ext.iter():
            if node is ext or len(node) or not _local(node.tag):
                continue
            text = (node.text or "").strip()
            if text:
                values[_local(node.tag)] = text
    return values


def _gpx_point(
    elem: ET.Element, kind: SourceKind, context: dict[str, Any], out: _Collector
) -> None:
    """Turn one wpt/rtept/trkpt element into a point or a rejection."""
    raw = _gpx_raw(elem)
    lat_text, lon_text = elem.get("lat"), elem.get("lon")
    if lat_text is None or lon_text is None:
        missing = " and ".join(n for n, v in (("lat", lat_text), ("lon", lon_text)) if v is None)
        out.reject(f"missing {missing} attribute / 缺少坐标属性 {missing}", raw)
        return
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        out.reject(
            f"coordinates are not numbers: lat={lat_text!r}, lon={lon_text!r} / 坐标不是数字", raw
        )
        return

    flags: set[str] = set()
    properties: dict[str, Any] = dict(context)
    ele, bad_ele = _float_or_none(_child_text(elem, "ele"))
    if bad_ele:
        flags.add(FLAG_ELE_UNREADABLE)
        properties["ele_raw"] = _child_text(elem, "ele")
        out.warn("some elevations could not be read and were left empty")
    time = None
    time_text = _child_text(elem, "time")
    if time_text:
        time, naive = _parse_time(time_text)
        if time is None:
            flags.add(FLAG_TIME_UNREADABLE)
            properties["time_raw"] = time_text
            out.warn("some times could not be read and were left empty")
        elif naive:
            flags.add(FLAG_TIME_NAIVE)
            out.warn("some times have no time zone and were taken as UTC")

    for child in elem:
        key = _local(child.tag)
        if not key or key in _GPX_HANDLED or len(child):
            continue
        text = (child.text or "").strip()
        if not text:
            continue
        if key in _GPX_NUMERIC:
            number, bad = _float_or_none(text)
            if bad or number is None:
                properties[key] = text
            else:
                properties[key] = int(number) if key in _GPX_INTEGER else number
        else:
            properties[key] = text
    links = [href for link in _children(elem, "link") if (href := link.get("href"))]
    if links:
        properties["links"] = links
    extensions = _gpx_extensions(elem)
    if extensions:
        properties["extensions"] = extensions

    out.accept(
        lon,
        lat,
        raw=raw,
        ele=ele,
        time=time,
        name=_child_text(elem, "name") or None,
        properties=properties,
        source_kind=kind,
        flags=frozenset(flags),
    )


def _read_gpx(root: ET.Element, out: _Collector) -> None:
    """Read waypoints, route points and track points from GPX 1.0/1.1 (namespaced or not)."""
    ns = _namespace(root.tag)
    version = root.get("version") or ("1.0" if ns.endswith("/1/0") else "1.1" if ns else "")
    out.result.file_format = f"gpx{version}" if version else "gpx"
    if not ns:
        out.warn("GPX file has no namespace; read as GPX anyway")
    elif ns not in GPX_NAMESPACES:
        out.warn(f"unexpected GPX namespace {ns}; read as GPX anyway")

    for wpt in _children(root, "wpt"):
        _gpx_point(wpt, "waypoint", {}, out)
    for r, rte in enumerate(_children(root, "rte")):
        context = {"route": r, "route_name": _child_text(rte, "name") or None}
        rtepts = list(_children(rte, "rtept"))
        if not rtepts:
            out.warn(f"route {r} ({context['route_name'] or 'unnamed'}) has no points")
        for rtept in rtepts:
            _gpx_point(rtept, "routepoint", context, out)
    for t, trk in enumerate(_children(root, "trk")):
        track_name = _child_text(trk, "name") or None
        segments = list(_children(trk, "trkseg"))
        if not segments:
            out.warn(f"track {t} ({track_name or 'unnamed'}) has no segments")
        for s, seg in enumerate(segments):
            trkpts = list(_children(seg, "trkpt"))
            if not trkpts:
                out.warn(f"track {t} ({track_name or 'unnamed'}) segment {s} is empty")
            context = {"track": t, "track_name": track_name, "segment": s}
            for trkpt in trkpts:
                _gpx_point(trkpt, "trackpoint", context, out)


# ---------------------------------------------------------------------------------------------
# CRS handling shared by GeoJSON and OGR sources
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# GeoJSON
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# Anything else GDAL/OGR reads (shapefile, GeoPackage, KML, FlatGeobuf...)
# ---------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Return a JSON-friendly Python value for a dataframe cell."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _read_ogr(path: Path, out: _Collector) -> None:
    """Read points from every layer of a file GDAL/OGR can open, via pyogrio."""
    import pyogrio
    import shapely

    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        info = pyogrio.read_info(path, layer=layers[0]) if layers else {}
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise PointFileError(f"{path.name}: not a readable point file ({exc})") from None
    if not layers:
        raise PointFileError(f"{path.name}: not a readable point file (no layers found)")
    out.result.file_format = f"ogr:{info.get('driver', '?')}"
    crs_labels: set[str] = set()
    for layer in layers:
        try:
            frame = pyogrio.read_dataframe(path, layer=layer)
        except Exception as exc:
            raise PointFileError(f"{path.name}: cannot read layer {layer!r} ({exc})") from None
        crs = CRS.from_user_input(frame.crs) if frame.crs is not None else None
        if crs is None:
            out.warn(f"layer {layer!r} has no CRS; taken as EPSG:4326 lon/lat")
            label = "EPSG:4326"
        else:
            label = _crs_label(crs)
            if not _is_wgs84_like(crs):
                out.warn(f"layer {layer!r} is in {label}; transformed to EPSG:4326")
        crs_labels.add(label)
        reproject = _Reprojector(crs, label)
        columns = [c for c in frame.columns if c != frame.geometry.name]
        for row, geom in zip(frame[columns].itertuples(index=False), frame.geometry, strict=True):
            properties = {str(k): _plain(v) for k, v in zip(columns, row, strict=True)}
            if len(layers) > 1:
                properties["layer"] = layer
            raw = {"layer": layer, "properties": properties}
            if geom is None or geom.is_empty:
                out.reject("no geometry / 无几何", raw)
                continue
            raw["geometry"] = {"type": geom.geom_type}
            if geom.geom_type == "Point":
                parts = [geom]
            elif geom.geom_type == "MultiPoint":
                parts = list(geom.geoms)
            else:
                out.reject(f"not a point: {geom.geom_type} / 不是点要素：{geom.geom_type}", raw)
                continue
            for part_no, part in enumerate(parts):
                props = dict(properties)
                if len(parts) > 1:
                    props["part"] = part_no
                position = list(shapely.get_coordinates(part, include_z=part.has_z)[0])
                _json_point(
                    [float(v) for v in position],
                    properties=props,
                    raw={**raw, "coordinates": position},
                    reproject=reproject,
                    out=out,
                )
    out.result.crs = ",".join(sorted(crs_labels)) or "EPSG:4326"


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


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
