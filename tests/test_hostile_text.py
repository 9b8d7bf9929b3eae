"""Hostile text from users and imported files shows as text on every page and never runs.

A corpus of payloads (script tags, event-handler attributes, ``</script>``, ``javascript:`` URLs,
JavaScript template-literal and Jinja syntax, RTL and control characters) goes into township and
site names, problem fields, inspection notes and complaint text; the county map, the wall, the
township wall, the township report and the OGC API's HTML pages are opened in Chromium with
every popup and tooltip opened. Nothing may run (no ``window.__pwned``, no dialog, no CSP
violation), and the text must read back as text.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import folium
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.ledger import complaints as complaint_rules
from gis.ledger import writes as ledger
from layers.safe import UnnoncedScriptError, display_text, render_with_nonce
from server.app import create_app
from tests.conftest import LiveServer
from tests.factories import EAST, WEST, make_token

PAYLOADS = [
    "<script>window.__pwned='script'</script>",
    '"><img src=x onerror="window.__pwned=\'img\'">',
    "</script><script>window.__pwned='close'</script>",
    "javascript:window.__pwned='url'",
    "${window.__pwned='literal'}`;window.__pwned='tick';`",
    "{{ 7*7 }}{% if true %}jinja{% endif %}",
    "\u202etxt.exe\u202c \x07\x1b[31m",
    "<svg onload=alert(1)>",
]
HOSTILE = " ".join(PAYLOADS)
# What must read back on the page: the markup characters as text.
VISIBLE = ["<script>window.__pwned", 'onerror="window.__pwned', "</script>", "{{ 7*7 }}", "${"]

INIT = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.sample || e.blockedURI)));
"""


@pytest.fixture
def hostile_server(db, tmp_path):  # type: ignore[no-untyped-def]
    square = "MULTIPOLYGON(((113.0 34.0,113.1 34.0,113.1 34.1,113.0 34.1,113.0 34.0)))"
    east = "MULTIPOLYGON(((113.1 34.0,113.2 34.0,113.2 34.1,113.1 34.1,113.1 34.0)))"
    with Session(db) as s, s.begin():
        for code, wkt in ((WEST, square), (EAST, east)):
            s.execute(
                text(
                    "INSERT INTO townships (code, name, geom)"
                    " VALUES (:c, :n, ST_GeomFromText(:w, 4490))"
                ),
                {"c": code, "n": f"镇{code[-4:]} {HOSTILE}", "w": wkt},
            )
        for kind, wkt in (
            ("sewage_plant", "POINT(113.02 34.02)"),
            ("air_station", "POINT(113.03 34.03)"),
            ("water_source", "POINT(113.04 34.06)"),
            ("sand_gravel", "POLYGON((113.06 34.06,113.07 34.06,113.07 34.07,113.06 34.06))"),
            ("river", "LINESTRING(113.0 34.08,113.2 34.08)"),
        ):
            s.execute(
                text(
                    "INSERT INTO sites (kind, name, township_code, geom)"
                    " VALUES (:k, :n, :t, ST_GeomFromText(:w, 4490))"
                ),
                {"k": kind, "n": f"{kind} {HOSTILE}", "t": WEST, "w": wkt},
            )
        ledger.create_problem(
            s,
            ledger.ProblemInput(
                code="X-001",
                source="provincial",
                category="dust",
                deadline_kind="dated",
                deadline=date(2026, 1, 5),
                description=f"描述 {HOSTILE}",
                responsible_unit=f"单位 {HOSTILE}",
                responsible_person=f"人 {HOSTILE}",
                geometry={"type": "Point", "coordinates": [113.05, 34.05]},
            ),
            actor="office",
            now=datetime.now(UTC),
        )
        complaint_rules.create_complaint(
            s,
            complaint_rules.ComplaintInput(
                code="C-X-1",
                channel="hotline_12345",
                kind="air",
                received_at=datetime.now(UTC),
                text=f"信访 {HOSTILE}",
                geometry={"type": "Point", "coordinates": [113.051, 34.051]},
                township_code=WEST,
            ),
        )
    with Session(db) as s, s.begin():
        s.execute(
            text(
                "INSERT INTO inspections (uuid, problem_id, inspector, finding, note, accuracy_m,"
                " observed_at, received_at, township_code, geom) SELECT gen_random_uuid(), id,"
                " :who, 'checked', :note, 5, now(), now(), township_code,"
                " ST_SetSRID(ST_MakePoint(113.052, 34.052), 4490) FROM problems"
            ),
            {"who": f"巡查员 {PAYLOADS[1]}", "note": f"巡查记录 {HOSTILE}"},
        )
    headers = make_token(db, "admin")
    app = create_app(engine=db, settings=Settings(home=tmp_path))
    with LiveServer(app) as server:
        yield server, headers


