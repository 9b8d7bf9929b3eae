"""Hot spots this period against the last, and category against category: API, report and wall."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import urlparse

import numpy as np
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import palette
from gis.config import Settings
from gis.hotspots.compare import CHANGES, VERSUS
from gis.vocab import Category
from server.app import create_app
from tests.conftest import DEMO_AS_OF
from tests.factories import EAST, WEST, load_two_townships, make_token
from tests.screens import screenshot

CHANGE_URL = "/api/hotspots/change.geojson"
# Three places in the two test townships (西镇 113.0–113.1°E, 东镇 113.1–113.2°E).
FADED = (113.03, 34.03)  # west: a cluster in September only
LASTING = (113.15, 34.05)  # east: a cluster in September and October
NEW = (113.07, 34.07)  # west: a cluster in October only


def _cluster(rng: np.random.Generator, at: tuple[float, float], n: int) -> list[tuple]:
    r, t = rng.uniform(0, 1200, n), rng.uniform(0, 2 * np.pi, n)
    return [
        (at[0] + a / 92_000, at[1] + b / 111_000)
        for a, b in zip(r * np.cos(t), r * np.sin(t), strict=True)
    ]


def _background(rng: np.random.Generator, n: int) -> list[tuple]:
    return list(zip(rng.uniform(113.0, 113.2, n), rng.uniform(34.0, 34.1, n), strict=True))


def _plant(db, rows: list[tuple[date, str | None, float, float]]) -> None:  # type: ignore[no-untyped-def]
    """Complaints (day, category, lon, lat) in the two test townships."""
    with Session(db) as s, s.begin():
        load_two_townships(s)
        for k, (day, category, x, y) in enumerate(rows):
            s.execute(
                text(
                    "INSERT INTO complaints (code, channel, kind, category, received_at,"
                    " feedback_due, township_code, geom) VALUES (:c, 'hotline_12369', 'air',"
                    " :cat, :at, :due, :town, ST_SetSRID(ST_MakePoint(:x, :y), 4490))"
                ),
                {
                    "c": f"XF-{k:04d}",
                    "cat": category,
                    "at": datetime(day.year, day.month, day.day, 4, tzinfo=UTC),
                    "due": day,
                    "town": WEST if x < 113.1 else EAST,
                    "x": float(x),
                    "y": float(y),
                },
            )


@pytest.fixture
def planted_client(db, tmp_path):  # type: ignore[no-untyped-def]
    app = create_app(engine=db, settings=Settings(home=tmp_path), clock=lambda: DEMO_AS_OF)
    with TestClient(app, headers=make_token(db, "office")) as c:
        yield c


def _at(fc: dict, where: tuple[float, float]) -> dict:
    (props,) = [
        f["properties"] for f in fc["features"] if shape(f["geometry"]).contains(Point(*where))
    ]
    return props


# -- this month against the last -----------------------------------------------------------------
def test_change_classes_on_a_crafted_series(db, planted_client) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    sep, octo, nov = date(2026, 9, 12), date(2026, 10, 12), date(2026, 11, 12)
    rows = [(sep, None, *p) for p in _background(rng, 60) + _cluster(rng, FADED, 80)]
    rows += [(sep, None, *p) for p in _cluster(rng, LASTING, 80)]
    rows += [(octo, None, *p) for p in _background(rng, 60) + _cluster(rng, LASTING, 80)]
    rows += [(octo, None, *p) for p in _cluster(rng, NEW, 80)]
    # November is unfinished on 23 November: a cluster there must not count.
    rows += [(nov, None, *p) for p in _background(rng, 60) + _cluster(rng, FADED, 80)]
    _plant(db, rows)

    resp = planted_client.get(CHANGE_URL, params={"input": "complaints"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/geo+json")
    fc = resp.json()
    assert (fc["by"], fc["a"], fc["b"]) == ("period", "2026-09", "2026-10")
    period = fc["period"]
    assert (period["a_start"], period["a_end"]) == ("2026-09-01", "2026-09-30")
    assert (period["b_start"], period["b_end"]) == ("2026-10-01", "2026-10-31")
    assert period["excluded"] == "2026-11"
    assert fc["incidents_a"] == 220 and fc["incidents_b"] == 220  # November left out

    faded, lasting, new = _at(fc, FADED), _at(fc, LASTING), _at(fc, NEW)
    assert faded["change"] == "cooled"
    assert (faded["class_a"], faded["class_b"]) == ("hot", "none")
    assert faded["confidence_a"] == {1: 90, 2: 95, 3: 99}[faded["bin_a"]]
    assert faded["confidence_b"] == 0 and faded["bin_b"] == 0
    assert lasting["change"] == "stayed_hot" and lasting["class_b"] == "hot"
    assert new["change"] == "became_hot" and (new["class_a"], new["class_b"]) == ("none", "hot")
    assert (faded["change_zh"], faded["change_en"]) == CHANGES["cooled"]
    assert faded["township"] == WEST and lasting["township"] == EAST

    # Far from the clusters nothing changed, and the tally counts every cell returned.
    assert fc["tally"]["unchanged"] > len(fc["features"]) // 2
    assert sum(fc["tally"].values()) == len(fc["features"])
    for f in fc["features"]:
        assert f["properties"]["change"] in CHANGES
    assert [(c["change"], c["colour"]) for c in fc["legend"]] == list(
        palette.HOTSPOT_CHANGE_COLOURS.items()
    )
    assert [(c["zh"], c["en"]) for c in fc["legend"]] == list(CHANGES.values())

    # One township: the same analysis, only the cells whose centre lies in it.
    west = planted_client.get(CHANGE_URL, params={"input": "complaints", "township": WEST}).json()
    assert {f["properties"]["township"] for f in west["features"]} == {WEST}
    whole = {f["id"]: f["properties"] for f in fc["features"]}
    for f in west["features"]:
        assert f["properties"] == whole[f["id"]]
    assert west["incidents_a"] == sum(p["count_a"] for p in whole.values() if p["township"] == WEST)
    assert _at(west, FADED)["change"] == "cooled" and _at(west, NEW)["change"] == "became_hot"
    assert not [f for f in west["features"] if shape(f["geometry"]).contains(Point(*LASTING))]

    # The township report's comparison is the same function, so the same numbers.
    from gis.reports.hotspot_change import county_change, township_change

    with Session(db) as s:
        county = county_change(s, DEMO_AS_OF)
    for code in (WEST, EAST):
        part = township_change(county, code)
        fc_town = planted_client.get(
            CHANGE_URL, params={"input": "complaints", "township": code}
        ).json()
        assert part.available and (part.label_a, part.label_b) == ("2026-09", "2026-10")
        assert part.tally == {k: fc_town["tally"][k] for k in part.tally}
        assert (part.complaints_a, part.complaints_b) == (
            fc_town["incidents_a"], fc_town["incidents_b"]
        )
    assert township_change(county, WEST).tally["cooled"] >= 1
    assert township_change(county, EAST).tally["stayed_hot"] >= 1


def test_too_few_incidents_for_a_change_is_a_bilingual_422(db, planted_client) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    _plant(db, [(date(2026, 10, 3), None, *p) for p in _background(rng, 12)])
    resp = planted_client.get(CHANGE_URL, params={"input": "complaints"})
    assert resp.status_code == 422
    body = resp.json()
    assert body["zh"] and body["en"] and body["detail"] == f"{body['zh']} / {body['en']}"


# -- one category against another ----------------------------------------------------------------
def test_category_against_category_on_crafted_data(db, planted_client) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    day = date(2026, 10, 8)
    rows = [(day, "dust", *p) for p in _background(rng, 60) + _cluster(rng, FADED, 80)]
    rows += [(day, "sewage_plant", *p) for p in _background(rng, 60) + _cluster(rng, LASTING, 80)]
    rows += [(day, "dust", *p) for p in _cluster(rng, NEW, 80)]
    rows += [(day, "sewage_plant", *p) for p in _cluster(rng, NEW, 80)]
    rows += [(day, "industrial", *p) for p in _cluster(rng, LASTING, 50)]  # neither side's
    _plant(db, rows)

    resp = planted_client.get(
        CHANGE_URL, params={"input": "complaints", "category": "dust", "versus": "sewage_plant"}
    )
    assert resp.status_code == 200, resp.text
    fc = resp.json()
    assert (fc["by"], fc["a"], fc["b"]) == ("category", "dust", "sewage_plant")
    assert fc["categories"]["a"]["zh"] == "扬尘" or fc["categories"]["a"]["value"] == "dust"
    assert fc["incidents_a"] == 220 and fc["incidents_b"] == 220  # industrial is neither
    assert _at(fc, FADED)["change"] == "hot_a_only"
    assert _at(fc, LASTING)["change"] == "hot_b_only"
    both = _at(fc, NEW)
    assert both["change"] == "hot_both" and both["class_a"] == both["class_b"] == "hot"
    assert set(fc["tally"]) == set(VERSUS) and sum(fc["tally"].values()) == len(fc["features"])
    a_zh, b_zh = fc["categories"]["a"]["zh"], fc["categories"]["b"]["zh"]
    legend = {c["change"]: c for c in fc["legend"]}
    assert a_zh in legend["hot_a_only"]["zh"] and b_zh in legend["hot_b_only"]["zh"]
    assert fc["categories"]["b"]["en"] in legend["hot_b_only"]["en"]
    assert legend["hot_both"]["colour"] == palette.HOTSPOT_VERSUS_COLOURS["hot_both"]
    assert fc["dates"] == {"since": None, "until": None}

    for bad in ({"category": "dust", "versus": "dust"}, {"versus": "dust"}):
        resp = planted_client.get(CHANGE_URL, params={"input": "complaints", **bad})
        assert resp.status_code == 422, bad
        assert resp.json()["zh"] and resp.json()["en"]


# -- the report and the API: one function ----------------------------------------------------------
def test_the_report_and_the_api_give_a_township_the_same_numbers(demo_app, demo_engine) -> None:  # type: ignore[no-untyped-def]
    from gis.reports import township_report
    from gis.reports.county import load_county
    from gis.reports.periods import ReportDate

    with Session(demo_engine) as s:
        codes = s.execute(text("SELECT code FROM townships ORDER BY code")).scalars().all()
        county = load_county(s, ReportDate(day=DEMO_AS_OF), hotspots=False)
        reports = {
            code: township_report(s, code, report_date=ReportDate(day=DEMO_AS_OF), county=county)
            for code in codes
        }
    seen = 0
    for code, report in reports.items():
        ch = report.change
        assert ch.available, ch.reason_en
        headers = make_token(demo_engine, "township", [code])
        other = codes[1] if code == codes[0] else codes[0]
        with TestClient(demo_app, headers=headers) as c:
            fc = c.get(CHANGE_URL, params={"input": "complaints"}).json()
            assert c.get(CHANGE_URL, params={"township": other}).status_code == 403
        assert (fc["a"], fc["b"]) == (ch.label_a, ch.label_b) == ("2026-09", "2026-10")
        assert {f["properties"]["township"] for f in fc["features"]} <= {code}
        for key, n in ch.tally.items():
            assert fc["tally"][key] == n, (code, key)
        assert (fc["incidents_a"], fc["incidents_b"]) == (ch.complaints_a, ch.complaints_b)
        seen += ch.complaints_a * ch.complaints_b
    assert seen > 0  # complaints were counted on both sides


# -- the wall --------------------------------------------------------------------------------------
def _plant_problems(db) -> None:  # type: ignore[no-untyped-def]
    """Problems on the crafted series: a cluster that fades, one that lasts, one that is new."""
    from tests.factories import new_problem

    rng = np.random.default_rng(6)
    sep, octo = datetime(2026, 9, 12, 4, tzinfo=UTC), datetime(2026, 10, 12, 4, tzinfo=UTC)
    rows = [(sep, p) for p in _background(rng, 60) + _cluster(rng, FADED, 80)]
    rows += [(sep, p) for p in _cluster(rng, LASTING, 80)]
    rows += [(octo, p) for p in _background(rng, 60) + _cluster(rng, LASTING, 80)]
    rows += [(octo, p) for p in _cluster(rng, NEW, 80)]
    with Session(db) as s, s.begin():
        load_two_townships(s)
        for k, (at, (lon, lat)) in enumerate(rows):
            new_problem(s, f"T-{k:04d}", lon=float(lon), lat=float(lat), now=at)


DRAWN = """() => { const out = {}; window.lookbackHotspots.layer.eachLayer(l => {
  const p = l.feature.properties, k = p.change;
  out[k] = out[k] || {n: 0, fill: l.options.fillColor, towns: []};
  out[k].n += 1;
  if (!out[k].towns.includes(p.township)) out[k].towns.push(p.township);
}); return out; }"""
READY = (
    "() => window.lookbackHotspots.state.mode === 'change'"
    " && window.lookbackHotspots.state.fetches > 1 && !window.lookbackHotspots.state.inFlight"
)


@pytest.mark.browser
def test_the_wall_shows_the_change_since_last_month(browser, db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import LiveServer

    _plant_problems(db)
    app = create_app(engine=db, settings=Settings(home=tmp_path), clock=lambda: DEMO_AS_OF)
    hosts: set[str] = set()
    errors: list[str] = []
    with LiveServer(app) as server:
        for who, headers in (
            ("county", make_token(db, "viewer")),
            ("west", make_token(db, "viewer", [WEST])),
        ):
            context = browser.new_context(
                viewport={"width": 1920, "height": 1080}, extra_http_headers=headers
            )
            page = context.new_page()
            page.on("request", lambda r: hosts.add(urlparse(r.url).hostname or r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            try:
                page.goto(f"{server.url}/wall", wait_until="networkidle")
                page.wait_for_function(
                    "() => window.lookbackWall && window.lookbackWall.state.refreshes"
                )
                page.wait_for_function("() => window.lookbackHotspots")
                page.get_by_text("热点分析（Gi*） Hot spots").click()
                page.wait_for_function(
                    "() => window.lookbackHotspots.state.fetches > 0", timeout=8000
                )
                assert "Hot spot, 99% confidence" in page.locator(".hotspot-legend").inner_text()
                mode = page.locator(".hotspot-legend select[name=hotspot-mode]")
                mode.select_option("change")
                page.wait_for_function(READY, timeout=15000)
                state = page.evaluate(
                    "() => { const s = window.lookbackHotspots.state;"
                    " return {error: s.error, features: s.features}; }"
                )
                assert state["error"] is None and state["features"] > 30
                legend = page.locator(".hotspot-legend").inner_text()
                for zh, en in CHANGES.values():
                    assert zh in legend and en in legend
                # The two complete months compared, and the unfinished one named as left out.
                assert "2026-10 对比 2026-09" in legend and "2026-11" in legend
                assert "2026-10-01–2026-10-31" in legend
                drawn = page.evaluate(DRAWN)
                assert sum(d["n"] for d in drawn.values()) == state["features"]
                for key, d in drawn.items():
                    assert d["fill"] == palette.HOTSPOT_CHANGE_COLOURS[key], key
                if who == "county":
                    assert {"cooled", "stayed_hot", "became_hot"} <= set(drawn)
                    page.evaluate(
                        "() => { window.lookbackWallConfig.map.fitBounds("
                        "window.lookbackHotspots.layer.getBounds()); }"
                    )
                    page.wait_for_timeout(500)
                    path = screenshot(page, "wall-hotspot-change.png")
                    assert path.stat().st_size > 10_000
                else:  # a township's wall: its own cells only, of the county's one analysis
                    assert {t for d in drawn.values() for t in d["towns"]} == {WEST}
                    assert {"cooled", "became_hot"} <= set(drawn)
                    assert "stayed_hot" not in drawn  # that cluster is in 东镇
                    screenshot(page, "wall-hotspot-change-township.png")
                    # Category against category needs the wall's category filter first.
                    mode.select_option("versus")
                    note = page.locator(".hotspot-legend .hotspot-note")
                    page.wait_for_function(
                        "() => document.querySelector('.hotspot-legend .hotspot-note')"
                        ".textContent.includes('Choose a category')"
                    )
                    assert "请先在右侧选择类别" in note.inner_text()
                    page.select_option("#filter-category", "dust")
                    page.select_option(".hotspot-legend select[name=hotspot-versus]", "industrial")
                    page.wait_for_function(
                        "() => window.lookbackHotspots.state.body"
                        " && window.lookbackHotspots.state.body.by === 'category'"
                        " && !window.lookbackHotspots.state.inFlight"
                    )
                    text_now = page.locator(".hotspot-legend").inner_text()
                    dust, industrial = Category.DUST, Category.INDUSTRIAL
                    assert f"仅{dust.zh}为热点" in text_now
                    assert f"仅{industrial.zh}为热点" in text_now
                    assert f"Hot spot for {dust.en} only" in text_now
                    assert "全部记录 All records" in text_now
                    drawn = page.evaluate(DRAWN)
                    assert set(drawn) <= set(VERSUS) and "hot_a_only" in drawn
                    assert "hot_b_only" not in drawn  # there are no industrial problems
                    page.select_option("#filter-category", "")

                mode.select_option("now")
                page.wait_for_function(
                    "() => window.lookbackHotspots.state.mode === 'now'"
                    " && !window.lookbackHotspots.state.inFlight"
                    " && window.lookbackHotspots.layer.getLayers().length > 0"
                    " && window.lookbackHotspots.layer.getLayers().every("
                    "l => l.feature.properties.change === undefined)",
                    timeout=15000,
                )
                assert "Hot spot, 99% confidence" in page.locator(".hotspot-legend").inner_text()
            finally:
                context.close()
    assert errors == []
    assert hosts == {"127.0.0.1"}


def test_the_change_endpoint_is_documented_in_the_openapi(demo_app) -> None:  # type: ignore[no-untyped-def]
    op = demo_app.openapi()["paths"][CHANGE_URL]["get"]
    assert "this period against the last" in op["summary"]
    assert "cooled" in op["description"] and "hot_both" in op["description"]
    params = {p["name"]: p for p in op["parameters"]}
    for name in ("input", "category", "source", "township", "period", "versus"):
        assert params[name].get("description"), name
    assert "complete" in params["period"]["description"]
