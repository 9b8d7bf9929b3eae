"""The command-centre wall: layer builders, small live endpoints, and the page in Chromium."""

from __future__ import annotations

import json
import time
from datetime import date
from urllib.parse import urlparse

import folium
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.demo.county import load_demo
from gis.ledger.query import map_class_counts
from gis.maps.classify import classify
from gis.maps.live import POINT_ZOOM, TOWNSHIP_ZOOM
from gis.maps.sites import sites_geojson
from layers.site_layers import air_station_layer, protection_zone_layer, site_layers
from server.app import create_app
from tests.conftest import DEMO_AS_OF, LiveServer
from tests.factories import make_token
from tests.screens import screenshot


@pytest.fixture(scope="module")
def client(demo_app, demo_headers):  # type: ignore[no-untyped-def]
    with TestClient(demo_app, headers=demo_headers["office"]) as c:
        yield c


# -- layer builders --------------------------------------------------------------------------
def test_site_layers_draw_every_site_kind(demo_engine) -> None:  # type: ignore[no-untyped-def]
    with Session(demo_engine) as session:
        sites = sites_geojson(session)
    groups = site_layers(sites)
    names = [g.layer_name for g in groups]
    assert names == [
        "河流 Rivers",
        "水源保护区 Protection zones",
        "砂石开采点 Sand-gravel sites",
        "污水处理厂 Sewage plants",
        "饮用水水源地 Water sources",
        "国控空气站 Air stations (1/3 km)",
    ]
    zones = protection_zone_layer(sites)
    (geojson,) = zones._children.values()
    levels = {f["properties"]["zone_level"] for f in geojson.data["features"]}
    assert levels == {"1", "2"}
    rings = [c for c in air_station_layer(sites)._children.values() if isinstance(c, folium.Circle)]
    assert sorted({c.options["radius"] for c in rings}) == [1000, 3000]
    assert len(rings) == 2 * 2  # two stations, two rings each


def test_classes_for_the_choropleth() -> None:
    classes = classify([0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89])
    assert len(classes.bins) == 5 and classes.bins[-1] == 89
    assert classes.index == sorted(classes.index)  # monotone in the value
    few = classify([0, 0, 2, 2, 2])
    assert few.method == "unique_values" and few.index == [0, 0, 1, 1, 1]


