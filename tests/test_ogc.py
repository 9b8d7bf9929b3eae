"""OGC API – Features at /ogc against the demo county: contract, paging, filters, CRS, GDAL."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer
from sqlalchemy import Engine, text

from gis.ledger.deadlines import overdue_sql, warning_sql
from server.routes.ogc import CONFORMS, MAX_LIMIT
from tests.conftest import DEMO_AS_OF, LiveServer

COLLECTION_IDS = {"problems", "townships", "sites", "inspections", "complaints"}
TABLE_OF = {c: c for c in COLLECTION_IDS}
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
EPSG3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
PROBLEM_PROPERTIES = {
    "code",
    "source",
    "category",
    "township_code",
    "description",
    "responsible_unit",
    "responsible_person",
    "target",
    "measures",
    "deadline_kind",
    "deadline",
    "status",
    "overdue",
    "warning",
}


@pytest.fixture(scope="module")
def client(demo_app, demo_headers) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    GDAL_AUTH["header"] = f"Authorization: {demo_headers['office']['Authorization']}"
    with TestClient(demo_app, headers=demo_headers["office"]) as c:
        yield c


def _scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def _rel(doc: dict, rel: str, type_: str | None = None) -> list[dict]:
    return [
        link
        for link in doc["links"]
        if link["rel"] == rel and (type_ is None or link.get("type") == type_)
    ]


def _items(client: TestClient, collection: str, **params: Any) -> dict:
    r = client.get(f"/ogc/collections/{collection}/items", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    return r.json()


def _all_pages(client: TestClient, url: str) -> tuple[list[dict], list[dict]]:
    """Follow rel=next from ``url`` to the end; return the features and each page's head."""
    features: list[dict] = []
    pages: list[dict] = []
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        doc = r.json()
        pages.append(doc)
        features += doc["features"]
        assert doc["numberReturned"] == len(doc["features"])
        nexts = _rel(doc, "next")
        assert len(nexts) <= 1
        if nexts:
            assert nexts[0]["type"] == "application/geo+json"
        url = nexts[0]["href"] if nexts else ""
    return features, pages


# ---- landing page, API definition, conformance ----------------------------------------------


