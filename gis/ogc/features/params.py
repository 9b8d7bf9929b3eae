"""Query parameters, parsed: bbox, datetime, crs, property filters and paging, each refused with a
reason when malformed."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from gis.ogc.features.collections import (
    Collection,
    Property,
)
from gis.ogc.features.crs import (
    ALIAS,
    CRS84,
    MAX_FILTER_VALUES,
    Crs,
    FeatureQueryError,
)


@dataclass(frozen=True)
class TimeInterval:
    """A closed or half-open time interval; ``None`` ends are unbounded."""

    start: datetime | None
    end: datetime | None
    end_inclusive: bool = True


@dataclass(frozen=True)
class FeatureQuery:
    """What a client asked for: spatial, temporal and property filters, page and CRS."""

    bbox: tuple[float, float, float, float] | None = None  # storage lon/lat, after bbox-crs
    bbox_crs: Crs = CRS84
    datetime: TimeInterval | None = None
    filters: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    limit: int = 10
    offset: int = 0
    after: str | None = None  # keyset: features whose key follows this one
    before: str | None = None  # keyset: the page of features whose key precedes this one
    crs: Crs = CRS84
    scope: tuple[str, ...] | None = None  # the caller's townships; None: all


SCOPED_TABLES = frozenset({"problems", "sites", "inspections", "complaints"})


def scope_sql(collection: Collection, scope: tuple[str, ...] | None) -> str:
    """SQL condition limiting a collection to the caller's townships (TRUE when unscoped)."""
    if scope is None or collection.table not in SCOPED_TABLES:
        return "TRUE"
    return f"{ALIAS}.township_code = ANY(:scope)"


def parse_bbox(value: str, crs: Crs = CRS84) -> tuple[float, float, float, float]:
    """``minx,miny,maxx,maxy`` (or 6 numbers with heights) in ``crs`` axis order, as x/y."""
    parts = [p.strip() for p in value.split(",")]
    if len(parts) not in (4, 6):
        raise FeatureQueryError(
            f"bbox must have 4 or 6 comma-separated numbers, got {len(parts)}: {value!r}"
        )
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise FeatureQueryError(f"bbox must be numbers: {value!r}") from None
    if not all(math.isfinite(n) for n in numbers):
        raise FeatureQueryError(f"bbox must be finite numbers: {value!r}")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    a1, b1, a2, b2 = numbers
    if crs.lat_first:  # lat,lon,lat,lon
        a1, b1, a2, b2 = b1, a1, b2, a2
    if b1 > b2:
        raise FeatureQueryError(
            f"bbox lower {'latitude' if crs.geographic else 'y'} is above the upper one: {value!r}"
        )
    if a1 > a2:
        if crs.geographic:
            raise FeatureQueryError(
                f"bbox crossing the antimeridian is not supported (min longitude > max): {value!r}"
            )
        raise FeatureQueryError(f"bbox lower x is greater than the upper one: {value!r}")
    if crs.geographic and not (
        -180 <= a1 <= 180 and -180 <= a2 <= 180 and -90 <= b1 <= 90 and -90 <= b2 <= 90
    ):
        raise FeatureQueryError(f"bbox longitude/latitude out of range: {value!r}")
    return a1, b1, a2, b2


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_instant(value: str, zone: tzinfo, *, end: bool) -> tuple[datetime, bool]:
    """A datetime and whether the bound is inclusive; a bare date is the whole local day."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt]", value):  # GDAL 3.6 writes dates so
        value = value[:-1]
    if _DATE.match(value):
        day = date.fromisoformat(value)
        if end:
            return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone), False
        return datetime.combine(day, time(0), tzinfo=zone), True
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise FeatureQueryError(
            f"datetime {value!r} is not RFC 3339 (e.g. 2026-01-31T08:00:00Z or 2026-01-31)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment, True


def parse_datetime(value: str, zone: tzinfo) -> TimeInterval:
    """An RFC 3339 instant, date, or interval ``a/b`` with ``..`` or empty for open ends."""
    value = value.strip()
    if "/" not in value:
        if value in ("", ".."):
            raise FeatureQueryError("datetime needs an instant or an interval, e.g. 2026-01-01/..")
        start, _ = _parse_instant(value, zone, end=False)
        if _DATE.match(value.rstrip("Tt")):
            finish, inclusive = _parse_instant(value, zone, end=True)
            return TimeInterval(start, finish, inclusive)
        return TimeInterval(start, start, True)
    first, _, second = value.partition("/")
    if "/" in second:
        raise FeatureQueryError(f"datetime interval has more than two ends: {value!r}")
    open_first, open_second = first in ("", ".."), second in ("", "..")
    if open_first and open_second:
        raise FeatureQueryError(f"datetime interval {value!r} is open at both ends")
    start = None if open_first else _parse_instant(first, zone, end=False)[0]
    finish, inclusive = (None, True) if open_second else _parse_instant(second, zone, end=True)
    if start and finish and start > finish:
        raise FeatureQueryError(f"datetime interval {value!r} ends before it starts")
    return TimeInterval(start, finish, inclusive)


def parse_filter(prop: Property, raw: str) -> tuple[Any, ...]:
    """Values of a property filter: comma-separated, checked against the property's type."""
    values = tuple(v.strip() for v in raw.split(",") if v.strip())
    if not values:
        raise FeatureQueryError(f"{prop.name} filter is empty")
    if len(values) > MAX_FILTER_VALUES:
        raise FeatureQueryError(f"{prop.name} filter lists more than {MAX_FILTER_VALUES} values")
    if prop.type == "boolean":
        truth = {"true": True, "false": False, "1": True, "0": False}
        bad = [v for v in values if v.lower() not in truth]
        if bad:
            raise FeatureQueryError(f"{prop.name} must be true or false, got {bad[0]!r}")
        return tuple(truth[v.lower()] for v in values)
    if prop.type == "integer":
        try:
            return tuple(int(v) for v in values)
        except ValueError:
            raise FeatureQueryError(f"{prop.name} must be an integer: {raw!r}") from None
    if prop.enum:
        bad = [v for v in values if v not in prop.enum]
        if bad:
            raise FeatureQueryError(f"{prop.name} {bad[0]!r} is not one of: {', '.join(prop.enum)}")
    if prop.pattern:
        bad = [v for v in values if not re.match(prop.pattern, v)]
        if bad:
            raise FeatureQueryError(f"{prop.name} {bad[0]!r} does not match {prop.pattern}")
    return values
