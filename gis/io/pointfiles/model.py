"""What reading a point file gives: parsed points with their flags, rejected points with the
reason, the result, and the error for a file that cannot be read at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from gis.errors import LookbackError

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
