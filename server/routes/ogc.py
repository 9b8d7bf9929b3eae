"""OGC API – Features at ``/ogc``: Part 1 Core, GeoJSON, HTML and OpenAPI 3.0; Part 2 CRS.

Readable by GDAL's OAPIF driver and QGIS. The landing page links ``service-desc`` (OpenAPI 3.0),
``conformance`` and ``data``; items are ``application/geo+json`` with ``numberMatched``,
``numberReturned`` and a typed ``rel=next`` link on every page but the last. The collections,
filters and SQL live in :mod:`gis.ogc.features`; this module parses, negotiates and serialises.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute

from gis.ogc.features import (
    COLLECTIONS,
    CRS84,
    STORAGE_CRS,
    SUPPORTED_CRS,
    Collection,
    Crs,
    FeatureQuery,
    FeatureQueryError,
    collection_extent,
    crs_from_reference,
    feature_by_id,
    features_page,
    parse_bbox,
    parse_datetime,
    parse_filter,
)
from server import ogc_html
from server.deps import Session, SessionDep, SettingsDep, TodayDep
from server.ogc_openapi import feature_json_schema, openapi_document
from server.security import Reader, Requires

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
JSON_SCHEMA = "application/schema+json"

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000  # GDAL asks for 1000 with -oo PAGE_SIZE=1000, QGIS for 100; more is clamped

# Conformance classes, composed from what each part implements (advertise nothing else).
COMMON_CONFORMS = (
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
)
FEATURES_CONFORMS = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
)
CRS_CONFORMS = ("http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",)
CONFORMS = COMMON_CONFORMS + FEATURES_CONFORMS + CRS_CONFORMS

TITLE = "Lookback · OGC API – Features"
DESCRIPTION = (
    "环保督察整改台账 — the county's rectification problems, townships, sites, inspections and "
    "complaints as OGC API – Features (GeoJSON, CRS84 / EPSG:4490 / EPSG:3857)."
)
ITEMS_PARAMS = frozenset(
    {"f", "limit", "offset", "after", "before", "matched", "bbox", "bbox-crs", "datetime", "crs"}
)
ITEM_PARAMS = frozenset({"f", "crs"})
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


class OgcError(Exception):
    """An error answered as an OGC exception document: ``{"code", "description"}``."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


def _error(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse({"code": code, "description": description}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ())[1:]) or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


