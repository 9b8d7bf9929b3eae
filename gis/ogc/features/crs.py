"""The feature types, the error of a request that cannot be answered, and the coordinate reference
systems served (stored CGCS2000 is output as CRS84 unchanged)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from gis.errors import LookbackError

PropertyType = Literal["string", "integer", "number", "boolean", "date", "date-time", "object"]

ALIAS = "x"
MAX_FILTER_VALUES = 100


class FeatureQueryError(LookbackError, ValueError):
    """A request for features that cannot be answered as asked (bad bbox, datetime, crs…)."""


# --------------------------------------------------------------------------------------------
# Coordinate reference systems
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Crs:
    """An output/bbox CRS: its OGC URI, how to get there from storage, and its axis order."""

    uri: str
    title: str
    transform_to: int | None  # SRID to ST_Transform to; None: storage coordinates as they are
    lat_first: bool  # the CRS's axis order is latitude (northing) first
    digits: int  # decimals written in GeoJSON
    geographic: bool

    @property
    def header(self) -> str:
        """The value of a ``Content-Crs`` header: the URI in angle brackets."""
        return f"<{self.uri}>"


# Stored coordinates are CGCS2000 (EPSG:4490), which equals WGS-84 to centimetres for this use, so
# CRS84 output is the stored longitude/latitude unchanged (as the rest of Lookback's GeoJSON).
CRS84 = Crs(
    uri="http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    title="WGS 84 longitude/latitude",
    transform_to=None,
    lat_first=False,
    digits=6,
    geographic=True,
)
CGCS2000 = Crs(
    uri="http://www.opengis.net/def/crs/EPSG/0/4490",
    title="CGCS2000 (EPSG:4490), latitude/longitude axis order",
    transform_to=None,
    lat_first=True,
    digits=6,
    geographic=True,
)
WEB_MERCATOR = Crs(
    uri="http://www.opengis.net/def/crs/EPSG/0/3857",
    title="Web Mercator (EPSG:3857)",
    transform_to=3857,
    lat_first=False,
    digits=2,
    geographic=False,
)
SUPPORTED_CRS: tuple[Crs, ...] = (CRS84, CGCS2000, WEB_MERCATOR)
STORAGE_CRS = CGCS2000

_CRS_ALIASES = {
    "crs84": CRS84,
    "ogc:crs84": CRS84,
    "urn:ogc:def:crs:ogc:1.3:crs84": CRS84,
    "urn:ogc:def:crs:ogc::crs84": CRS84,
}
_EPSG_REF = re.compile(
    r"^(?:https?://www\.opengis\.net/def/crs/epsg/0/|\[?epsg:|urn:ogc:def:crs:epsg:[0-9.]*:)"
    r"(\d+)\]?$"
)


def crs_from_reference(reference: str) -> Crs:
    """The supported CRS named by a URI, a ``[EPSG:n]`` CURIE or ``EPSG:n``; ValueError if not."""
    ref = reference.strip()
    low = ref.lower().rstrip("/")
    for crs in SUPPORTED_CRS:
        if low == crs.uri.lower() or low == crs.uri.lower().replace("http://", "https://"):
            return crs
    if low.strip("[]") in _CRS_ALIASES:
        return _CRS_ALIASES[low.strip("[]")]
    match = _EPSG_REF.match(low)
    if match:
        code = int(match.group(1))
        for crs in SUPPORTED_CRS:
            if crs.uri.endswith(f"/EPSG/0/{code}"):
                return crs
    supported = ", ".join(c.uri for c in SUPPORTED_CRS)
    raise FeatureQueryError(f"unsupported CRS {reference!r}; supported: {supported}")
