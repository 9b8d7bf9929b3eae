"""Feature collections of the ledger, and the SQL that pages, counts and filters them.

This is the domain side of the OGC API – Features service (``server/routes/ogc.py``): which tables
are published, under which property names, which properties can be filtered, which column carries
time, and how output coordinates are produced. Geometry and properties are serialised to JSON
inside PostGIS (``ST_AsGeoJSON`` + ``json_build_object``). One WHERE builder (:func:`where_sql`)
serves the count and the page, so ``numberMatched`` always agrees with the features returned.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import vocab
from gis.db.models import SRID
from gis.errors import LookbackError
from gis.ledger.deadlines import due_date_sql, overdue_sql, rebounded_sql, warning_sql

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


# --------------------------------------------------------------------------------------------
# Collections
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Property:
    """A published property: its name, SQL expression (alias ``x``) and type."""

    name: str
    sql: str
    type: PropertyType = "string"
    description: str = ""
    filterable: bool = False
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    # the same value over the collection's ``joins`` (used in pages, not in filters and counts)
    select_sql: str | None = None


@dataclass(frozen=True)
class Collection:
    """A published table: identifiers, properties, temporal column and geometry type."""

    id: str
    title: str
    description: str
    table: str
    id_sql: str
    id_type: Literal["string", "integer"]
    order_by: str
    geometry_type: str
    properties: tuple[Property, ...]
    temporal: str | None = None  # property whose values are the features' time (datetime filter)
    keywords: tuple[str, ...] = ()
    # joins of the page query that the properties' ``select_sql`` read (computed once per row)
    joins: str = ""

    @property
    def key_type(self) -> Literal["string", "integer"]:
        """The type of the paging key (``order_by``, a unique column)."""
        return "string" if self.order_by == f"{ALIAS}.code" else "integer"

    def property_named(self, name: str) -> Property | None:
        """The property called ``name``, or None."""
        return next((p for p in self.properties if p.name == name), None)

    @property
    def filters(self) -> tuple[Property, ...]:
        """Properties that can be used as query parameters (``?status=closed``)."""
        return tuple(p for p in self.properties if p.filterable)

    @property
    def temporal_sql(self) -> str | None:
        """SQL expression of the temporal property, or None when the collection has no time."""
        prop = self.property_named(self.temporal) if self.temporal else None
        return prop.sql if prop else None


def _col(name: str, type_: PropertyType = "string", description: str = "", **kw: Any) -> Property:
    return Property(name, f"{ALIAS}.{name}", type_, description, **kw)


def _enum(name: str, enum: type[vocab.Labelled], description: str) -> Property:
    return Property(
        name,
        f"{ALIAS}.{name}",
        "string",
        description,
        filterable=True,
        enum=tuple(vocab.values(enum)),
    )


TOWNSHIP_CODE = _col(
    "township_code",
    description="12-digit township code (属地)",
    filterable=True,
    pattern=r"^\d{12}$",
)

# The effective due date once per row in a lateral join, instead of once per use in the derived
# properties (``overdue`` reads it once, ``warning`` five times). The rule stays in
# gis.ledger.deadlines: its SQL is reused with the due date replaced by the joined column.
_DUE = due_date_sql(ALIAS)
_DUE_JOIN = f"LEFT JOIN LATERAL (SELECT {_DUE} AS due_date) {ALIAS}_due ON true"


def _over_due(sql: str) -> str:
    """``sql`` reading the lateral join's due date instead of computing it again."""
    return sql.replace(_DUE, f"{ALIAS}_due.due_date")