class OgcRoute(APIRoute):
    """A route whose errors are OGC exception documents (400 rather than FastAPI's 422)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the handler to turn parameter and lookup errors into JSON answers."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except OgcError as exc:
                return _error(exc.status, exc.code, exc.description)
            except FeatureQueryError as exc:
                return _error(400, "InvalidParameterValue", str(exc))
            except RequestValidationError as exc:
                return _error(400, "InvalidParameterValue", _validation_message(exc))

        return route


router = APIRouter(
    prefix="/ogc",
    tags=["OGC API – Features"],
    route_class=OgcRoute,
    dependencies=[Depends(Requires("read"))],
)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _link(href: str, rel: str, type_: str, title: str = "") -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def _wants_html(request: Request) -> bool:
    """``f=html|json`` decides; otherwise HTML only for browsers (Accept: text/html, no JSON)."""
    f = request.query_params.get("f")
    if f is not None:
        value = f.strip().lower()
        if value in ("html", "text/html"):
            return True
        if value in ("json", "geojson", JSON, GEOJSON):
            return False
        raise OgcError(400, "InvalidParameterValue", f"unsupported f={f!r}: use json or html")
    accept = request.headers.get("accept", "").lower()
    return "text/html" in accept and "json" not in accept


def _self_links(request: Request, json_type: str = JSON) -> list[dict[str, str]]:
    url = request.url.remove_query_params("f")
    html = request.url.include_query_params(f="html")
    if _wants_html(request):
        return [
            _link(str(html), "self", HTML, "this document"),
            _link(str(url.include_query_params(f="json")), "alternate", json_type, "as JSON"),
        ]
    return [
        _link(str(url), "self", json_type, "this document"),
        _link(str(html), "alternate", HTML, "as HTML"),
    ]


def _collection(collection_id: str) -> Collection:
    collection = COLLECTIONS.get(collection_id)
    if collection is None:
        known = ", ".join(COLLECTIONS)
        raise OgcError(
            404, "NotFound", f"no collection {collection_id!r}; collections are: {known}"
        )
    return collection


def _check_params(request: Request, allowed: frozenset[str], collection: Collection) -> None:
    filters = {p.name for p in collection.filters}
    for name in request.query_params:
        if name not in allowed and name not in filters:
            usable = ", ".join(sorted(allowed | filters))
            raise OgcError(
                400,
                "InvalidParameterValue",
                f"unknown query parameter {name!r} for {collection.id}; use: {usable}",
            )


def _crs(value: str | None, default: Crs = CRS84) -> Crs:
    return crs_from_reference(value) if value else default


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _collection_doc(base: str, collection: Collection, session: Session) -> dict[str, Any]:
    extent = collection_extent(session, collection)
    url = f"{base}/collections/{collection.id}"
    doc: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "keywords": list(collection.keywords),
        "itemType": "feature",
        "crs": [c.uri for c in SUPPORTED_CRS],
        "storageCrs": STORAGE_CRS.uri,
        "links": [
            _link(url, "self", JSON, "this collection"),
            _link(f"{url}?f=html", "alternate", HTML, "this collection as HTML"),
            _link(f"{url}/items", "items", GEOJSON, "features"),
            _link(f"{url}/items?f=html", "items", HTML, "features as HTML"),
            _link(f"{url}/feature-schema", "describedBy", JSON_SCHEMA, "JSON Schema of a feature"),
        ],
    }
    ext: dict[str, Any] = {}
    if extent.bbox:
        ext["spatial"] = {"bbox": [list(extent.bbox)], "crs": CRS84.uri}
    if extent.interval is not None:
        ext["temporal"] = {"interval": [[_iso(t) for t in extent.interval]], "trs": TRS}
    if ext:
        doc["extent"] = ext
    return doc


def _json(doc: Any, media_type: str = JSON, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return Response(body, media_type=media_type, headers=headers)


# --------------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------------


@router.get("", summary="Landing page")
@router.get("/", include_in_schema=False)
def landing_page(request: Request) -> Response:
    """The landing page: links to the API description, conformance and the collections."""
    base = _base(request)
    doc = {
        "title": TITLE,
        "description": DESCRIPTION,
        "links": [
            *_self_links(request),
            _link(f"{base}/api", "service-desc", OPENAPI, "the API definition (OpenAPI 3.0)"),
            _link(str(request.base_url) + "docs", "service-doc", HTML, "the API documentation"),
            _link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
            _link(f"{base}/collections", "data", JSON, "the feature collections"),
        ],
    }
    if _wants_html(request):
        return HTMLResponse(ogc_html.landing_html(doc))
    return _json(doc)


@router.get("/conformance", summary="Conformance classes implemented")
def conformance(request: Request) -> Response:
    """The conformance classes this server implements, and only those."""
    doc = {"conformsTo": list(CONFORMS), "links": _self_links(request)}
    if _wants_html(request):
        return HTMLResponse(ogc_html.conformance_html(doc))
    return _json(doc)


@router.get("/api", summary="OpenAPI 3.0 definition of the OGC API")
def api_definition(request: Request) -> Response:
    """The OpenAPI 3.0 document of this service (``application/vnd.oai.openapi+json``)."""
    doc = openapi_document(
        _base(request),
        list(COLLECTIONS.values()),
        title=TITLE,
        description=DESCRIPTION,
        version=request.app.version,
        default_limit=DEFAULT_LIMIT,
        max_limit=MAX_LIMIT,
    )
    return _json(doc, media_type=OPENAPI)


@router.get("/collections", summary="Feature collections")
def collections(request: Request, session: SessionDep) -> Response:
    """Every collection with its extent, CRSs and links."""
    base = _base(request)
    doc = {
        "links": _self_links(request),
        "collections": [_collection_doc(base, c, session) for c in COLLECTIONS.values()],
    }
    if _wants_html(request):
        return HTMLResponse(ogc_html.collections_html(doc, base))
    return _json(doc)


@router.get("/collections/{collection_id}", summary="One feature collection")
def collection(request: Request, collection_id: str, session: SessionDep) -> Response:
    """A collection's metadata: extent, CRSs, links to its items."""
    doc = _collection_doc(_base(request), _collection(collection_id), session)
    if _wants_html(request):
        return HTMLResponse(ogc_html.collection_html(doc))
    return _json(doc)


@router.get("/collections/{collection_id}/feature-schema", summary="JSON Schema of a feature")
def feature_schema(request: Request, collection_id: str) -> Response:
    """The JSON Schema of the collection's features, so clients type their fields right."""
    coll = _collection(collection_id)
    url = f"{_base(request)}/collections/{coll.id}/feature-schema"
    return _json(feature_json_schema(coll, url), media_type=JSON_SCHEMA)


