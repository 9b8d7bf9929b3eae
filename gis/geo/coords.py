"""Coordinate reference handling for China: WGS-84/CGCS2000, GCJ-02, BD-09, validation, DMS, metres.

Store WGS-84/CGCS2000 (for phone GPS the two agree to centimetres); convert to GCJ-02 or BD-09 only
for display on Chinese web maps, never twice. GCJ-02 has no closed-form inverse: ``gcj02_to_wgs84``
iterates the forward formula to 1e-9 degrees, while the widely copied one-step inverse
(``gcj02_to_wgs84_approx``) errs by up to several metres.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod

from gis.errors import LookbackError

__all__ = [
    "ACCEPTED_CRS",
    "CoordinateError",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "distance_m",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "gcj02_to_wgs84_approx",
    "gk_epsg_for_lon",
    "looks_swapped",
    "normalize_crs",
    "out_of_china",
    "parse_coordinate",
    "to_wgs84",
    "validate_lonlat",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

# Krasovsky 1940 ellipsoid as used by the GCJ-02 obfuscation.
GCJ_A = 6378245.0
GCJ_EE = 0.00669342162296594323
X_PI = math.pi * 3000.0 / 180.0

# The bounding box every public GCJ-02 implementation uses for "outside China" passthrough.
CHINA_BOX_LON = (72.004, 137.8347)
CHINA_BOX_LAT = (0.8293, 55.8271)

# China's extent (Zengmu Ansha to Mohe, Pamirs to Heixiazi), slightly padded, for swap detection.
CHINA_LAT_RANGE = (3.5, 54.0)
CHINA_LON_RANGE = (73.0, 135.5)

INVERSE_TOLERANCE_DEG = 1e-9
INVERSE_MAX_ITERATIONS = 30

_WGS84_GEOD = Geod(ellps="WGS84")

Coord = float | NDArray[np.float64]
Pair = tuple[Coord, Coord]


# ---------------------------------------------------------------------------------------------
# Array plumbing: every transform takes scalars or array-likes and answers in kind.
# ---------------------------------------------------------------------------------------------


def _arrays(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], bool]:
    """Return float64 arrays broadcast together, and whether both inputs were scalars."""
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return x, y, scalar


def _answer(x: NDArray[np.float64], y: NDArray[np.float64], scalar: bool) -> Pair:
    """Return plain floats for scalar input, otherwise arrays."""
    if scalar:
        return float(x), float(y)
    return x, y


def _out_of_china(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Return the element-wise outside-China mask of the usual GCJ-02 bounding box."""
    with np.errstate(invalid="ignore"):
        return (
            (x < CHINA_BOX_LON[0])
            | (x > CHINA_BOX_LON[1])
            | (y < CHINA_BOX_LAT[0])
            | (y > CHINA_BOX_LAT[1])
            | ~np.isfinite(x)
            | ~np.isfinite(y)
        )


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> bool | NDArray[np.bool_]:
    """Return True where a point lies outside the GCJ-02 bounding box (and so passes through)."""
    x, y, scalar = _arrays(lon, lat)
    mask = _out_of_china(x, y)
    return bool(mask) if scalar else mask


# ---------------------------------------------------------------------------------------------
# GCJ-02
# ---------------------------------------------------------------------------------------------