OPEN_ALL = """() => {
  if (typeof L === "undefined") return "";
  const maps = Object.values(window).filter(v => v instanceof L.Map);
  let shown = [];
  for (const m of maps) m.eachLayer(l => {
    if (l.getPopup && l.getPopup()) { l.openPopup(); const el = l.getPopup().getElement();
      if (el) shown.push(el.innerText); }
    if (l.getTooltip && l.getTooltip()) { l.openTooltip(); const el = l.getTooltip().getElement();
      if (el) shown.push(el.innerText); }
  });
  return shown.join('\\n');
}"""


def _visit(browser, server, headers, path: str, *, wait: str | None = None) -> str:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        extra_http_headers=headers, viewport={"width": 1400, "height": 900}
    )
    context.add_init_script(INIT)
    dialogs: list[str] = []
    errors: list[str] = []
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        resp = page.goto(f"{server.url}{path}", wait_until="networkidle")
        assert resp is not None and resp.status == 200, path
        if wait:
            page.wait_for_function(wait, timeout=10000)
        is_map = "/reports/" not in path and "/ogc/" not in path
        shown = page.evaluate(OPEN_ALL) if is_map else ""
        page.wait_for_timeout(300)
        body = page.inner_text("body")
        assert page.evaluate("() => window.__pwned") is None, path
        assert dialogs == [], path
        assert page.evaluate("() => window.__violations") == [], path
        assert errors == [], path
        assert page.locator("img[src=x], svg[onload]").count() == 0, path
        return shown + "\n" + body + "\n" + page.title()
    finally:
        context.close()


@pytest.mark.browser
def test_hostile_text_shows_as_text_and_never_runs(browser, hostile_server) -> None:  # type: ignore[no-untyped-def]
    server, headers = hostile_server
    county = _visit(browser, server, headers, "/map")
    for piece in VISIBLE:
        assert piece in county, piece
    assert "描述" in county and "单位" in county

    # the workbench: home, the ledger list and each problem's page
    home = _visit(browser, server, headers, "/")
    ledger = _visit(browser, server, headers, "/ledger")
    assert "<script>window.__pwned" in home + ledger
    problem = _visit(browser, server, headers, "/ledger/X-001")
    for piece in VISIBLE:
        assert piece in problem, piece

    wall_ready = "() => window.lookbackWall && window.lookbackWall.state.refreshes > 0"
    wall = _visit(browser, server, headers, "/wall?refresh=60", wait=wall_ready)
    for piece in VISIBLE:
        assert piece in wall, piece
    assert "信访" in wall and "sewage_plant" in wall and "air_station" in wall
    assert "巡查记录" in wall  # an inspection's note in the ticker

    town = _visit(browser, server, headers, f"/map/township/{WEST}?refresh=60", wait=wall_ready)
    assert "{{ 7*7 }}" in town and "<script>window.__pwned" in town
    assert "\u202e" not in town  # bidi overrides are dropped, not rendered

    report = _visit(browser, server, headers, f"/reports/township/{WEST}.html")
    assert "<script>window.__pwned" in report

    ogc = _visit(browser, server, headers, "/ogc/collections/townships/items?f=html")
    assert "<script>window.__pwned" in ogc and "{{ 7*7 }}" in ogc


def test_map_markup_is_never_compiled_as_a_template() -> None:
    """Branca compiled rendered macros as Jinja: ``{{ ... }}`` in data ran on the server."""
    fmap = folium.Map(tiles=None)
    folium.GeoJson(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {
                        "name": "{{ 7*7 }}{{ 'zq' ~ 'xw' }}{{ cycler.__init__.__globals__ }}"
                    },
                    "geometry": {"type": "Point", "coordinates": [113, 34]},
                }
            ],
        },
        tooltip=folium.GeoJsonTooltip(fields=["name"]),
    ).add_to(fmap)
    html = render_with_nonce(fmap.get_root(), "n0nce")
    # (evaluated, 'zq' ~ 'xw' would print zqxw, which no hex element id can spell; 49 can)
    assert "{{ 7*7 }}" in html and "zqxw" not in html and "__builtins__" not in html
    assert html.count("<script") == html.count('nonce="n0nce"')


def test_a_script_without_the_nonce_is_refused() -> None:
    from layers.safe import StaticHtml

    fmap = folium.Map(tiles=None)
    fmap.get_root().html.add_child(StaticHtml("<script>alert(1)</script>"))
    with pytest.raises(UnnoncedScriptError):
        render_with_nonce(fmap.get_root(), "n0nce")


def test_display_text() -> None:
    assert display_text('<a href="javascript:x">') == "&lt;a href=&quot;javascript:x&quot;&gt;"
    assert display_text("a\u202eb\x00c") == "abc"
    assert display_text("${x}`") == "&#36;&#123;x&#125;&#96;"
    assert display_text(3) == 3
