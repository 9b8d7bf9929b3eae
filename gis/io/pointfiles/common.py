"""Shared helpers: the collector that numbers every point, times, numbers, reading and sniffing the
file."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gis.geo import coords
from gis.io.pointfiles.model import (
    ParsedPoint,
    PointFileError,
    PointFileResult,
    RejectedPoint,
    SourceKind,
)


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
