"""The OpenAPI 3.0 description of the OGC API – Features service, one path per collection.

GDAL reads ``paths["/collections/{id}/items"]`` relative to the service root, and GDAL ≥ 3.8 and
QGIS take their page size from the ``limit`` parameter's ``maximum``; so every collection gets
concrete paths, and ``limit`` declares its default and maximum.
"""

from __future__ import annotations

from typing import Any

from gis.ogc.features import SUPPORTED_CRS, Collection, Property

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"

_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "date-time": {"type": "string", "format": "date-time"},
    "object": {"type": "object"},
}

GEOMETRY_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}


def property_schema(prop: Property) -> dict[str, Any]:
    """JSON schema (OpenAPI 3.0 dialect) of one feature property."""
    schema = dict(_TYPES[prop.type])
    if prop.enum:
        schema["enum"] = list(prop.enum)
    if prop.pattern:
        schema["pattern"] = prop.pattern
    if prop.description:
        schema["description"] = prop.description
    schema["nullable"] = True
    return schema


def _ref(name: str, kind: str = "schemas") -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json_response(description: str, schema: str, media: str = JSON) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            media: {"schema": _ref(schema)},
            HTML: {"schema": {"type": "string"}},
        },
    }


_ERRORS = {
    "400": {"$ref": "#/components/responses/InvalidParameter"},
    "500": {"$ref": "#/components/responses/ServerError"},
}


def _filter_parameter(prop: Property) -> dict[str, Any]:
    """A property filter; a scalar schema with form style, which QGIS and GDAL use to filter."""
    schema = property_schema(prop)
    schema.pop("nullable", None)
    schema.pop("description", None)
    return {
        "name": prop.name,
        "in": "query",
        "required": False,
        "description": f"only features whose {prop.name} is this value (or one of a,b,c)",
        "style": "form",
        "explode": False,
        "schema": schema,
    }


def _collection_paths(collection: Collection, shared: dict[str, Any]) -> dict[str, Any]:
    """Paths of one collection; parameters are written inline (some clients skip ``$ref``)."""
    cid = collection.id
    common = [shared["f"], shared["crs"]]
    params = [
        shared["limit"],
        shared["offset"],
        shared["bbox"],
        shared["bbox-crs"],
        *([shared["datetime"]] if collection.temporal else []),
        *common,
        *(_filter_parameter(p) for p in collection.filters),
    ]
    return {
        f"/collections/{cid}": {
            "get": {
                "tags": ["Collections"],
                "summary": f"{collection.title}: metadata",
                "operationId": f"describe_{cid}",
                "parameters": [shared["f"]],
                "responses": {
                    "200": _json_response("the collection", "collection"),
                    "404": {"$ref": "#/components/responses/NotFound"},
                    **_ERRORS,
                },
            }
        },
        f"/collections/{cid}/items": {
            "get": {
                "tags": ["Features"],
                "summary": f"{collection.title}: features",
                "description": collection.description,
                "operationId": f"get_{cid}_features",
                "parameters": params,
                "responses": {
                    "200": {
                        "description": "a page of features",
                        "headers": {"Content-Crs": _ref("Content-Crs", "headers")},
                        "content": {
                            GEOJSON: {"schema": _ref(f"{cid}Collection")},
                            HTML: {"schema": {"type": "string"}},
                        },
                    },
                    "404": {"$ref": "#/components/responses/NotFound"},
                    **_ERRORS,
                },
            }
        },
        f"/collections/{cid}/items/{{featureId}}": {
            "get": {
                "tags": ["Features"],
                "summary": f"{collection.title}: one feature",
                "operationId": f"get_{cid}_feature",
                "parameters": [
                    {
                        "name": "featureId",
                        "in": "path",
                        "required": True,
                        "description": "the feature's id",
                        "schema": {"type": collection.id_type},
                    },
                    *common,
                ],
                "responses": {
                    "200": {
                        "description": "the feature",
                        "headers": {"Content-Crs": _ref("Content-Crs", "headers")},
                        "content": {
                            GEOJSON: {"schema": _ref(f"{cid}Feature")},
                            HTML: {"schema": {"type": "string"}},
                        },
                    },
                    "404": {"$ref": "#/components/responses/NotFound"},
                    **_ERRORS,
                },
            }
        },
    }


