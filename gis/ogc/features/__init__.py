"""Feature collections of the ledger, and the SQL that pages, counts and filters them.

This is the domain side of the OGC API – Features service (``server/routes/ogc.py``): which tables
are published, under which property names, which properties can be filtered, which column carries
time, and how output coordinates are produced. Geometry and properties are serialised to JSON
inside PostGIS (``ST_AsGeoJSON`` + ``json_build_object``). One WHERE builder (:func:`where_sql`)
serves the count and the page, so ``numberMatched`` always agrees with the features returned.

The package: crs (types, errors, reference systems), collections (layers and their properties),
params (query parameters), sql (filter, count and page).
"""

from __future__ import annotations

from gis.ogc.features.collections import (
    COLLECTIONS,
    COMPLAINTS,
    INSPECTIONS,
    PROBLEMS,
    SITES,
    TOWNSHIP_CODE,
    TOWNSHIPS,
    Collection,
    Property,
)
from gis.ogc.features.crs import (
    ALIAS,
    CGCS2000,
    CRS84,
    MAX_FILTER_VALUES,
    STORAGE_CRS,
    SUPPORTED_CRS,
    WEB_MERCATOR,
    Crs,
    FeatureQueryError,
    PropertyType,
    crs_from_reference,
)
from gis.ogc.features.params import (
    SCOPED_TABLES,
    FeatureQuery,
    TimeInterval,
    parse_bbox,
    parse_datetime,
    parse_filter,
    scope_sql,
)
from gis.ogc.features.sql import (
    Extent,
    Page,
    collection_extent,
    count_features,
    feature_by_id,
    features_page,
    geometry_json_sql,
    parse_key,
    where_sql,
)

__all__ = [
    "ALIAS",
    "CGCS2000",
    "COLLECTIONS",
    "COMPLAINTS",
    "CRS84",
    "Collection",
    "Crs",
    "Extent",
    "FeatureQuery",
    "FeatureQueryError",
    "INSPECTIONS",
    "MAX_FILTER_VALUES",
    "PROBLEMS",
    "Page",
    "Property",
    "PropertyType",
    "SCOPED_TABLES",
    "SITES",
    "STORAGE_CRS",
    "SUPPORTED_CRS",
    "TOWNSHIPS",
    "TOWNSHIP_CODE",
    "TimeInterval",
    "WEB_MERCATOR",
    "collection_extent",
    "count_features",
    "crs_from_reference",
    "feature_by_id",
    "features_page",
    "geometry_json_sql",
    "parse_bbox",
    "parse_datetime",
    "parse_filter",
    "parse_key",
    "scope_sql",
    "where_sql",
]