PROBLEMS = Collection(
    id="problems",
    title="整改问题 Rectification problems",
    description=(
        "The rectification ledger (整改台账): one feature per problem, with derived overdue flag "
        "and four-colour warning as of the server's date."
    ),
    table="problems",
    id_sql=f"{ALIAS}.code",
    id_type="string",
    order_by=f"{ALIAS}.id",
    geometry_type="Geometry",
    temporal="reported_at",
    keywords=("环保督察", "整改", "台账"),
    properties=(
        _col("code", description="problem code (问题编号)", filterable=True),
        _enum("source", vocab.Source, "which inspection raised it"),
        _enum("category", vocab.Category, "problem category"),
        TOWNSHIP_CODE,
        _col("description", description="what is wrong"),
        _col("responsible_unit", description="responsible unit (责任单位)", filterable=True),
        _col("responsible_person", description="responsible person (责任人)"),
        _col("target", description="rectification target (整改目标)"),
        _col("measures", description="rectification measures (整改措施)"),
        _enum("deadline_kind", vocab.DeadlineKind, "immediate, dated or long-term"),
        _col("deadline", "date", "deadline (整改时限)"),
        _enum("status", vocab.Status, "where the problem is in its life cycle"),
        Property(
            "overdue",
            overdue_sql(ALIAS),
            "boolean",
            "not closed and past its due date",
            filterable=True,
            select_sql=_over_due(overdue_sql(ALIAS)),
        ),
        Property(
            "rebounded",
            rebounded_sql(ALIAS),
            "boolean",
            "rebounded (反弹) and not closed again",
            filterable=True,
        ),
        Property(
            "warning",
            warning_sql(ALIAS),
            "string",
            "four-colour warning (四色预警)",
            filterable=True,
            enum=tuple(vocab.values(vocab.Warning)),
            select_sql=_over_due(warning_sql(ALIAS)),
        ),
        _col("reported_at", "date-time", "when the problem was recorded"),
        _col("closed_at", "date-time", "when it was closed (销号), if it was"),
    ),
    joins=_DUE_JOIN,
)

TOWNSHIPS = Collection(
    id="townships",
    title="乡镇（街道） Townships",
    description="Township, street-office and development-zone boundaries with 12-digit codes.",
    table="townships",
    id_sql=f"{ALIAS}.code",
    id_type="string",
    order_by=f"{ALIAS}.code",
    geometry_type="MultiPolygon",
    keywords=("行政区划", "乡镇"),
    properties=(
        _col(
            "code",
            description="12-digit statistical division code",
            filterable=True,
            pattern=r"^\d{12}$",
        ),
        _col("name", description="name", filterable=True),
    ),
)

SITES = Collection(
    id="sites",
    title="点位 Sites",
    description=(
        "Places the ledger refers to: sewage plants and networks, sand-gravel sites, water "
        "sources and their protection zones, dust sources, landfills, outfalls, air stations…"
    ),
    table="sites",
    id_sql=f"{ALIAS}.id",
    id_type="integer",
    order_by=f"{ALIAS}.id",
    geometry_type="Geometry",
    properties=(
        _enum("kind", vocab.SiteKind, "kind of site"),
        _col("name", description="name", filterable=True),
        _enum("zone_level", vocab.ZoneLevel, "protection-zone level (zones only)"),
        _col("parent_id", "integer", "the site this one belongs to", filterable=True),
        TOWNSHIP_CODE,
        Property("attributes", f"{ALIAS}.properties", "object", "further attributes"),
    ),
)

INSPECTIONS = Collection(
    id="inspections",
    title="巡查点 Inspections",
    description="GPS points logged by inspectors, optionally against a problem.",
    table="inspections",
    id_sql=f"{ALIAS}.id",
    id_type="integer",
    order_by=f"{ALIAS}.id",
    geometry_type="Point",
    temporal="observed_at",
    properties=(
        _col("uuid", description="client-side identifier"),
        _col("problem_id", "integer", "problem inspected", filterable=True),
        _col("inspector", description="who logged it", filterable=True),
        _enum("finding", vocab.Finding, "what was found"),
        _enum("category", vocab.Category, "problem category, if any"),
        _col("note", description="note"),
        _col("accuracy_m", "number", "GPS accuracy in metres"),
        _col("observed_at", "date-time", "when it was observed"),
        _col("received_at", "date-time", "when the server received it"),
        TOWNSHIP_CODE,
    ),
)

COMPLAINTS = Collection(
    id="complaints",
    title="信访件 Complaints",
    description="Public complaints with their feedback deadline.",
    table="complaints",
    id_sql=f"{ALIAS}.id",
    id_type="integer",
    order_by=f"{ALIAS}.id",
    geometry_type="Point",
    temporal="received_at",
    properties=(
        _col("code", description="complaint code", filterable=True),
        _enum("channel", vocab.ComplaintChannel, "how it came in"),
        _enum("kind", vocab.ComplaintKind, "environmental medium"),
        _enum("category", vocab.Category, "problem category, if any"),
        _col("text", description="what the complainant said"),
        _col("received_at", "date-time", "when it was received"),
        _col("feedback_due", "date", "feedback deadline"),
        _col("feedback_at", "date-time", "when feedback was given"),
        _col("problem_id", "integer", "problem it became, if any", filterable=True),
        TOWNSHIP_CODE,
    ),
)