def _feature_schemas(collection: Collection) -> dict[str, Any]:
    cid = collection.id
    return {
        f"{cid}Properties": {
            "type": "object",
            "properties": {p.name: property_schema(p) for p in collection.properties},
        },
        f"{cid}Feature": {
            "allOf": [
                _ref("featureGeoJSON"),
                {
                    "type": "object",
                    "properties": {
                        "id": {"type": collection.id_type},
                        "properties": _ref(f"{cid}Properties"),
                    },
                },
            ]
        },
        f"{cid}Collection": {
            "allOf": [
                _ref("featureCollectionGeoJSON"),
                {
                    "type": "object",
                    "properties": {"features": {"type": "array", "items": _ref(f"{cid}Feature")}},
                },
            ]
        },
    }


def _parameters(default_limit: int, max_limit: int) -> dict[str, Any]:
    crs_uris = [c.uri for c in SUPPORTED_CRS]
    return {
        "f": {
            "name": "f",
            "in": "query",
            "required": False,
            "description": "output format (instead of the Accept header)",
            "schema": {"type": "string", "enum": ["json", "html"]},
        },
        "limit": {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": (
                f"page size; larger values are served as {max_limit} (not refused), follow the "
                "`next` link for the rest"
            ),
            "style": "form",
            "explode": False,
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": max_limit,
                "default": default_limit,
            },
        },
        "offset": {
            "name": "offset",
            "in": "query",
            "required": False,
            "description": "features to skip (the `next` link sets it)",
            "schema": {"type": "integer", "minimum": 0, "default": 0},
        },
        "bbox": {
            "name": "bbox",
            "in": "query",
            "required": False,
            "description": (
                "only features intersecting this box: minx,miny,maxx,maxy in `bbox-crs` "
                "(default CRS84 longitude/latitude; EPSG:4490 is latitude/longitude)"
            ),
            "style": "form",
            "explode": False,
            "schema": {
                "type": "array",
                "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}],
                "items": {"type": "number"},
            },
        },
        "bbox-crs": {
            "name": "bbox-crs",
            "in": "query",
            "required": False,
            "description": "CRS of `bbox`",
            "schema": {"type": "string", "format": "uri", "enum": crs_uris},
        },
        "crs": {
            "name": "crs",
            "in": "query",
            "required": False,
            "description": "CRS of the returned coordinates (default CRS84)",
            "schema": {"type": "string", "format": "uri", "enum": crs_uris},
        },
        "datetime": {
            "name": "datetime",
            "in": "query",
            "required": False,
            "description": (
                "RFC 3339 instant, date (the whole local day) or interval `a/b` with `..` for an "
                "open end, matched against the collection's time property"
            ),
            "schema": {"type": "string"},
        },
    }


_LINK = {
    "type": "object",
    "required": ["href", "rel"],
    "properties": {
        "href": {"type": "string"},
        "rel": {"type": "string"},
        "type": {"type": "string"},
        "title": {"type": "string"},
    },
}
_LINKS = {"type": "array", "items": _ref("link")}
_GEOMETRY = {"type": "object", "nullable": True, "required": ["type"]}


def _schemas() -> dict[str, Any]:
    return {
        "link": _LINK,
        "exception": {
            "type": "object",
            "required": ["code"],
            "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
        },
        "landingPage": {
            "type": "object",
            "required": ["links"],
            "properties": {
                "title": {"type": "string"},
                "description": {"type": "string"},
                "links": _LINKS,
            },
        },
        "confClasses": {
            "type": "object",
            "required": ["conformsTo"],
            "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
        },
        "extent": {
            "type": "object",
            "properties": {
                "spatial": {
                    "type": "object",
                    "properties": {
                        "bbox": {
                            "type": "array",
                            "items": {"type": "array", "items": {"type": "number"}},
                        },
                        "crs": {"type": "string"},
                    },
                },
                "temporal": {
                    "type": "object",
                    "properties": {
                        "interval": {
                            "type": "array",
                            "items": {
                                "type": "array",
                                "items": {
                                    "type": "string",
                                    "format": "date-time",
                                    "nullable": True,
                                },
                            },
                        },
                        "trs": {"type": "string"},
                    },
                },
            },
        },
        "collection": {
            "type": "object",
            "required": ["id", "links"],
            "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "links": _LINKS,
                "extent": _ref("extent"),
                "itemType": {"type": "string"},
                "crs": {"type": "array", "items": {"type": "string"}},
                "storageCrs": {"type": "string"},
            },
        },
        "collections": {
            "type": "object",
            "required": ["links", "collections"],
            "properties": {
                "links": _LINKS,
                "collections": {"type": "array", "items": _ref("collection")},
            },
        },
        "featureGeoJSON": {
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "geometry": _GEOMETRY,
                "properties": {"type": "object", "nullable": True},
                "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "links": _LINKS,
            },
        },
        "featureCollectionGeoJSON": {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": _ref("featureGeoJSON")},
                "links": _LINKS,
                "timeStamp": {"type": "string", "format": "date-time"},
                "numberMatched": {"type": "integer", "minimum": 0},
                "numberReturned": {"type": "integer", "minimum": 0},
            },
        },
    }


