"""The county map page: every layer present, nothing loaded from outside the app."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from layers.assets import LOCAL_ASSETS, external_references, missing_vendor_files


def _shows(html: str, label: str) -> bool:
    """True when ``label`` is in the page as text or as JavaScript-escaped JSON."""
    return label in html or json.dumps(label)[1:-1] in html


@pytest.fixture(scope="module")
def client(demo_app, demo_headers):  # type: ignore[no-untyped-def]
    with TestClient(demo_app, headers=demo_headers["office"]) as c:
        yield c


def test_map_has_every_layer_and_legend(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/map")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    html = resp.text
    for name in (
        "乡镇边界 Townships",
        "已销号 Closed",
        "整改中（未逾期） Open, on time",
        "逾期 Overdue",
        "反弹 Rebounded",
    ):
        assert _shows(html, name), name
    assert "lookback-legend" in html
    assert "L.control.layers" in html
    assert "L.control.scale" in html
    # popups carry the ledger fields
    for alias in ("问题编号 Code", "责任单位 Unit", "责任人 Person"):
        assert _shows(html, alias), alias


def test_no_url_outside_the_app(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/map").text
    assert external_references(html) == []
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", html.split("<script>")[0])
    for src in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert client.get(src).status_code == 200, src


def test_vendor_assets_are_installed() -> None:
    assert missing_vendor_files() == [], "run `npm ci` in static/ (make does it)"
    assert "leaflet" in LOCAL_ASSETS


def test_township_page_and_unknown_township(client) -> None:  # type: ignore[no-untyped-def]
    townships = client.get("/api/townships.geojson").json()
    code = townships["features"][0]["id"]
    resp = client.get(f"/map/township/{code}")
    assert resp.status_code == 200
    assert client.get("/map/township/410199999000").status_code == 404


def test_problem_geojson_filters(client) -> None:  # type: ignore[no-untyped-def]
    every = client.get("/api/problems.geojson")
    assert every.headers["content-type"] == "application/geo+json"
    features = every.json()["features"]
    assert len(features) == 300
    assert "crs" not in features[0]["geometry"]
    overdue = client.get("/api/problems.geojson", params={"map_class": "overdue"}).json()
    assert overdue["features"]
    assert all(f["properties"]["overdue"] for f in overdue["features"])
    assert all(
        f["properties"]["warning"] in {"yellow", "orange", "red"} for f in overdue["features"]
    )
    assert client.get("/api/problems.geojson", params={"township": "12"}).status_code == 422
