"""GPX: waypoints, routes and tracks, parsed with the standard library, namespace-agnostic."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gis.io.pointfiles.common import (
    _Collector,
    _float_or_none,
    _parse_time,
)
from gis.io.pointfiles.model import (
    _GPX_HANDLED,
    _GPX_INTEGER,
    _GPX_NUMERIC,
    _RAW_TEXT_LIMIT,
    FLAG_ELE_UNREADABLE,
    FLAG_TIME_NAIVE,
    FLAG_TIME_UNREADABLE,
    GPX_NAMESPACES,
    PointFileError,
    SourceKind,
)


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