def openapi_document(
    service_url: str,
    collections: list[Collection],
    *,
    title: str,
    description: str,
    version: str,
    default_limit: int,
    max_limit: int,
) -> dict[str, Any]:
    """The service's OpenAPI 3.0 document, served as ``application/vnd.oai.openapi+json``."""
    shared = _parameters(default_limit, max_limit)
    paths: dict[str, Any] = {
        "/": {
            "get": {
                "tags": ["Capabilities"],
                "summary": "landing page",
                "operationId": "getLandingPage",
                "parameters": [shared["f"]],
                "responses": {"200": _json_response("the landing page", "landingPage"), **_ERRORS},
            }
        },
        "/conformance": {
            "get": {
                "tags": ["Capabilities"],
                "summary": "conformance classes implemented by this server",
                "operationId": "getConformanceDeclaration",
                "parameters": [shared["f"]],
                "responses": {
                    "200": _json_response("the conformance classes", "confClasses"),
                    **_ERRORS,
                },
            }
        },
        "/api": {
            "get": {
                "tags": ["Capabilities"],
                "summary": "this document",
                "operationId": "getAPI",
                "responses": {
                    "200": {
                        "description": "the OpenAPI document",
                        "content": {OPENAPI: {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/collections": {
            "get": {
                "tags": ["Capabilities"],
                "summary": "the feature collections",
                "operationId": "getCollections",
                "parameters": [shared["f"]],
                "responses": {"200": _json_response("the collections", "collections"), **_ERRORS},
            }
        },
    }
    schemas = _schemas()
    for collection in collections:
        paths.update(_collection_paths(collection, shared))
        schemas.update(_feature_schemas(collection))
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "description": description, "version": version},
        "servers": [{"url": service_url}],
        "tags": [
            {"name": "Capabilities", "description": "what the service offers"},
            {"name": "Collections", "description": "collection metadata"},
            {"name": "Features", "description": "features, filtered and paged"},
        ],
        "paths": paths,
        "components": {
            "parameters": shared,
            "schemas": schemas,
            "headers": {
                "Content-Crs": {
                    "description": "CRS of the coordinates in the response, as <URI>",
                    "schema": {"type": "string"},
                }
            },
            "responses": {
                "InvalidParameter": {
                    "description": "a parameter is malformed or unsupported",
                    "content": {JSON: {"schema": _ref("exception")}},
                },
                "NotFound": {
                    "description": "no such collection or feature",
                    "content": {JSON: {"schema": _ref("exception")}},
                },
                "ServerError": {
                    "description": "a server error",
                    "content": {JSON: {"schema": _ref("exception")}},
                },
            },
        },
    }


def feature_json_schema(collection: Collection, schema_url: str) -> dict[str, Any]:
    """JSON Schema of a collection's GeoJSON features (the ``describedBy`` link).

    Clients such as GDAL type their fields from it instead of guessing from the first page.
    Any property may be null.
    """
    geometry_types = (
        sorted(GEOMETRY_TYPES)
        if collection.geometry_type == "Geometry"
        else [collection.geometry_type]
    )
    properties = {}
    for prop in collection.properties:
        schema = dict(_TYPES[prop.type])
        if prop.enum:
            schema["enum"] = list(prop.enum)
        if prop.description:
            schema["description"] = prop.description
        properties[prop.name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": schema_url,
        "title": collection.title,
        "description": f"{collection.description} Any property may be null.",
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": collection.id_type},
            "geometry": {
                "type": "object",
                "properties": {"type": {"type": "string", "enum": geometry_types}},
            },
            "properties": {"type": "object", "properties": properties},
        },
    }