COLLECTIONS: dict[str, Collection] = {
    c.id: c for c in (PROBLEMS, TOWNSHIPS, SITES, INSPECTIONS, COMPLAINTS)
}


# --------------------------------------------------------------------------------------------
# Query parameters, parsed
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# SQL
# --------------------------------------------------------------------------------------------


def geometry_json_sql(column: str, crs: Crs) -> str:
    """SQL: ``column`` (stored in EPSG:4490) as GeoJSON geometry in ``crs`` and its axis order."""
    g = column
    if crs.transform_to is not None and crs.transform_to != SRID:
        g = f"ST_Transform({g}, {crs.transform_to})"
    if crs.lat_first:
        g = f"ST_FlipCoordinates({g})"
    return f"ST_AsGeoJSON({g}, {crs.digits}, 0)::json"


def _bbox_envelope_sql(crs: Crs) -> str:
    envelope = f"ST_MakeEnvelope(:bbox_minx, :bbox_miny, :bbox_maxx, :bbox_maxy, {SRID})"
    if crs.transform_to is not None and crs.transform_to != SRID:
        envelope = (
            "ST_Transform(ST_MakeEnvelope(:bbox_minx, :bbox_miny, :bbox_maxx, :bbox_maxy, "
            f"{crs.transform_to}), {SRID})"
        )
    return envelope


def where_sql(collection: Collection, query: FeatureQuery) -> tuple[str, dict[str, Any]]:
    """The one WHERE clause (and parameters) shared by the count and the page."""
    clauses: list[str] = [scope_sql(collection, query.scope)]
    params: dict[str, Any] = {"scope": list(query.scope or ())}
    if query.bbox is not None:
        minx, miny, maxx, maxy = query.bbox
        params.update(bbox_minx=minx, bbox_miny=miny, bbox_maxx=maxx, bbox_maxy=maxy)
        clauses.append(f"ST_Intersects({ALIAS}.geom, {_bbox_envelope_sql(query.bbox_crs)})")
    if query.datetime is not None:
        column = collection.temporal_sql
        if column is None:
            raise FeatureQueryError(
                f"collection {collection.id!r} has no time property; datetime cannot be applied"
            )
        if query.datetime.start is not None:
            clauses.append(f"{column} >= :dt_start")
            params["dt_start"] = query.datetime.start
        if query.datetime.end is not None:
            clauses.append(f"{column} {'<=' if query.datetime.end_inclusive else '<'} :dt_end")
            params["dt_end"] = query.datetime.end
    for name, values in query.filters.items():
        prop = collection.property_named(name)
        if prop is None or not prop.filterable:
            raise FeatureQueryError(f"collection {collection.id!r} cannot be filtered by {name!r}")
        key = f"f_{name}"
        clauses.append(f"{prop.sql} = ANY(:{key})")
        params[key] = list(values)
    return " AND ".join(clauses), params


def _feature_sql(collection: Collection, crs: Crs) -> str:
    props = ", ".join(f"'{p.name}', {p.select_sql or p.sql}" for p in collection.properties)
    return (
        "json_build_object('type', 'Feature', "
        f"'id', {collection.id_sql}, "
        f"'geometry', {geometry_json_sql(f'{ALIAS}.geom', crs)}, "
        f"'properties', json_build_object({props}))"
    )


def count_features(
    session: Session, collection: Collection, query: FeatureQuery, *, today: date
) -> int:
    """``numberMatched``: how many features match the query's filters."""
    clause, params = where_sql(collection, query)
    sql = f"SELECT count(*) FROM {collection.table} {ALIAS} WHERE {clause}"
    return int(session.execute(text(sql), {"today": today, **params}).scalar_one())


def parse_key(collection: Collection, value: str) -> str | int:
    """A paging key from a ``next``/``prev`` link, checked against the key's type."""
    if collection.key_type == "integer":
        if not re.fullmatch(r"-?\d{1,18}", value.strip()):
            raise FeatureQueryError(f"paging key {value!r} is not one of this collection's keys")
        return int(value)
    return value