def test_landing_page_links_and_content_types(client: TestClient) -> None:
    r = client.get("/ogc", headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["title"] and doc["description"]
    service_desc = _rel(doc, "service-desc", OPENAPI)
    assert len(service_desc) == 1
    assert _rel(doc, "conformance", "application/json")
    assert _rel(doc, "data", "application/json")
    assert _rel(doc, "self", "application/json")
    assert _rel(doc, "service-doc", "text/html")
    for rel in ("conformance", "data"):
        target = client.get(_rel(doc, rel)[0]["href"])
        assert target.status_code == 200
        assert target.headers["content-type"].startswith("application/json")

    api = client.get(service_desc[0]["href"])
    assert api.status_code == 200
    assert api.headers["content-type"] == OPENAPI
    spec = api.json()
    assert spec["openapi"].startswith("3.0.")
    assert spec["servers"][0]["url"].endswith("/ogc")
    for cid in COLLECTION_IDS:
        assert f"/collections/{cid}/items" in spec["paths"]
        assert f"/collections/{cid}/items/{{featureId}}" in spec["paths"]
    limit = spec["components"]["parameters"]["limit"]["schema"]
    assert limit["maximum"] == MAX_LIMIT >= 1000
    problem_params = {
        p.get("name") for p in spec["paths"]["/collections/problems/items"]["get"]["parameters"]
    }
    assert {"status", "category", "source", "township_code", "overdue", "warning"} <= problem_params
    # Every $ref resolves inside the document.
    refs = set(re.findall(r'"\$ref": ?"#/([^"]+)"', api.text))
    for ref in refs:
        node: Any = spec
        for part in ref.split("/"):
            node = node[part]


def test_landing_page_with_trailing_slash_and_html(client: TestClient) -> None:
    assert client.get("/ogc/").json()["links"]
    html = client.get("/ogc", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert html.headers["content-type"].startswith("text/html")
    assert "service-desc" in html.text
    assert client.get("/ogc?f=html").headers["content-type"].startswith("text/html")
    assert client.get("/ogc?f=xml").status_code == 400


def test_conformance_lists_only_implemented_classes(client: TestClient) -> None:
    r = client.get("/ogc/conformance")
    assert r.status_code == 200
    conforms = r.json()["conformsTo"]
    assert conforms == list(CONFORMS)
    assert len(set(conforms)) == len(conforms)
    for needed in (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    ):
        assert needed in conforms
    # Not implemented, so not claimed: queryables, filtering, CQL2, tiles, search.
    for absent in ("features-3", "features-4", "cql2", "tiles", "records", "gmlsf"):
        assert not any(absent in c for c in conforms)


# ---- collections ---------------------------------------------------------------------------


def test_collections_and_their_metadata(client: TestClient, demo_engine: Engine) -> None:
    r = client.get("/ogc/collections")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert _rel(doc, "self")
    by_id = {c["id"]: c for c in doc["collections"]}
    assert set(by_id) == COLLECTION_IDS
    for cid, coll in by_id.items():
        assert coll["title"] and coll["description"]
        assert coll["itemType"] == "feature"
        assert coll["crs"][0] == CRS84 and {EPSG4490, EPSG3857} <= set(coll["crs"])
        assert coll["storageCrs"] == EPSG4490
        items = _rel(coll, "items", "application/geo+json")
        assert items and items[0]["href"].endswith(f"/ogc/collections/{cid}/items")
        minx, miny, maxx, maxy = coll["extent"]["spatial"]["bbox"][0]
        assert coll["extent"]["spatial"]["crs"] == CRS84
        expected = [
            _scalar(demo_engine, f"SELECT ST_{f}(ST_Extent(geom)) FROM {TABLE_OF[cid]}")
            for f in ("XMin", "YMin", "XMax", "YMax")
        ]
        assert [minx, miny, maxx, maxy] == pytest.approx(expected, abs=1e-9)
        assert 112 < minx < maxx < 115 and 33 < miny < maxy < 36
        schema_link = _rel(coll, "describedBy", "application/schema+json")[0]
        schema = client.get(schema_link["href"])
        assert schema.headers["content-type"].startswith("application/schema+json")
        assert "properties" in schema.json()["properties"]["properties"]
        single = client.get(f"/ogc/collections/{cid}")
        assert single.status_code == 200
        assert single.json() == coll
    for cid, column in (
        ("problems", "reported_at"),
        ("inspections", "observed_at"),
        ("complaints", "received_at"),
    ):
        lo, hi = by_id[cid]["extent"]["temporal"]["interval"][0]
        assert lo < hi
        first = _scalar(demo_engine, f"SELECT min({column}) FROM {cid}")
        assert lo.startswith(first.isoformat()[:10])
    assert "temporal" not in by_id["townships"]["extent"]
    assert "temporal" not in by_id["sites"]["extent"]
    assert client.get("/ogc/collections/nope").status_code == 404


# ---- items: paging -------------------------------------------------------------------------


@pytest.mark.parametrize("collection", sorted(COLLECTION_IDS))
def test_paging_to_the_end_matches_number_matched(
    client: TestClient, demo_engine: Engine, collection: str
) -> None:
    features, pages = _all_pages(client, f"/ogc/collections/{collection}/items?limit=37")
    total = _scalar(demo_engine, f"SELECT count(*) FROM {TABLE_OF[collection]}")
    assert {p["numberMatched"] for p in pages} == {total}
    assert len(features) == total
    ids = [f["id"] for f in features]
    assert len(set(ids)) == len(ids)
    assert all(p["numberReturned"] == 37 for p in pages[:-1])
    assert not _rel(pages[-1], "next")
    if len(pages) > 1:
        assert _rel(pages[1], "prev")


def test_limit_above_the_maximum_is_clamped_not_refused(client: TestClient) -> None:
    doc = _items(client, "inspections", limit=5000)
    assert doc["numberReturned"] == min(doc["numberMatched"], MAX_LIMIT)
    nexts = _rel(doc, "next")
    if nexts:
        assert f"limit={MAX_LIMIT}" in nexts[0]["href"]
    assert _items(client, "townships", limit=1000)["numberReturned"] > 0
    assert client.get("/ogc/collections/townships/items?limit=0").status_code == 400


# ---- items: filters ------------------------------------------------------------------------


def test_bbox_filter_matches_postgis(client: TestClient, demo_engine: Engine) -> None:
    x0, y0, x1, y1 = _scalar(
        demo_engine,
        "SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)]"
        " FROM (SELECT ST_Extent(geom) AS e FROM problems) s",
    )
    dx, dy = x1 - x0, y1 - y0  # a window inside the data, not touching its extreme points
    box = (x0 + dx * 0.1037, y0 + dy * 0.0913, x0 + dx * 0.6171, y0 + dy * 0.6523)
    expected = _scalar(
        demo_engine,
        "SELECT count(*) FROM problems"
        " WHERE ST_Intersects(geom, ST_MakeEnvelope(:a, :b, :c, :d, 4490))",
        a=box[0],
        b=box[1],
        c=box[2],
        d=box[3],
    )
    assert 0 < expected < _scalar(demo_engine, "SELECT count(*) FROM problems")
    bbox = ",".join(f"{v:.9f}" for v in box)
    features, pages = _all_pages(client, f"/ogc/collections/problems/items?bbox={bbox}&limit=50")
    assert pages[0]["numberMatched"] == expected == len(features)
    for f in features:
        lon, lat = f["geometry"]["coordinates"]
        eps = 1e-6  # coordinates are written with 6 decimals
        assert box[0] - eps <= lon <= box[2] + eps and box[1] - eps <= lat <= box[3] + eps

    # The same box in EPSG:4490 axis order (lat, lon) and in Web Mercator.
    latlon = f"{box[1]:.9f},{box[0]:.9f},{box[3]:.9f},{box[2]:.9f}"
    assert _items(client, "problems", bbox=latlon, **{"bbox-crs": EPSG4490})["numberMatched"] == (
        expected
    )
    to_3857 = Transformer.from_crs(4326, 3857, always_xy=True)
    mx0, my0 = to_3857.transform(box[0], box[1])
    mx1, my1 = to_3857.transform(box[2], box[3])
    merc = f"{mx0:.3f},{my0:.3f},{mx1:.3f},{my1:.3f}"
    assert _items(client, "problems", bbox=merc, **{"bbox-crs": "EPSG:3857"})["numberMatched"] == (
        expected
    )


def test_bad_parameters_are_400_with_a_message(client: TestClient) -> None:
    for params in (
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"bbox": "114,34,113,35"},
        {"bbox": "113,95,114,96"},
        {"datetime": "yesterday"},
        {"datetime": "../.."},
        {"datetime": "2026-02-01/2026-01-01"},
        {"crs": "EPSG:4326"},
        {"bbox-crs": "EPSG:32650", "bbox": "1,2,3,4"},
        {"status": "open"},
        {"overdue": "maybe"},
        {"stauts": "closed"},
        {"offset": "-1"},
        {"limit": "ten"},
    ):
        r = client.get("/ogc/collections/problems/items", params=params)
        assert r.status_code == 400, (params, r.text)
        body = r.json()
        assert body["code"] == "InvalidParameterValue" and body["description"], params
    r = client.get("/ogc/collections/townships/items", params={"datetime": "2026-01-01/.."})
    assert r.status_code == 400 and "no time property" in r.json()["description"]


def test_property_filters_match_the_ledger(client: TestClient, demo_engine: Engine) -> None:
    def count(where: str, **params: Any) -> int:
        return _scalar(demo_engine, f"SELECT count(*) FROM problems p WHERE {where}", **params)

    closed = _all_pages(client, "/ogc/collections/problems/items?status=closed&limit=1000")[0]
    assert len(closed) == count("status = 'closed'") > 0
    assert {f["properties"]["status"] for f in closed} == {"closed"}
    assert not any(f["properties"]["overdue"] for f in closed)

    both = _items(client, "problems", status="closed,rebounded", limit=1)["numberMatched"]
    assert both == count("status IN ('closed', 'rebounded')")

    code = _scalar(demo_engine, "SELECT min(township_code) FROM problems")
    combined = _items(client, "problems", category="dust", township_code=code)
    assert combined["numberMatched"] == count("category = 'dust' AND township_code = :t", t=code)
    assert all(f["properties"]["category"] == "dust" for f in combined["features"])

    overdue = _items(client, "problems", overdue="true", limit=1)["numberMatched"]
    assert overdue == count(overdue_sql("p"), today=DEMO_AS_OF) > 0
    red = _items(client, "problems", warning="red", source="central_2", limit=1)["numberMatched"]
    assert red == count(f"{warning_sql('p')} = 'red' AND source = 'central_2'", today=DEMO_AS_OF)

    zones = _items(client, "sites", kind="protection_zone")
    assert zones["numberMatched"] == _scalar(
        demo_engine, "SELECT count(*) FROM sites WHERE kind = 'protection_zone'"
    )
    assert {f["properties"]["zone_level"] for f in zones["features"]} <= {"1", "2", "quasi"}


def test_datetime_filter_matches_the_time_column(client: TestClient, demo_engine: Engine) -> None:
    start, end = "2026-06-01T00:00:00+08:00", "2026-09-30"
    doc = _items(client, "problems", datetime=f"{start}/{end}", limit=1)
    expected = _scalar(
        demo_engine,
        "SELECT count(*) FROM problems WHERE reported_at >= '2026-06-01T00:00:00+08:00'"
        " AND reported_at < '2026-10-01T00:00:00+08:00'",
    )
    assert doc["numberMatched"] == expected > 0
    open_end = _items(client, "complaints", datetime="2026-10-01T00:00:00Z/..", limit=1)
    assert open_end["numberMatched"] == _scalar(
        demo_engine, "SELECT count(*) FROM complaints WHERE received_at >= '2026-10-01T00:00:00Z'"
    )


# ---- single features, CRS ------------------------------------------------------------------


def test_single_items_and_404(client: TestClient, demo_engine: Engine) -> None:
    code = _scalar(demo_engine, "SELECT code FROM problems ORDER BY id LIMIT 1")
    r = client.get(f"/ogc/collections/problems/items/{code}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    assert r.headers["content-crs"] == f"<{CRS84}>"
    feature = r.json()
    assert feature["type"] == "Feature" and feature["id"] == code
    assert PROBLEM_PROPERTIES <= set(feature["properties"])
    assert feature["properties"]["code"] == code
    assert _rel(feature, "self") and _rel(feature, "collection")

    town = _scalar(demo_engine, "SELECT code FROM townships ORDER BY code LIMIT 1")
    t = client.get(f"/ogc/collections/townships/items/{town}").json()
    assert t["id"] == town and t["geometry"]["type"] == "MultiPolygon"
    site_id = _scalar(demo_engine, "SELECT min(id) FROM sites")
    assert client.get(f"/ogc/collections/sites/items/{site_id}").json()["id"] == site_id

    for url in (
        "/ogc/collections/problems/items/NO-SUCH-CODE",
        "/ogc/collections/sites/items/not-a-number",
        "/ogc/collections/sites/items/99999999",
        "/ogc/collections/nope/items/1",
        "/ogc/collections/nope/items",
    ):
        missing = client.get(url)
        assert missing.status_code == 404, url
        assert missing.json()["code"] == "NotFound" and missing.json()["description"]
    html = client.get(f"/ogc/collections/problems/items/{code}?f=html")
    assert html.headers["content-type"].startswith("text/html") and code in html.text


def test_crs_3857_and_4490_coordinates(client: TestClient, demo_engine: Engine) -> None:
    plain = _items(client, "problems", limit=20)
    r = client.get("/ogc/collections/problems/items", params={"limit": 20, "crs": "EPSG:3857"})
    assert r.status_code == 200
    assert r.headers["content-crs"] == f"<{EPSG3857}>"
    merc = r.json()
    to_3857 = Transformer.from_crs(4490, 3857, always_xy=True)
    for a, b in zip(plain["features"], merc["features"], strict=True):
        assert a["id"] == b["id"]
        lon, lat = a["geometry"]["coordinates"]
        x, y = b["geometry"]["coordinates"]
        assert abs(x) > 1e7 and abs(y) > 1e6
        ex, ey = to_3857.transform(lon, lat)
        assert x == pytest.approx(ex, abs=0.5) and y == pytest.approx(ey, abs=0.5)

    r = client.get("/ogc/collections/problems/items", params={"limit": 20, "crs": EPSG4490})
    assert r.headers["content-crs"] == f"<{EPSG4490}>"
    for a, b in zip(plain["features"], r.json()["features"], strict=True):
        assert b["geometry"]["coordinates"] == a["geometry"]["coordinates"][::-1]
    assert (
        plain["features"]
        and client.get("/ogc/collections/problems/items", params={"crs": CRS84}).headers[
            "content-crs"
        ]
        == f"<{CRS84}>"
    )

    town = _scalar(demo_engine, "SELECT code FROM townships ORDER BY code LIMIT 1")
    t = client.get(f"/ogc/collections/townships/items/{town}", params={"crs": "[EPSG:3857]"})
    assert t.headers["content-crs"] == f"<{EPSG3857}>"
    assert abs(t.json()["geometry"]["coordinates"][0][0][0][0]) > 1e7


def test_items_as_html(client: TestClient) -> None:
    r = client.get("/ogc/collections/townships/items?f=html&limit=5")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<table>" in r.text and "next page" in r.text
    assert client.get("/ogc/collections?f=html").headers["content-type"].startswith("text/html")
    assert client.get("/ogc/collections/sites?f=html").status_code == 200


# ---- GDAL's OAPIF driver ---------------------------------------------------------------------

OGRINFO = shutil.which("ogrinfo")
needs_ogrinfo = pytest.mark.skipif(OGRINFO is None, reason="ogrinfo (gdal-bin) is not installed")


GDAL_AUTH: dict[str, str] = {}


def _ogrinfo(*args: str) -> str:
    env = {
        **os.environ,
        "GDAL_HTTP_HEADERS": GDAL_AUTH.get("header", ""),
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
        "GDAL_HTTP_TIMEOUT": "60",
    }
    done = subprocess.run(
        [OGRINFO or "ogrinfo", *args], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "ERROR" not in done.stderr, done.stderr
    return done.stdout


@needs_ogrinfo
def test_gdal_lists_every_collection_with_counts(
    client: TestClient, demo_server: LiveServer
) -> None:
    url = f"OAPIF:{demo_server.url}/ogc"
    listing = _ogrinfo("-ro", url)
    layers = set(re.findall(r"^\d+: (\w+)", listing, flags=re.M))
    assert layers == COLLECTION_IDS

    summary = _ogrinfo("-ro", "-so", "-al", "-oo", "PAGE_SIZE=1000", url)
    counts = dict(re.findall(r"Layer name: (\w+).*?Feature Count: (\d+)", summary, flags=re.S))
    assert set(counts) == COLLECTION_IDS
    for cid in COLLECTION_IDS:
        matched = _items(client, cid, limit=1)["numberMatched"]
        assert int(counts[cid]) == matched, cid

    problems = _ogrinfo("-ro", "-so", "-oo", "PAGE_SIZE=1000", url, "problems")
    for field in ("status: String", "overdue: Integer(Boolean)", "deadline: Date"):
        assert field in problems
    # Field types come from the describedBy JSON Schema, not from a first page of nulls.
    sites = _ogrinfo("-ro", "-so", url, "sites")
    assert "parent_id: Integer" in sites


@needs_ogrinfo
def test_gdal_filters_are_done_by_the_server(
    client: TestClient, demo_server: LiveServer, demo_engine: Engine, tmp_path: Path
) -> None:
    url = f"OAPIF:{demo_server.url}/ogc"

    def gdal_count(where: str) -> int:
        out = _ogrinfo("-ro", "-so", "-oo", "PAGE_SIZE=1000", "-where", where, url, "problems")
        return int(re.search(r"Feature Count: (\d+)", out).group(1))  # type: ignore[union-attr]

    closed = _scalar(demo_engine, "SELECT count(*) FROM problems WHERE status = 'closed'")
    assert gdal_count("status = 'closed'") == closed
    since = _scalar(
        demo_engine,
        "SELECT count(*) FROM problems WHERE reported_at >= '2026-06-01T00:00:00+08:00'",
    )
    assert gdal_count("reported_at >= '2026-06-01'") == since
    # GDAL 3.6 sends a range on any date field as datetime=, which means reported_at here.
    # docs/ogc.md says to copy the layer and filter the copy for other dates: that works.
    late = _scalar(demo_engine, "SELECT count(*) FROM problems WHERE deadline < '2026-06-01'")
    copy = tmp_path / "problems.gpkg"
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
           "GDAL_HTTP_HEADERS": GDAL_AUTH["header"]}
    subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(copy), "-oo", "PAGE_SIZE=1000", url, "problems"],
        check=True,
        capture_output=True,
        timeout=300,
        env=env,
    )
    out = _ogrinfo("-ro", "-so", "-where", "deadline < '2026-06-01'", str(copy), "problems")
    assert f"Feature Count: {late}" in out


@needs_ogrinfo
def test_gdal_reads_every_feature_through_next_links(
    client: TestClient, demo_server: LiveServer
) -> None:
    url = f"OAPIF:{demo_server.url}/ogc"
    matched = _items(client, "problems", limit=1)["numberMatched"]
    out = _ogrinfo("-ro", "-oo", "PAGE_SIZE=70", "-fields=YES", "-geom=NO", url, "problems")
    codes = re.findall(r"^\s+code \(String\) = (\S+)$", out, flags=re.M)
    assert len(codes) == matched == len(set(codes))
    # GDAL 3.6's default page of 10 works too (townships: a couple of pages).
    towns = _ogrinfo("-ro", "-geom=NO", url, "townships")
    assert (
        len(re.findall(r"^OGRFeature\(townships\)", towns, flags=re.M))
        == (_items(client, "townships", limit=1)["numberMatched"])
    )
