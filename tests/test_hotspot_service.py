"""Hot spots as a service: data from PostGIS, the endpoints, the CLI, DBSCAN, the Folium layer."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import folium
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gis.hotspots.data import (
    BIN_STYLE,
    PointFilter,
    dbscan_clusters,
    dbscan_lonlat,
    load_points,
)
from gis.hotspots.grid import Grid, gk_epsg_for_lon, project_lonlat, unproject_xy
from gis.hotspots.trends import CATEGORIES
from layers.hotspot_layer import add_hotspots, hotspot_layer, hotspot_style
from server.cli.hotspots import hotspots_app
from tests.conftest import DEMO_AS_OF

GK = 4548  # CGCS2000 Gauss-Krüger CM 117°E, for the synthetic files
CLUSTER_XY = (3000.0, 7000.0)  # metres from the square's south-west corner
INSIDE_TOWNSHIPS = """
    SELECT count(*) FROM problems p
    WHERE p.geom IS NOT NULL AND ST_Intersects(
        ST_PointOnSurface(p.geom), (SELECT ST_Union(geom) FROM townships))
"""


@pytest.fixture(scope="module")
def client(demo_app, demo_headers):  # type: ignore[no-untyped-def]
    with TestClient(demo_app, headers=demo_headers["office"]) as c:
        yield c


def _origin() -> tuple[float, float]:
    x, y = project_lonlat([117.0], [36.0], GK)
    return float(x[0]), float(y[0])


def _write_points(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    """GeoJSON points at local metres (x, y) of a square near 117°E, 36°N."""
    x0, y0 = _origin()
    lon, lat = unproject_xy(x + x0, y + y0, GK)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(a, 7), round(b, 7)]},
            "properties": {"category": "dust"},
        }
        for a, b in zip(lon.tolist(), lat.tolist(), strict=True)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _planted(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """400 uniform background points in 10 km × 10 km and 80 within 200 m of CLUSTER_XY."""
    rng = np.random.default_rng(seed)
    bx, by = rng.uniform(0, 10_000, 400), rng.uniform(0, 10_000, 400)
    r, a = rng.uniform(0, 200, 80), rng.uniform(0, 2 * np.pi, 80)
    cx, cy = CLUSTER_XY[0] + r * np.cos(a), CLUSTER_XY[1] + r * np.sin(a)
    return np.r_[bx, cx], np.r_[by, cy]


def _check_cells(fc: dict) -> None:
    """Every feature a valid lon/lat Polygon with count, z, p, bin −3…3 and band_m."""
    assert fc["type"] == "FeatureCollection" and fc["features"]
    for f in fc["features"]:
        geom = shape(f["geometry"])
        assert f["geometry"]["type"] == "Polygon" and geom.is_valid and not geom.is_empty
        minx, miny, maxx, maxy = geom.bounds
        assert -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
        props = f["properties"]
        assert {"count", "z", "p", "bin", "band_m"} <= set(props)
        assert props["bin"] in range(-3, 4) and props["count"] >= 0
        assert props["band_m"] == fc["band_m"] > 0


# -- endpoints --------------------------------------------------------------------------------
def test_hotspot_endpoint_counts_every_point_inside_the_county(client, demo_engine) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/hotspots.geojson", params={"input": "problems"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/geo+json")
    fc = resp.json()
    _check_cells(fc)
    with demo_engine.connect() as conn:
        inside = conn.execute(text(INSIDE_TOWNSHIPS)).scalar_one()
    assert sum(f["properties"]["count"] for f in fc["features"]) == inside == fc["n_used"]
    assert any(f["properties"]["count"] == 0 for f in fc["features"])  # zeros in the county
    keys = [e["key"] for e in fc["explanations"]]
    assert {"input", "study_area", "cell_size", "distance_band", "result"} <= set(keys)
    assert all(e["zh"] and e["en"] for e in fc["explanations"])
    assert sum(fc["summary"].values()) == len(fc["features"])

    fixed = client.get(
        "/api/hotspots.geojson",
        params={"input": "complaints", "cell_m": 3000, "band_m": 7000, "shape": "square"},
    ).json()
    _check_cells(fixed)
    assert fixed["cell_m"] == 3000 and fixed["band_m"] == 7000
    assert fixed["features"][0]["id"].startswith("sq:")


def test_hotspot_endpoint_filters_and_scope(client, demo_engine, demo_headers, demo_app) -> None:  # type: ignore[no-untyped-def]
    with Session(demo_engine) as s:
        dust = load_points(s, PointFilter(categories=("dust",)), today=DEMO_AS_OF)
        late = load_points(s, PointFilter(kind="overdue"), today=DEMO_AS_OF)
        first = s.execute(text("SELECT min(code) FROM townships")).scalar_one()
        mine = s.execute(
            text("SELECT count(*) FROM problems WHERE township_code = :c"), {"c": first}
        ).scalar_one()
    fc = client.get("/api/hotspots.geojson", params={"input": "overdue"}).json()
    assert fc["n_points"] == len(late) and 0 < len(late) < 300
    resp = client.get("/api/hotspots.geojson", params={"category": "dust", "area": "incidents"})
    assert resp.status_code == 200 and resp.json()["n_points"] == len(dust) >= 60
    # A township user sees clusters of their own township only.
    with TestClient(demo_app, headers=demo_headers["township"]) as scoped:
        clusters = scoped.get("/api/clusters.geojson", params={"eps_m": 2000}).json()
    assert clusters["n_points"] == mine
    bad = client.get("/api/hotspots.geojson", params={"source": "no_such_source"})
    assert bad.status_code == 422 and "source" in bad.json()["en"]


def test_too_few_points_is_a_bilingual_422(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/hotspots.geojson", params={"input": "rebounds"})
    assert resp.status_code == 422
    body = resp.json()
    assert "事件点太少" in body["zh"] and "Too few incidents" in body["en"]
    assert body["detail"] == f"{body['zh']} / {body['en']}"


def test_trends_endpoint_gives_every_cell_a_category(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/hotspots/trends.geojson", params={"input": "complaints"})
    assert resp.status_code == 200, resp.text
    fc = resp.json()
    assert fc["months"][-1] == "2026-10" and len(fc["months"]) == 12  # last complete month
    assert fc["period"]["excluded"] == DEMO_AS_OF.strftime("%Y-%m")
    weekly = client.get(
        "/api/hotspots/trends.geojson", params={"input": "complaints", "step": "week"}
    ).json()
    assert weekly["step"] == "week" and weekly["period"]["end"] == "2026-11-22"  # a Sunday
    codes = {c for c, _, _ in CATEGORIES.values()}
    assert fc["features"]
    for f in fc["features"]:
        p = f["properties"]
        assert p["category"] in codes and p["pattern"] in CATEGORIES
        assert CATEGORIES[p["pattern"]][0] == p["category"]
        assert p["pattern_zh"] and p["pattern_en"]
        assert len(p["counts"]) == 12 and sum(p["counts"]) == p["count"] >= 0
        assert f["geometry"]["type"] == "Polygon"
    assert sum(fc["tally"].values()) == len(fc["features"])
    short = client.get("/api/hotspots/trends.geojson", params={"months": 6})
    assert short.status_code == 422


# -- DBSCAN -----------------------------------------------------------------------------------
def _lonlat_at(x: list[float], y: list[float]) -> tuple[np.ndarray, np.ndarray]:
    epsg = gk_epsg_for_lon(113.3)
    x0, y0 = project_lonlat([113.3], [34.4], epsg)
    return unproject_xy(np.asarray(x) + x0[0], np.asarray(y) + y0[0], epsg)


def _brute_dbscan(xy: np.ndarray, eps: float, min_points: int) -> tuple[set, list[set]]:
    """Core points and their clusters by brute force (all pairwise distances in metres)."""
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    near = d <= eps
    core = set(np.flatnonzero(near.sum(axis=1) >= min_points).tolist())
    clusters, seen = [], set()
    for c in sorted(core):
        if c in seen:
            continue
        group, todo = set(), [c]
        while todo:
            i = todo.pop()
            if i in group:
                continue
            group.add(i)
            todo.extend(j for j in np.flatnonzero(near[i]).tolist() if j in core)
        seen |= group
        clusters.append(group)
    return core, clusters


def test_dbscan_eps_is_in_metres(demo_engine) -> None:  # type: ignore[no-untyped-def]
    # Two groups of three, 30 m apart inside a group, 100 m between the groups.
    lon, lat = _lonlat_at([0, 30, 60, 160, 190, 220], [0, 0, 0, 0, 0, 0])
    with Session(demo_engine) as s:
        tight = dbscan_lonlat(s, lon, lat, eps_m=50, min_points=2)
        loose = dbscan_lonlat(s, lon, lat, eps_m=150, min_points=2)
    assert tight.groups() == [frozenset({0, 1, 2}), frozenset({3, 4, 5})]
    assert loose.groups() == [frozenset(range(6))]


def test_dbscan_matches_brute_force_and_repeats(demo_engine, client) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    x = np.r_[rng.normal(200, 40, 25), rng.normal(800, 60, 25), rng.uniform(0, 1000, 30)]
    y = np.r_[rng.normal(300, 40, 25), rng.normal(700, 60, 25), rng.uniform(0, 1000, 30)]
    lon, lat = _lonlat_at(x.tolist(), y.tolist())
    eps, minpts = 80.0, 4
    with Session(demo_engine) as s:
        got = dbscan_lonlat(s, lon, lat, eps_m=eps, min_points=minpts)
        again = dbscan_lonlat(s, lon, lat, eps_m=eps, min_points=minpts)
    assert np.array_equal(got.label, again.label)
    core, clusters = _brute_dbscan(np.column_stack([x, y]), eps, minpts)
    assert 2 <= len(clusters) and got.n_clusters == len(clusters)
    # Core points partition exactly; a border point joins a cluster holding a core neighbour.
    by_label = [set(np.flatnonzero(got.label == k).tolist()) for k in range(got.n_clusters)]
    assert sorted(sorted(g & core) for g in by_label) == sorted(sorted(c) for c in clusters)
    xy = np.column_stack([x, y])
    for k, members in enumerate(by_label):
        for i in members - core:
            assert any(np.hypot(*(xy[i] - xy[j])) <= eps for j in members & core), (k, i)
    noise = set(np.flatnonzero(got.label < 0).tolist())
    reachable = {i for i in range(len(x)) if any(np.hypot(*(xy[i] - xy[j])) <= eps for j in core)}
    assert noise == set(range(len(x))) - reachable

    with Session(demo_engine) as s:
        one = dbscan_clusters(s, PointFilter(), today=DEMO_AS_OF, eps_m=600, min_points=3)
        two = dbscan_clusters(s, PointFilter(), today=DEMO_AS_OF, eps_m=600, min_points=3)
    assert np.array_equal(one.label, two.label) and one.n_clusters > 0
    first = client.get("/api/clusters.geojson", params={"eps_m": 600, "min_points": 3})
    second = client.get("/api/clusters.geojson", params={"eps_m": 600, "min_points": 3})
    assert first.status_code == 200 and first.json() == second.json()
    fc = first.json()
    assert fc["n_clusters"] == one.n_clusters
    assert sum(f["properties"]["count"] for f in fc["features"]) + fc["n_noise"] == len(one.ids)
    assert fc["explanations"][0]["zh"] and "eps 600 m" in fc["explanations"][0]["en"]


# -- command line -----------------------------------------------------------------------------
def test_cli_finds_the_planted_cluster_in_a_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = _write_points(tmp_path / "incidents.geojson", *_planted())
    out = tmp_path / "hotspots.geojson"
    result = CliRunner().invoke(hotspots_app, ["--input", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "格网" in result.output and "Cell size" in result.output  # explanations, both tongues
    assert "Hot spot summary" in result.output
    fc = json.loads(out.read_text(encoding="utf-8"))
    _check_cells(fc)
    assert sum(f["properties"]["count"] for f in fc["features"]) == 480
    x0, y0 = _origin()
    (lon,), (lat,) = unproject_xy([x0 + CLUSTER_XY[0]], [y0 + CLUSTER_XY[1]], GK)
    hot = [shape(f["geometry"]) for f in fc["features"] if f["properties"]["bin"] == 3]
    assert hot, "no 99 % hot spot found"
    assert any(cell.contains(Point(lon, lat)) for cell in hot)
    hx, hy = project_lonlat([c.centroid.x for c in hot], [c.centroid.y for c in hot], GK)
    reach = fc["band_m"] + fc["cell_m"]
    assert np.all(np.hypot(hx - x0 - CLUSTER_XY[0], hy - y0 - CLUSTER_XY[1]) <= reach)
    assert not any(f["properties"]["bin"] < 0 for f in fc["features"] if f["properties"]["count"])


def test_cli_on_the_database(demo_engine, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", demo_engine.url.render_as_string(hide_password=False))
    out = tmp_path / "db.geojson"
    args = ["--kind", "problems", "--today", DEMO_AS_OF.isoformat(), "--out", str(out)]
    result = CliRunner().invoke(hotspots_app, args)
    assert result.exit_code == 0, result.output
    assert "研究区为全县各乡镇边界的并集" in result.output
    assert "union of the county's township boundaries" in result.output
    fc = json.loads(out.read_text(encoding="utf-8"))
    _check_cells(fc)
    with demo_engine.connect() as conn:
        inside = conn.execute(text(INSIDE_TOWNSHIPS)).scalar_one()
    assert sum(f["properties"]["count"] for f in fc["features"]) == inside
    # To standard output when no --out is given.
    piped = CliRunner().invoke(hotspots_app, args[:-2] + ["--cell-m", "3000"])
    assert piped.exit_code == 0
    assert json.loads(piped.stdout)["cell_m"] == 3000


def test_cli_too_few_points_exits_1_with_both_languages(tmp_path, demo_engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    src = _write_points(tmp_path / "few.geojson", np.arange(10) * 100.0, np.arange(10) * 50.0)
    result = CliRunner().invoke(hotspots_app, ["--input", str(src)])
    assert result.exit_code == 1
    assert "事件点太少" in result.output and "Too few incidents" in result.output
    monkeypatch.setenv("DATABASE_URL", demo_engine.url.render_as_string(hide_password=False))
    rebounds = CliRunner().invoke(hotspots_app, ["--kind", "rebounds"])
    assert rebounds.exit_code == 1 and "Too few incidents" in rebounds.output
    missing = CliRunner().invoke(hotspots_app, ["--input", str(tmp_path / "nope.geojson")])
    assert missing.exit_code != 0


# -- Folium layer -----------------------------------------------------------------------------
def _cells_of_every_bin() -> dict:
    features = []
    for k, b in enumerate(range(-3, 4)):
        poly = shapely.box(113 + k * 0.01, 34, 113.01 + k * 0.01, 34.01)
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(poly),
                "properties": {"count": k, "z": float(b), "p": 0.5, "bin": b, "band_m": 900.0},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def test_folium_layer_colours_by_bin_and_has_a_legend() -> None:
    fc = _cells_of_every_bin()
    fills = {f["properties"]["bin"]: hotspot_style(f)["fillColor"] for f in fc["features"]}
    assert fills == {b: BIN_STYLE[b][0] for b in range(-3, 4)}
    assert fills[3] == "#b2182b" and fills[-3] == "#2166ac"  # red hot, blue cold
    assert (
        hotspot_style(fc["features"][6])["fillOpacity"]
        > hotspot_style(fc["features"][3])["fillOpacity"]
    )
    group = hotspot_layer(fc, name="热点 Hot spots")
    assert group.layer_name == "热点 Hot spots" and len(group._children) == 1
    fmap = folium.Map(location=[34.0, 113.03], zoom_start=12, tiles=None)
    add_hotspots(fmap, fc)
    html = fmap.get_root().render()
    for colour, zh, en in BIN_STYLE.values():
        assert colour in html and zh in html and en in html
    assert "热点分析 Hot spots (Gi*, FDR)" in html
    assert len(hotspot_layer({"type": "FeatureCollection", "features": []})._children) == 0


# -- the wall overlay -------------------------------------------------------------------------
@pytest.mark.browser
def test_wall_hotspot_overlay_loads_on_demand(browser, demo_server, demo_headers) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        viewport={"width": 1600, "height": 900}, extra_http_headers=demo_headers["viewer"]
    )
    page = context.new_page()
    hosts: set[str] = set()
    errors: list[str] = []
    page.on("request", lambda r: hosts.add(urlparse(r.url).hostname or r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{demo_server.url}/wall", wait_until="networkidle")
        page.wait_for_function("() => window.lookbackWall && window.lookbackWall.state.refreshes")
        page.add_script_tag(url="/static/wall/hotspots.js")
        page.wait_for_function("() => window.lookbackHotspots")
        assert page.evaluate("() => window.lookbackHotspots.state.fetches") == 0  # off: no fetch
        page.evaluate("() => window.lookbackHotspots.show()")
        page.wait_for_function("() => window.lookbackHotspots.state.fetches > 0", timeout=8000)
        state = page.evaluate("() => window.lookbackHotspots.state")
        assert state["error"] is None and state["features"] > 30
        assert page.locator(".hotspot-legend").count() == 1
        assert page.get_by_text("热点分析（Gi*） Hot spots").count() == 1
    finally:
        context.close()
    assert not errors
    assert hosts <= {"127.0.0.1"}


# -- emerging hot spots on planted data ---------------------------------------------------------
HERE = (113.052, 34.047)  # inside 西镇 of tests.factories.load_two_townships


def _plant_complaints(db, rows) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from tests.factories import load_two_townships

    with Session(db) as s, s.begin():
        load_two_townships(s)
        for k, (month, x, y) in enumerate(rows):
            s.execute(
                text(
                    "INSERT INTO complaints (code, channel, kind, received_at, feedback_due, geom)"
                    " VALUES (:c, 'hotline_12369', 'air', :at, :due,"
                    " ST_SetSRID(ST_MakePoint(:x, :y), 4490))"
                ),
                {
                    "c": f"XF-{k:04d}",
                    "at": datetime(month.year, month.month, month.day, 4, tzinfo=UTC),
                    "due": month,
                    "x": float(x),
                    "y": float(y),
                },
            )


def test_a_new_cluster_of_complaints_is_an_emerging_hot_spot(db) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from gis.hotspots.data import emerging_trends, month_index

    rng = np.random.default_rng(11)
    rows = []
    today = DEMO_AS_OF  # 23 November: November is unfinished and must not be a time step
    for back in range(13):  # background: 40 a month over both townships (113.0–113.2°E)
        m = month_index(today) - back
        month = date(m // 12, m % 12 + 1, 10)
        lon, lat = rng.uniform(113.0, 113.2, 40), rng.uniform(34.0, 34.1, 40)
        rows += [(month, a, b) for a, b in zip(lon, lat, strict=True)]
        if 1 <= back <= 3:  # the last three complete months: 30 complaints around one place
            r, t = rng.uniform(0, 250, 30), rng.uniform(0, 2 * np.pi, 30)
            dlon, dlat = r * np.cos(t) / 92_000, r * np.sin(t) / 111_000
            rows += [(month, HERE[0] + a, HERE[1] + b) for a, b in zip(dlon, dlat, strict=True)]
    _plant_complaints(db, rows)
    with Session(db) as s:
        run = emerging_trends(s, PointFilter(kind="complaints"), today=today)
    fc = run.to_geojson()
    # The final step is October, the last complete month; November's points are not counted.
    assert fc["months"][-1] == "2026-10" and len(fc["months"]) == 12
    assert fc["period"]["end"] == "2026-10-31" and fc["period"]["excluded"] == "2026-11"
    in_window = sum(1 for month, _, _ in rows if month < date(2026, 11, 1))
    assert sum(f["properties"]["count"] for f in fc["features"]) == in_window
    assert any(e["key"] == "period" and "2026-10" in e["en"] for e in fc["explanations"])
    # The cube covers every cell of the study area (the two townships), empty ones included.
    area = shapely.transform(
        shapely.box(113.0, 34.0, 113.2, 34.1),
        lambda c: np.column_stack(project_lonlat(c[:, 0], c[:, 1], run.epsg)),
    )
    grid = Grid(run.cell_m, "hex")
    ai, aj = grid.cells_with_centre_in(area)
    assert {f"hexf:{i}:{j}" for i, j in zip(ai.tolist(), aj.tolist(), strict=True)} <= set(
        run.cells
    )
    assert sum(1 for f in fc["features"] if f["properties"]["count"] == 0) > 0
    here = [f for f in fc["features"] if shape(f["geometry"]).contains(Point(*HERE))]
    assert len(here) == 1
    props = here[0]["properties"]
    assert props["pattern"] == "consecutive_hot" and props["category"] == 2
    assert min(props["counts"][-3:]) >= 5 > max(props["counts"][:-3])
    assert props["final_bin"] == 3 and props["count_trend"] == "increasing"
    # Every hot pattern lies within one band (plus a cell) of the planted place.
    gk = gk_epsg_for_lon(HERE[0])
    hx, hy = project_lonlat([HERE[0]], [HERE[1]], gk)
    for f in fc["features"]:
        if f["properties"]["category"] > 0:
            c = shape(f["geometry"]).centroid
            x, y = project_lonlat([c.x], [c.y], gk)
            assert np.hypot(x - hx, y - hy)[0] <= run.band_m + run.cell_m
    assert fc["tally"].get("no_pattern", 0) > len(fc["features"]) / 2


def test_the_trends_layer_names_the_last_complete_period() -> None:
    from layers.hotspot_layer import trends_layer

    fc = _cells_of_every_bin()
    for f in fc["features"]:
        f["properties"].update(
            final_bin=f["properties"]["bin"], pattern_zh="新增热点", pattern_en="New Hot Spot"
        )
    fc["period"] = {"last_complete": "2026-10", "excluded": "2026-11"}
    group = trends_layer(fc)
    assert "截至 2026-10" in group.layer_name and "through 2026-10" in group.layer_name
    assert "2026-11 left out" in group.layer_name
    fmap = folium.Map(location=[34.0, 113.03], zoom_start=12, tiles=None)
    group.add_to(fmap)
    html = fmap.get_root().render()
    assert BIN_STYLE[3][0] in html and "Final-step bin" in html


def test_a_band_below_the_cell_spacing_is_a_422_and_a_cli_error(client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/hotspots.geojson", params={"cell_m": 3000, "band_m": 1000})
    assert resp.status_code == 422
    body = resp.json()
    assert "最小合理的距离阈值为 3,000 米" in body["zh"]
    assert "smallest sensible band is 3,000 m" in body["en"]
    trends = client.get(
        "/api/hotspots/trends.geojson",
        params={"input": "complaints", "cell_m": 3000, "band_m": 1000},
    )
    assert trends.status_code == 422 and "below the cell spacing" in trends.json()["en"]
    src = _write_points(tmp_path / "incidents.geojson", *_planted())
    result = CliRunner().invoke(
        hotspots_app, ["--input", str(src), "--cell-m", "500", "--band-m", "300"]
    )
    assert result.exit_code == 1
    assert "最小合理的距离阈值为 500 米" in result.output
    assert "smallest sensible band is 500 m" in result.output


class _CountingLabels(np.ndarray):
    """An int array that counts the element-wise comparisons made on it."""

    comparisons = 0

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):  # type: ignore[no-untyped-def]
        if ufunc in (np.equal, np.not_equal, np.less, np.less_equal, np.greater,
                     np.greater_equal):
            _CountingLabels.comparisons += 1
        plain = [np.asarray(a) if isinstance(a, _CountingLabels) else a for a in inputs]
        return getattr(ufunc, method)(*plain, **kwargs)


def test_clusters_serialise_in_one_pass_over_the_points() -> None:
    from gis.hotspots.data import Clusters

    rng = np.random.default_rng(5)
    k, n = 300, 3000
    label = rng.integers(-1, k, n)
    label[:k] = np.arange(k)  # every cluster number used; first members in order
    lon, lat = 113.0 + rng.uniform(0, 0.2, n), 34.0 + rng.uniform(0, 0.1, n)
    ids = np.arange(100, 100 + n)
    codes = [f"P-{i}" for i in ids]
    counted = Clusters(
        ids, codes, lon, lat, label.view(_CountingLabels), 500.0, 4, 4545
    )
    _CountingLabels.comparisons = 0
    fc = counted.to_geojson()
    # A pass over all points per cluster (label == k) would make ≥ 300 comparisons.
    assert _CountingLabels.comparisons < 20
    plain = Clusters(ids, codes, lon, lat, label, 500.0, 4, 4545)
    assert fc["n_clusters"] == k and len(fc["features"]) == k
    for f in fc["features"]:
        c = f["properties"]["cluster"]
        rows = np.flatnonzero(label == c)
        assert f["id"] == f"cluster:{c}" and f["properties"]["count"] == rows.size
        assert f["properties"]["codes"] == [codes[i] for i in rows]  # id order kept
    assert [f["properties"]["cluster"] for f in fc["features"]] == list(range(k))
    assert plain.groups() == [frozenset(ids[label == c].tolist()) for c in range(k)]
    assert fc["n_noise"] == int((label < 0).sum())


# -- local Moran's I ----------------------------------------------------------------------------
def test_lisa_endpoint_on_cells_equals_esda(client) -> None:  # type: ignore[no-untyped-def]
    import warnings

    from esda.moran import Moran_Local
    from libpysal.weights import DistanceBand

    resp = client.get(
        "/api/hotspots/lisa.geojson", params={"seed": 5, "permutations": 199, "shape": "square"}
    )
    assert resp.status_code == 200, resp.text
    fc = resp.json()
    assert fc["statistic"] == "local_moran" and fc["unit"] == "cells" and fc["seed"] == 5
    feats = fc["features"]
    assert sum(fc["tally"].values()) == len(feats) > 30
    for f in feats:
        p = f["properties"]
        assert p["cluster"] in {"HH", "LL", "HL", "LH", "ns"} and p["quadrant"] in (1, 2, 3, 4)
        assert 0 < p["p_sim"] <= 1 and p["cluster_zh"] and p["cluster_en"]
    assert any(e["key"] == "lisa" for e in fc["explanations"])
    assert not any(e["key"] == "result" for e in fc["explanations"])  # no Gi* finding
    # Recompute on the returned cells: centres in the grid's CRS, the same band.
    cents = [shape(f["geometry"]).centroid for f in feats]
    x, y = project_lonlat([c.x for c in cents], [c.y for c in cents], fc["epsg"])
    counts = np.array([f["properties"]["count"] for f in feats], dtype=float)
    band = fc["band_m"] * (1 + 1e-6)
    w = DistanceBand(np.column_stack([x, y]), threshold=band, silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = Moran_Local(counts, w, permutations=0)
    got = np.array([f["properties"]["I"] for f in feats])
    np.testing.assert_allclose(got, ref.Is, atol=1e-9)
    np.testing.assert_array_equal([f["properties"]["quadrant"] for f in feats], ref.q)


def test_lisa_on_townships_with_eb_rates(client, demo_engine) -> None:  # type: ignore[no-untyped-def]
    with demo_engine.connect() as conn:
        n_towns = conn.execute(text("SELECT count(*) FROM townships")).scalar_one()
        inside = conn.execute(text(INSIDE_TOWNSHIPS)).scalar_one()
    resp = client.get(
        "/api/hotspots/lisa.geojson",
        params={"unit": "townships", "value": "eb", "denominator": "area", "seed": 1},
    )
    assert n_towns >= 3 and resp.status_code == 200, resp.text
    fc = resp.json()
    assert fc["unit"] == "townships" and fc["value"] == "eb" and fc["denominator"] == "area"
    assert len(fc["features"]) == n_towns
    assert sum(f["properties"]["count"] for f in fc["features"]) == inside
    assert all(f["properties"]["name"] for f in fc["features"])
    assert all(f["properties"]["gi_bin"] in range(-3, 4) for f in fc["features"])
    value_note = next(e for e in fc["explanations"] if e["key"] == "value")
    assert "empirical-Bayes" in value_note["en"] and "经验贝叶斯" in value_note["zh"]
    bad = client.get("/api/hotspots/lisa.geojson", params={"value": "rate", "denominator": "area"})
    assert bad.status_code == 422 and "same area" in bad.json()["en"]


def test_cli_lisa_finds_the_planted_cluster(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A cluster spread over several cells (300 points within 1.2 km): a high-high cluster.
    # (The 200 m cluster of _planted fills one cell: a lone high cell is not a LISA cluster.)
    rng = np.random.default_rng(4)
    r, a = 1200 * np.sqrt(rng.uniform(0, 1, 300)), rng.uniform(0, 2 * np.pi, 300)
    x = np.r_[rng.uniform(0, 10_000, 400), CLUSTER_XY[0] + r * np.cos(a)]
    y = np.r_[rng.uniform(0, 10_000, 400), CLUSTER_XY[1] + r * np.sin(a)]
    src = _write_points(tmp_path / "incidents.geojson", x, y)
    out = tmp_path / "lisa.geojson"
    args = ["--input", str(src), "--statistic", "lisa", "--seed", "3", "--cell-m", "500"]
    result = CliRunner().invoke(hotspots_app, [*args, "--band-m", "900", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Local Moran's I summary" in result.output and "高-高聚集" in result.output
    fc = json.loads(out.read_text(encoding="utf-8"))
    x0, y0 = _origin()
    (lon,), (lat,) = unproject_xy([x0 + CLUSTER_XY[0]], [y0 + CLUSTER_XY[1]], GK)
    here = [f for f in fc["features"] if shape(f["geometry"]).contains(Point(lon, lat))]
    assert len(here) == 1 and here[0]["properties"]["cluster"] == "HH"
    refused = CliRunner().invoke(
        hotspots_app, ["--input", str(src), "--statistic", "lisa", "--unit", "townships"]
    )
    assert refused.exit_code == 1 and "cell counts only" in refused.output


# -- the space-time cube file -------------------------------------------------------------------
def test_cube_file_from_api_and_cli(client, demo_engine, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import xarray as xr

    resp = client.get("/api/hotspots/trends.nc", params={"input": "complaints"})
    assert resp.status_code == 200, resp.text[:200]
    assert resp.headers["content-type"] == "application/x-netcdf"
    assert "2026-10.nc" in resp.headers["content-disposition"]
    path = tmp_path / "api.nc"
    path.write_bytes(resp.content)
    fc = client.get("/api/hotspots/trends.geojson", params={"input": "complaints"}).json()
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert ds.sizes["time"] == 12 and ds.sizes["location"] == len(fc["features"])
        by_cell = {f["id"]: f["properties"] for f in fc["features"]}
        for k, cell in enumerate(ds["LOCATION"].values.tolist()):
            props = by_cell[cell]
            assert ds["COUNT"].values[k].tolist() == props["counts"]
            assert int(ds["CATEGORY"].values[k]) == props["category"]
            assert int(ds["GI_BIN"].values[k, -1]) == props["final_bin"]
        assert ds.attrs["last_time_step"] == "2026-10" == fc["period"]["last_complete"]
        assert (ds["COUNT"].sum("time") == 0).any()  # the whole study area, zeros included
    short = client.get("/api/hotspots/trends.nc", params={"months": 10, "cell_m": 3000,
                                                          "band_m": 1000})
    assert short.status_code == 422
    monkeypatch.setenv("DATABASE_URL", demo_engine.url.render_as_string(hide_password=False))
    out = tmp_path / "cli.nc"
    args = ["--kind", "complaints", "--today", DEMO_AS_OF.isoformat(), "--cube", str(out)]
    result = CliRunner().invoke(hotspots_app, args)
    assert result.exit_code == 0, result.output
    assert "cube written" in result.output
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds.sizes["time"] == 12 and ds.attrs["excluded_current_period"] == "2026-11"


# -- comparisons --------------------------------------------------------------------------------
def test_this_month_against_the_last_finds_the_new_cluster(db) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from gis.hotspots.data import compare_hotspots

    rng = np.random.default_rng(12)
    rows = []
    for month in (date(2026, 9, 10), date(2026, 10, 10), date(2026, 11, 10)):
        lon, lat = rng.uniform(113.0, 113.2, 60), rng.uniform(34.0, 34.1, 60)
        rows += [(month, a, b) for a, b in zip(lon, lat, strict=True)]
    r, t = rng.uniform(0, 250, 40), rng.uniform(0, 2 * np.pi, 40)
    rows += [
        (date(2026, 10, 12), HERE[0] + a / 92_000, HERE[1] + b / 111_000)
        for a, b in zip(r * np.cos(t), r * np.sin(t), strict=True)
    ]
    _plant_complaints(db, rows)
    with Session(db) as s:
        cmp = compare_hotspots(s, PointFilter(kind="complaints"), today=DEMO_AS_OF)
    fc = cmp.to_geojson()
    # September against October: November is unfinished and left out.
    assert (fc["a"], fc["b"]) == ("2026-09", "2026-10") and fc["period"]["excluded"] == "2026-11"
    assert sum(f["properties"]["count_a"] for f in fc["features"]) == 60
    assert sum(f["properties"]["count_b"] for f in fc["features"]) == 100
    here = [f for f in fc["features"] if shape(f["geometry"]).contains(Point(*HERE))]
    assert len(here) == 1 and here[0]["properties"]["change"] == "became_hot"
    assert here[0]["properties"]["bin_b"] == 3 and here[0]["properties"]["bin_a"] <= 0
    assert fc["tally"]["became_hot"] >= 1 and sum(fc["tally"].values()) == len(fc["features"])
    assert any(e["key"] == "compare" and "2026-10" in e["en"] for e in fc["explanations"])


def test_compare_two_categories_on_one_grid(client, demo_engine) -> None:  # type: ignore[no-untyped-def]
    resp = client.get(
        "/api/hotspots/compare.geojson", params={"by": "category", "a": "dust", "b": "industrial"}
    )
    assert resp.status_code == 200, resp.text
    fc = resp.json()
    assert (fc["a"], fc["b"]) == ("dust", "industrial")
    with demo_engine.connect() as conn:
        n = {
            cat: conn.execute(text(INSIDE_TOWNSHIPS + " AND p.category = :c"), {"c": cat})
            .scalar_one()
            for cat in ("dust", "industrial")
        }
    assert sum(f["properties"]["count_a"] for f in fc["features"]) == n["dust"]
    assert sum(f["properties"]["count_b"] for f in fc["features"]) == n["industrial"]
    for f in fc["features"]:
        p = f["properties"]
        assert p["change"] in fc["tally"] and p["bin"] == p["bin_b"]
    same = client.get(
        "/api/hotspots/compare.geojson", params={"by": "category", "a": "dust", "b": "dust"}
    )
    assert same.status_code == 422
