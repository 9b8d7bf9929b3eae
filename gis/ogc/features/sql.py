"""SQL: one statement that filters, counts and pages a collection and builds the page's JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.db.models import SRID
from gis.ogc.features.collections import (
    Collection,
)
from gis.ogc.features.crs import (
    ALIAS,
    Crs,
    FeatureQueryError,
)
from gis.ogc.features.params import (
    FeatureQuery,
    scope_sql,
)


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
        if count
        else "NULL::bigint"
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
    return Page(
        row[0], int(row[1]), row[2], row[3], bool(row[4]), None if row[5] is None else int(row[5])
    )


def feature_by_id(
    session: Session,
    collection: Collection,
    feature_id: str,
    *,
    crs: Crs,
    today: date,
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