# -- live endpoints --------------------------------------------------------------------------
def test_zoom_decides_bubbles_or_points_and_counts_add_up(client, demo_engine) -> None:  # type: ignore[no-untyped-def]
    with Session(demo_engine) as session:
        counts = map_class_counts(session, today=DEMO_AS_OF)
    towns = client.get("/api/wall/problems", params={"zoom": TOWNSHIP_ZOOM - 1}).json()
    assert towns["mode"] == "township"
    for key in ("open", "overdue", "rebounded", "closed"):
        assert sum(f["properties"][key] for f in towns["features"]) == counts[key]
    grid = client.get(
        "/api/wall/problems", params={"zoom": 12, "bbox": "112.9,34.1,113.8,34.8"}
    ).json()
    assert grid["mode"] == "grid"
    assert sum(sum(f["properties"][k] for k in counts) for f in grid["features"]) == 300
    points = client.get(
        "/api/wall/problems", params={"zoom": POINT_ZOOM, "bbox": "113.25,34.35,113.40,34.45"}
    ).json()
    assert points["mode"] == "points" and not points["truncated"]
    for f in points["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert 113.25 <= lon <= 113.40 and 34.35 <= lat <= 34.45
        assert f["properties"]["warning"] in {"none", "blue", "yellow", "orange", "red"}


def test_summary_has_counts_ranking_choropleth_and_ticker(client) -> None:  # type: ignore[no-untyped-def]
    s = client.get("/api/wall/summary").json()
    c = s["counts"]
    assert c["total"] == 300 == c["open"] + c["closed"]
    assert c["open"] == c["overdue"] + c["on_time"]
    ranks = [t["rank"] for t in s["ranking"]]
    assert ranks == sorted(ranks) == list(range(1, len(ranks) + 1))
    assert set(s["choropleth"]["classes"]) == {t["code"] for t in s["ranking"]}
    assert len(s["ticker"]) == 12
    times = [t["at"] for t in s["ticker"]]
    assert times == sorted(times, reverse=True)
    dust = client.get("/api/wall/summary", params={"category": "dust"}).json()
    assert 0 < dust["counts"]["total"] < 300


def test_gcj02_basemap_shifts_what_is_drawn_not_what_is_stored(demo_engine, demo_headers) -> None:  # type: ignore[no-untyped-def]
    from gis.geo.coords import wgs84_to_gcj02

    viewer = demo_headers["viewer"]
    wgs = TestClient(
        create_app(engine=demo_engine, settings=Settings(), clock=lambda: DEMO_AS_OF),
        headers=viewer,
    )
    gcj = TestClient(
        create_app(
            engine=demo_engine, settings=Settings(tile_crs="gcj02"), clock=lambda: DEMO_AS_OF
        ),
        headers=viewer,
    )
    params = {"zoom": POINT_ZOOM, "bbox": "113.25,34.35,113.40,34.45"}
    a = wgs.get("/api/wall/problems", params=params).json()["features"][0]
    b = gcj.get("/api/wall/problems", params=params).json()["features"][0]
    expected = wgs84_to_gcj02(*a["geometry"]["coordinates"])
    assert b["geometry"]["coordinates"] == pytest.approx(list(expected), abs=1e-6)
    assert "GCJ-02" in gcj.get("/wall").text


def test_wall_refresh_is_small(client) -> None:  # type: ignore[no-untyped-def]
    total = 0
    for path, params in (
        ("/api/wall/summary", {}),
        ("/api/wall/problems", {"zoom": 10}),
        ("/api/wall/complaints-heat", {}),
    ):
        total += len(client.get(path, params=params).content)
    assert total < 200_000


# -- in the browser --------------------------------------------------------------------------
DRAWN = """() => {
  const w = window.lookbackWall, cfg = window.lookbackWallConfig;
  let townships = 0, sites = 0;
  cfg.townships.eachLayer(() => { townships += 1; });
  cfg.map.eachLayer(l => {
    if (l.feature && l.feature.properties && l.feature.properties.kind) sites += 1;
  });
  return {refreshes: w.state.refreshes, problems: w.layers.problems.getLayers().length,
          townships, sites, stale: w.state.stale, mode: w.state.mode};
}"""


@pytest.mark.browser
def test_wall_updates_in_place_goes_stale_and_recovers(browser, db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load_demo(db, scale=300, seed=5, as_of=date.today())
    viewer = make_token(db, "viewer")
    inspector = make_token(db, "inspector", ["410199001000", "410199002000", "410199003000"])
    app = create_app(engine=db, settings=Settings(home=tmp_path))
    server = LiveServer(app).__enter__()
    port = server.port
    context = browser.new_context(
        viewport={"width": 1920, "height": 1080}, extra_http_headers=viewer
    )
    page = context.new_page()
    hosts: set[str] = set()
    errors: list[str] = []
    page.on("request", lambda r: hosts.add(urlparse(r.url).hostname or r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{server.url}/wall?refresh=2", wait_until="networkidle")
        page.wait_for_function(
            "() => window.lookbackWall && window.lookbackWall.state.refreshes > 0"
        )
        drawn = page.evaluate(DRAWN)
        assert drawn["problems"] > 0 and drawn["townships"] >= 12 and drawn["sites"] > 20
        assert page.locator("#wall-ranking tr").count() == drawn["townships"]
        assert page.locator("#count-overdue").inner_text().isdigit()

        # Something happens in the field: it shows up within one refresh, without a reload.
        page.evaluate("() => { window.__marker = 'same page'; }")
        lat, lng = page.evaluate(
            "() => { const c = window.lookbackWallConfig.townships.getLayers()"
            ".find(l => l.feature.id === '410199001000').getBounds().getCenter();"
            " return [c.lat, c.lng]; }"
        )
        point = {"lat": lat, "lng": lng}
        created = httpx.post(
            f"{server.url}/api/problems/on-site",
            headers=inspector,
            json={
                "lon": point["lng"],
                "lat": point["lat"],
                "category": "dust",
                "description": "墙测试：工地夜间扬尘未覆盖",
                "responsible_unit": "城关街道办事处",
                "responsible_person": "测试员",
            },
        )
        assert created.status_code == 201, created.text
        code = created.json()["code"]
        page.wait_for_function(
            f"() => document.getElementById('wall-ticker').innerText.includes('{code}')",
            timeout=8000,
        )
        page.evaluate(
            "([lat, lng]) => { window.lookbackWallConfig.map.setView([lat, lng], 16); }",
            [point["lat"], point["lng"]],
        )
        page.wait_for_function(
            "(code) => window.lookbackWall.state.mode === 'points'"
            " && window.lookbackWall.layers.problems.getLayers()"
            ".some(l => l.feature.id === code)",
            arg=code,
            timeout=8000,
        )
        assert page.evaluate("() => window.__marker") == "same page"

        # The server goes away: the wall says it is stale, then recovers by itself.
        server.__exit__(None, None, None)
        page.wait_for_function("() => window.lookbackWall.state.stale === true", timeout=15000)
        assert page.locator("#wall-stale").is_visible()
        server = LiveServer(app, port=port).__enter__()
        page.wait_for_function("() => window.lookbackWall.state.stale === false", timeout=15000)
        assert not page.locator("#wall-stale").is_visible()
        assert page.evaluate("() => window.__marker") == "same page"
        assert hosts == {"127.0.0.1"}
        assert errors == []
        page.evaluate(
            "() => { window.lookbackWallConfig.map.fitBounds("
            "window.lookbackWallConfig.townships.getBounds()); }"
        )
        page.wait_for_timeout(2500)
        screenshot(page, "wall.png")
    finally:
        context.close()
        server.__exit__(None, None, None)


def test_township_wall_is_scoped(client, demo_engine) -> None:  # type: ignore[no-untyped-def]
    with demo_engine.connect() as conn:
        code, name = conn.execute(text("SELECT code, name FROM townships ORDER BY code")).first()
    page = client.get(f"/map/township/{code}")
    assert page.status_code == 200
    assert json.dumps(name)[1:-1] in page.text or name in page.text
    assert f'"township": "{code}"' in page.text
    assert client.get("/map/township/410199999000").status_code == 404
    ticker = client.get("/api/wall/summary", params={"township": code}).json()["ticker"]
    assert {t["township_code"] for t in ticker} == {code}


def test_a_wall_whose_session_ended_says_so_and_how_to_sign_in(
    browser, demo_server, demo_engine
) -> None:  # type: ignore[no-untyped-def]
    headers = make_token(demo_engine, "viewer", name="test-kiosk-revoked")
    context = browser.new_context(
        viewport={"width": 1920, "height": 1080}, extra_http_headers=headers
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{demo_server.url}/wall?refresh=2", wait_until="networkidle")
        page.wait_for_function(
            "() => window.lookbackWall && window.lookbackWall.state.refreshes > 0"
        )
        assert not page.locator("#wall-signin").is_visible()
        with demo_engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE api_tokens SET revoked_at = now() WHERE user_id ="
                    " (SELECT id FROM users WHERE name = 'test-kiosk-revoked')"
                )
            )
        page.wait_for_function("() => window.lookbackWall.state.signedOut === true", timeout=15000)
        banner = page.locator("#wall-signin")
        assert banner.is_visible() and "登录已失效" in banner.inner_text()
        assert not page.locator("#wall-stale").is_visible()  # not "reconnecting" forever
        href = page.locator("#wall-signin-link").get_attribute("href")
        assert href == "/login?next=%2Fwall%3Frefresh%3D2"
        assert errors == []
    finally:
        context.close()


def test_a_wall_display_signs_in_with_a_viewer_token_and_only_reads(
    browser, demo_server, demo_engine
) -> None:  # type: ignore[no-untyped-def]
    viewer = make_token(demo_engine, "viewer", name="test-kiosk")["Authorization"][7:]
    office = make_token(demo_engine, "office", name="test-kiosk-office")["Authorization"][7:]
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    try:
        page.goto(f"{demo_server.url}/login?next=/wall", wait_until="networkidle")
        page.click("a[href='/kiosk']")
        # An account that can change things never signs a kiosk in.
        page.fill("input[name=token]", office)
        page.click("button[type=submit]")
        assert "不属于只读账号" in page.locator(".error").inner_text()
        assert page.context.cookies() == [] or all(
            c["name"] != "lookback_kiosk" for c in page.context.cookies()
        )
        page.fill("input[name=token]", viewer)
        page.click("button[type=submit]")
        page.wait_for_url(f"{demo_server.url}/wall")
        page.wait_for_function(
            "() => window.lookbackWall && window.lookbackWall.state.refreshes > 0"
        )
        (cookie,) = [c for c in context.cookies() if c["name"] == "lookback_kiosk"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert cookie["expires"] > time.time() + 300 * 86400  # no 12-hour session limit
        # Reads only: the cookie is not a credential for changes.
        changed = page.request.post(
            f"{demo_server.url}/api/problems/on-site", data={"lon": 113.0, "lat": 34.0}
        )
        assert changed.status == 401
    finally:
        context.close()