@router.get("/collections/{collection_id}/items", summary="Features of a collection")
def items(
    principal: Reader,
    request: Request,
    collection_id: str,
    session: SessionDep,
    settings: SettingsDep,
    today: TodayDep,
    limit: Annotated[int, Query(ge=1, description=f"page size, at most {MAX_LIMIT}")] = (
        DEFAULT_LIMIT
    ),
    offset: Annotated[
        int, Query(ge=0, description="features to skip (the `next` links page by key instead)")
    ] = 0,
    after: Annotated[
        str | None, Query(description="paging key: the features after it (from a `next` link)")
    ] = None,
    before: Annotated[
        str | None, Query(description="paging key: the page before it (from a `prev` link)")
    ] = None,
    matched: Annotated[
        int | None,
        Query(ge=0, description="numberMatched of the first page, carried by the paging links"),
    ] = None,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy")] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description="CRS of bbox")] = None,
    datetime_: Annotated[
        str | None, Query(alias="datetime", description="RFC 3339 instant or interval")
    ] = None,
    crs: Annotated[str | None, Query(description="CRS of the output coordinates")] = None,
) -> Response:
    """A page of features: bbox, datetime and property filters, ``next`` link to the rest."""
    coll = _collection(collection_id)
    _check_params(request, ITEMS_PARAMS, coll)
    html = _wants_html(request)
    out_crs, box_crs = _crs(crs), _crs(bbox_crs)
    filters = {}
    for prop in coll.filters:
        raw = request.query_params.getlist(prop.name)
        if raw:
            filters[prop.name] = parse_filter(prop, ",".join(raw))
    query = FeatureQuery(
        bbox=parse_bbox(bbox, box_crs) if bbox is not None else None,
        bbox_crs=box_crs,
        datetime=parse_datetime(datetime_, settings.zone) if datetime_ is not None else None,
        filters=filters,
        limit=min(limit, MAX_LIMIT),
        offset=offset if after is None and before is None else 0,
        after=after,
        before=before,
        crs=out_crs,
        scope=principal.townships,
    )
    keyed = after is not None or before is not None
    # One statement: the page's JSON and, unless a paging link carries it, numberMatched.
    page = features_page(session, coll, query, today=today, count=matched is None)
    features, returned = page.features, page.returned
    if matched is None:
        matched = page.matched or 0

    # Paging links carry the key of the page's edge and numberMatched (counted once per filter).
    page_url = request.url.include_query_params(limit=query.limit, matched=matched)
    page_url = page_url.remove_query_params(["offset", "after", "before"])
    if html:
        page_url = page_url.include_query_params(f="html")
    page_type = HTML if html else GEOJSON
    links = _self_links(request, GEOJSON)
    links.append(_link(f"{_base(request)}/collections/{coll.id}", "collection", JSON, coll.title))
    has_next = page.more if before is None else True
    has_prev = (page.more if before is not None else (keyed or offset > 0))
    if returned and has_next and page.last_key is not None:
        next_url = page_url.include_query_params(after=page.last_key)
        links.append(_link(str(next_url), "next", page_type, "next page"))
    if returned and has_prev and page.first_key is not None:
        prev_url = page_url.include_query_params(before=page.first_key)
        links.append(_link(str(prev_url), "prev", page_type, "previous page"))
    head = {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": returned,
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    }
    headers = {"Content-Crs": out_crs.header}
    if html:
        doc = {**head, "features": json.loads(features)}
        item_url = f"{_base(request)}/collections/{coll.id}/items/{{id}}?f=html"
        return HTMLResponse(ogc_html.items_html(coll.title, doc, item_url), headers=headers)
    body = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
    body = body[:-1] + ',"features":' + features + "}"
    return Response(body, media_type=GEOJSON, headers=headers)


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature")
def item(
    principal: Reader,
    request: Request,
    collection_id: str,
    feature_id: str,
    session: SessionDep,
    today: TodayDep,
    crs: Annotated[str | None, Query(description="CRS of the output coordinates")] = None,
) -> Response:
    """One feature by id: problems and townships by code, the others by number."""
    coll = _collection(collection_id)
    _check_params(request, ITEM_PARAMS, coll)
    html = _wants_html(request)
    out_crs = _crs(crs)
    found = feature_by_id(session, coll, feature_id, crs=out_crs, today=today,
                          scope=principal.townships)
    if found is None:
        raise OgcError(404, "NotFound", f"no feature {feature_id!r} in collection {coll.id!r}")
    feature = json.loads(found)
    base = _base(request)
    feature["links"] = [
        *_self_links(request, GEOJSON),
        _link(f"{base}/collections/{coll.id}", "collection", JSON, coll.title),
    ]
    headers = {"Content-Crs": out_crs.header}
    if html:
        return HTMLResponse(ogc_html.item_html(coll.title, feature), headers=headers)
    return _json(feature, media_type=GEOJSON, headers=headers)