def _transform_lat(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the standard GCJ-02 latitude offset polynomial (x, y relative to 105E, 35N)."""
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the standard GCJ-02 longitude offset polynomial (x, y relative to 105E, 35N)."""
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj_offset(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the GCJ-02 (dlon, dlat) in degrees at WGS-84 points, zero outside China."""
    dlat = _transform_lat(x - 105.0, y - 35.0)
    dlon = _transform_lon(x - 105.0, y - 35.0)
    radlat = y / 180.0 * np.pi
    magic = 1.0 - GCJ_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (GCJ_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = _out_of_china(x, y)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Return GCJ-02 (lon, lat) for WGS-84 input; points outside China pass through unchanged."""
    x, y, scalar = _arrays(lon, lat)
    dlon, dlat = _gcj_offset(x, y)
    return _answer(x + dlon, y + dlat, scalar)


def gcj02_to_wgs84_approx(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Return the one-step WGS-84 estimate (gcj - offset(gcj)); errs up to metres, for contrast."""
    x, y, scalar = _arrays(lon, lat)
    dlon, dlat = _gcj_offset(x, y)
    return _answer(x - dlon, y - dlat, scalar)


def gcj02_to_wgs84(
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    tolerance: float = INVERSE_TOLERANCE_DEG,
    max_iterations: int = INVERSE_MAX_ITERATIONS,
) -> Pair:
    """Return WGS-84 (lon, lat) for GCJ-02 input by fixed-point iteration of the forward formula."""
    gx, gy, scalar = _arrays(lon, lat)
    dlon, dlat = _gcj_offset(gx, gy)
    wx, wy = gx - dlon, gy - dlat
    for _ in range(max_iterations):
        dlon, dlat = _gcj_offset(wx, wy)
        ex, ey = wx + dlon - gx, wy + dlat - gy
        wx, wy = wx - ex, wy - ey
        with np.errstate(invalid="ignore"):
            worst = np.nanmax(np.abs(np.concatenate([ex.ravel(), ey.ravel()])), initial=0.0)
        if worst < tolerance:
            break
    return _answer(wx, wy, scalar)


# ---------------------------------------------------------------------------------------------
# BD-09
# ---------------------------------------------------------------------------------------------


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Return BD-09 (lon, lat) for GCJ-02 input with the standard x_pi formula."""
    x, y, scalar = _arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * X_PI)
    return _answer(z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006, scalar)


def _bd09_to_gcj02_step(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the standard closed-form BD-09 to GCJ-02 conversion on arrays."""
    x = x - 0.0065
    y = y - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike, *, refine: bool = False) -> Pair:
    """Return GCJ-02 for BD-09 input (standard formula; ``refine`` iterates it to 1e-12 degrees)."""
    bx, by, scalar = _arrays(lon, lat)
    gx, gy = _bd09_to_gcj02_step(bx, by)
    if refine:
        for _ in range(INVERSE_MAX_ITERATIONS):
            cx, cy = gcj02_to_bd09(gx, gy)
            ex, ey = np.asarray(cx) - bx, np.asarray(cy) - by
            gx, gy = gx - ex, gy - ey
            with np.errstate(invalid="ignore"):
                worst = np.nanmax(np.abs(np.concatenate([ex.ravel(), ey.ravel()])), initial=0.0)
            if worst < 1e-12:
                break
    return _answer(gx, gy, scalar)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Return BD-09 (lon, lat) for WGS-84 input (via GCJ-02)."""
    gx, gy = wgs84_to_gcj02(lon, lat)
    return gcj02_to_bd09(gx, gy)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Return WGS-84 (lon, lat) for BD-09 input (refined BD-09 and iterative GCJ-02 inverses)."""
    gx, gy = bd09_to_gcj02(lon, lat, refine=True)
    return gcj02_to_wgs84(gx, gy)


# ---------------------------------------------------------------------------------------------
# CRS names
# ---------------------------------------------------------------------------------------------

ACCEPTED_CRS = ("wgs84", "cgcs2000", "gcj02", "bd09", "EPSG:4326", "EPSG:4490")

_CRS_ALIASES = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "epsg:4326": "wgs84",
    "cgcs2000": "cgcs2000",
    "epsg:4490": "cgcs2000",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
}


def normalize_crs(crs: str) -> str:
    """Return the canonical name ("wgs84", "cgcs2000", "gcj02", "bd09") or raise ValueError."""
    key = crs.strip().lower() if isinstance(crs, str) else None
    if key is None or key not in _CRS_ALIASES:
        raise ValueError(
            f"unsupported coordinate reference system {crs!r}; accepted values are "
            + ", ".join(repr(name) for name in ACCEPTED_CRS)
            + " (case-insensitive)"
        )
    return _CRS_ALIASES[key]


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> Pair:
    """Return WGS-84/CGCS2000 (lon, lat) for coordinates in ``crs`` (wgs84/cgcs2000/gcj02/bd09)."""
    name = normalize_crs(crs)
    if name == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if name == "bd09":
        return bd09_to_wgs84(lon, lat)
    x, y, scalar = _arrays(lon, lat)
    return _answer(x.copy(), y.copy(), scalar)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> Pair:
    """Return (lon, lat) in display ``crs`` for WGS-84/CGCS2000 input (the inverse of to_wgs84)."""
    name = normalize_crs(crs)
    if name == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if name == "bd09":
        return wgs84_to_bd09(lon, lat)
    x, y, scalar = _arrays(lon, lat)
    return _answer(x.copy(), y.copy(), scalar)


# ---------------------------------------------------------------------------------------------
# Validation of a submitted point
# ---------------------------------------------------------------------------------------------


class CoordinateError(LookbackError, ValueError):
    """A submitted coordinate is unusable; ``field`` names it, ``message`` is English + Chinese."""

    def __init__(self, field: str, message: str) -> None:
        """Store the offending field name and the bilingual message."""
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _in(value: float, bounds: tuple[float, float]) -> bool:
    """Return whether value lies in the closed interval."""
    return bounds[0] <= value <= bounds[1]


def looks_swapped(lon: float, lat: float) -> bool:
    """Return True when (lon, lat) looks like a Chinese (lat, lon) typed the wrong way round."""
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        return False
    if not (math.isfinite(x) and math.isfinite(y)):
        return False
    if _in(x, CHINA_LAT_RANGE) and _in(y, CHINA_LON_RANGE):
        return True
    return abs(y) > 90.0 and abs(y) <= 180.0 and abs(x) <= 90.0


def _to_float(value: Any, field: str) -> float:
    """Return value as float (numbers or coordinate text) or raise CoordinateError for field."""
    zh = "纬度" if field == "lat" else "经度"
    if isinstance(value, bool) or value is None:
        raise CoordinateError(field, f"{field} is missing or not a number / {zh}缺失或不是数字")
    if isinstance(value, str):
        try:
            return parse_coordinate(value, axis=field)
        except ValueError as exc:
            raise CoordinateError(
                field, f"{field} {value!r} is not a coordinate ({exc}) / {zh} {value!r} 无法识别"
            ) from None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CoordinateError(
            field, f"{field} {value!r} is not a number / {zh} {value!r} 不是数字"
        ) from None


def validate_lonlat(lon: Any, lat: Any) -> tuple[float, float]:
    """Return a checked, normalised (lon, lat) pair of floats or raise CoordinateError."""
    x = _to_float(lon, "lon")
    y = _to_float(lat, "lat")
    if not math.isfinite(x):
        raise CoordinateError("lon", f"longitude is {x} (not a finite number) / 经度不是有限数值")
    if not math.isfinite(y):
        raise CoordinateError("lat", f"latitude is {y} (not a finite number) / 纬度不是有限数值")
    if looks_swapped(x, y):
        raise CoordinateError(
            "lat",
            f"latitude and longitude appear swapped: got lon={x}, lat={y}; did you mean "
            f"lon={y}, lat={x}? / 经纬度似乎填反了：经度={x}，纬度={y}；应为经度={y}，纬度={x}？",
        )
    if not -90.0 <= y <= 90.0:
        raise CoordinateError(
            "lat", f"latitude {y} is out of range [-90, 90] / 纬度 {y} 超出范围 [-90, 90]"
        )
    if not -180.0 <= x <= 180.0:
        raise CoordinateError(
            "lon", f"longitude {x} is out of range [-180, 180] / 经度 {x} 超出范围 [-180, 180]"
        )
    return x + 0.0, y + 0.0  # + 0.0 turns -0.0 into 0.0


# ---------------------------------------------------------------------------------------------
# Metres
# ---------------------------------------------------------------------------------------------


def gk_epsg_for_lon(lon: float) -> int:
    """Return the CGCS2000 3-degree Gauss-Krueger EPSG code (4534-4554, no zone prefix) for lon."""
    value = float(lon)
    if not math.isfinite(value):
        raise ValueError(f"longitude must be a finite number, got {lon!r}")
    cm = 3 * math.floor(value / 3.0 + 0.5)
    cm = min(max(cm, 75), 135)
    return 4534 + (cm - 75) // 3


def distance_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> Coord:
    """Return the geodesic distance in metres on the WGS-84 (= CGCS2000 to 0.1 mm) ellipsoid."""
    scalar = all(np.ndim(v) == 0 for v in (lon1, lat1, lon2, lat2))
    arrays = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2))
    )
    shape = arrays[0].shape
    _, _, dist = _WGS84_GEOD.inv(*(np.ascontiguousarray(a).ravel() for a in arrays))
    if scalar:
        return float(np.asarray(dist).ravel()[0])
    return np.asarray(dist, dtype=np.float64).reshape(shape)


# ---------------------------------------------------------------------------------------------
# Degrees-minutes-seconds text
# ---------------------------------------------------------------------------------------------

_HEMISPHERES = {
    "N": "N", "S": "S", "E": "E", "W": "W",
    "北纬": "N", "南纬": "S", "东经": "E", "西经": "W",
    "北": "N", "南": "S", "东": "E", "西": "W",
}  # fmt: skip
_HEMI_PATTERN = "北纬|南纬|东经|西经|北|南|东|西|N|S|E|W"
_PREFIX_RE = re.compile(rf"^(?:{_HEMI_PATTERN})")
_SUFFIX_RE = re.compile(rf"(?:{_HEMI_PATTERN})$")
_TOKEN_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([°度'分\"秒:]?)\s*")
_UNIT_SLOT = {"°": 0, "度": 0, "'": 1, "分": 1, '"': 2, "秒": 2}
# Look-alikes NFKC leaves alone or maps badly (º becomes "o", ″ becomes two primes).
_PRE_NFKC = str.maketrans({"º": "°", "˚": "°", "″": '"', "〃": '"', "−": "-", "–": "-"})
_POST_NFKC = str.maketrans({"′": "'", "‘": "'", "’": "'", "“": '"', "”": '"', "´": "'"})


def parse_coordinate(text: str | float, axis: str | None = None) -> float:
    """Return signed decimal degrees from decimal or DMS text (113°25'30.5"E, 北纬34度12.5分...)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"coordinate must be a finite number, got {text!r}")
        return value
    if not isinstance(text, str):
        raise ValueError(f"coordinate must be text or a number, got {type(text).__name__}")
    original = text
    s = unicodedata.normalize("NFKC", text.translate(_PRE_NFKC)).translate(_POST_NFKC)
    s = s.replace("''", '"').strip().upper()
    if not s:
        raise ValueError("coordinate is empty")

    hemi: str | None = None
    if m := _PREFIX_RE.match(s):
        hemi = _HEMISPHERES[m.group(0)]
        s = s[m.end() :].strip()
    if m := _SUFFIX_RE.search(s):
        suffix = _HEMISPHERES[m.group(0)]
        if hemi is not None and hemi != suffix:
            raise ValueError(f"conflicting hemispheres {hemi} and {suffix} in {original!r}")
        hemi = suffix
        s = s[: m.start()].strip()

    sign = 1.0
    if s[:1] in "+-":
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:].strip()
        if hemi is not None and sign < 0:
            raise ValueError(f"both a minus sign and hemisphere {hemi} in {original!r}")

    parts: list[float | None] = [None, None, None]
    pos, slot = 0, 0
    while pos < len(s):
        m = _TOKEN_RE.match(s, pos)
        if m is None or m.end() == pos:
            raise ValueError(
                f"cannot read {original!r} as a coordinate: unexpected {s[pos : pos + 8]!r}; use "
                "decimal degrees (113.425) or degrees-minutes-seconds (113°25'30.5\"E)"
            )
        unit = m.group(2)
        target = _UNIT_SLOT.get(unit, slot)
        if target < slot or target > 2:
            raise ValueError(f"degrees, minutes and seconds out of order in {original!r}")
        parts[target] = float(m.group(1))
        slot = target + 1
        pos = m.end()
    deg, minutes, seconds = parts
    if deg is None:
        raise ValueError(f"no degrees in {original!r}")
    if minutes is not None and deg != math.floor(deg):
        raise ValueError(f"fractional degrees followed by minutes in {original!r}")
    if seconds is not None and minutes is not None and minutes != math.floor(minutes):
        raise ValueError(f"fractional minutes followed by seconds in {original!r}")
    if seconds is not None and minutes is None:
        raise ValueError(f"seconds without minutes in {original!r}")
    if minutes is not None and minutes >= 60:
        raise ValueError(f"minutes must be below 60 in {original!r}")
    if seconds is not None and seconds >= 60:
        raise ValueError(f"seconds must be below 60 in {original!r}")
    value = deg + (minutes or 0.0) / 60.0 + (seconds or 0.0) / 3600.0
    if hemi in ("S", "W"):
        sign = -1.0
    if (axis == "lat" and hemi in ("E", "W")) or (axis == "lon" and hemi in ("N", "S")):
        raise ValueError(f"hemisphere {hemi} does not fit a {axis} value in {original!r}")
    limit = 90.0 if hemi in ("N", "S") else 180.0
    if value > limit:
        raise ValueError(f"{value:g} degrees exceeds {limit:g} in {original!r}")
    return sign * value