@dataclass(frozen=True)
class Page:
    """One page: the features as a JSON array (text), how many, and the keys around it."""

    features: str
    returned: int
    first_key: str | None
    last_key: str | None
    more: bool  # further features in the paging direction (after the page, or before it)
    matched: int | None  # numberMatched, when it was asked for


def features_page(
    session: Session,
    collection: Collection,
    query: FeatureQuery,
    *,
    today: date,
    count: bool = False,
) -> Page:
    """One page of features, in one statement: the page's JSON built in SQL, and the count.

    Pages follow the collection's unique ``order_by`` key: ``after`` a key (the ``next`` link),
    ``before`` a key (``prev``), or ``offset`` features into the filter's result for clients that
    send one. One feature beyond the page tells whether there are more. ``count`` adds
    ``numberMatched`` (the same WHERE clause) to the same statement.
    """
    clause, params = where_sql(collection, query)
    key = collection.order_by
    order, skip = "ASC", "OFFSET :offset"
    if query.after is not None:
        clause += f" AND {key} > :after"
        params["after"] = parse_key(collection, query.after)
        skip = ""
    elif query.before is not None:
        clause += f" AND {key} < :before"
        params["before"] = parse_key(collection, query.before)
        order, skip = "DESC", ""
    counted = (
        f"(SELECT count(*) FROM {collection.table} {ALIAS} WHERE {where_sql(collection, query)[0]})"
        if count else "NULL::bigint"
    )
    sql = f"""
        WITH rows AS (
            SELECT {key} AS page_key, {ALIAS}.*
            FROM {collection.table} {ALIAS}
            WHERE {clause}
            ORDER BY {key} {order}
            LIMIT :limit + 1 {skip}
        ), page AS (
            SELECT {_feature_sql(collection, query.crs)} AS feature, {ALIAS}.page_key AS k
            FROM (
                SELECT *, row_number() OVER (ORDER BY page_key {order}) AS page_n FROM rows
            ) {ALIAS} {collection.joins}
            WHERE {ALIAS}.page_n <= :limit
        )
        SELECT (SELECT COALESCE(json_agg(feature ORDER BY k), '[]'::json)::text FROM page),
               (SELECT count(*) FROM page), (SELECT min(k)::text FROM page),
               (SELECT max(k)::text FROM page), (SELECT count(*) FROM rows) > :limit,
               {counted}
    """
    row = session.execute(
        text(sql),
        {"today": today, "limit": query.limit, "offset": query.offset, **params},
    ).one()
    return Page(row[0], int(row[1]), row[2], row[3], bool(row[4]),
                None if row[5] is None else int(row[5]))


def feature_by_id(
    session: Session, collection: Collection, feature_id: str, *, crs: Crs, today: date,
    scope: tuple[str, ...] | None = None,
) -> str | None:
    """One feature as JSON text, or None when no feature has that id."""
    if collection.id_type == "integer":
        if not re.fullmatch(r"\d{1,18}", feature_id):
            return None
        key: Any = int(feature_id)
    else:
        key = feature_id
    sql = (
        f"SELECT {_feature_sql(collection, crs)}::text FROM {collection.table} {ALIAS} "
        f"{collection.joins} WHERE {collection.id_sql} = :fid AND {scope_sql(collection, scope)}"
    )
    return session.execute(
        text(sql), {"fid": key, "today": today, "scope": list(scope or ())}
    ).scalar()


@dataclass(frozen=True)
class Extent:
    """A collection's extent: lon/lat bbox of its geometries and its time span."""

    bbox: tuple[float, float, float, float] | None
    interval: tuple[datetime | None, datetime | None] | None


def collection_extent(session: Session, collection: Collection) -> Extent:
    """Spatial extent (from the data) and temporal extent (where the collection has times)."""
    time_sql = collection.temporal_sql
    times = f", min({time_sql}), max({time_sql})" if time_sql else ""
    sql = (
        "SELECT ST_XMin(e.b), ST_YMin(e.b), ST_XMax(e.b), ST_YMax(e.b), e.* FROM ("
        f"SELECT ST_Extent({ALIAS}.geom) AS b{times} FROM {collection.table} {ALIAS}) e"
    )
    row = session.execute(text(sql)).one()
    bbox = None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
    interval = (row[5], row[6]) if time_sql else None
    return Extent(bbox, interval)
