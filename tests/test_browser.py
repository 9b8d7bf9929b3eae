"""Headless Chromium opens the county map and sees every feature drawn, with no JS error."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from sqlalchemy import text

from tests.screens import screenshot

pytestmark = pytest.mark.browser

COUNT_LAYERS = """
() => {
  const name = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
  const map = window[name];
  let markers = 0, polygons = 0;
  map.eachLayer(l => {
    if (l instanceof L.CircleMarker) markers += 1;
    else if (l instanceof L.Polygon) polygons += 1;
  });
  return {markers, polygons};
}
"""


def test_county_map_draws_every_feature(browser, demo_server, demo_engine, demo_headers) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, extra_http_headers=demo_headers["office"]
    )
    page = context.new_page()
    errors: list[str] = []
    hosts: set[str] = set()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda req: hosts.add(urlparse(req.url).hostname or req.url))
    page.goto(demo_server.url + "/map", wait_until="networkidle")
    drawn = page.evaluate(COUNT_LAYERS)
    with demo_engine.connect() as conn:
        n_problems = conn.execute(text("SELECT count(*) FROM problems WHERE geom IS NOT NULL"))
        n_townships = conn.execute(text("SELECT count(*) FROM townships"))
        expected_markers, expected_townships = n_problems.scalar_one(), n_townships.scalar_one()
    assert drawn["markers"] == expected_markers
    assert drawn["polygons"] >= expected_townships
    assert errors == []
    assert hosts == {"127.0.0.1"}
    assert page.locator(".lookback-legend").is_visible()
    assert page.locator(".leaflet-control-layers").is_visible()
    screenshot(page, "county-map.png")
    context.close()


def test_popup_names_point_unit_and_person(browser, demo_server, demo_headers) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        viewport={"width": 1200, "height": 800}, extra_http_headers=demo_headers["viewer"]
    )
    page = context.new_page()
    page.goto(demo_server.url + "/map", wait_until="networkidle")
    point = page.evaluate(
        """() => {
          const name = Object.keys(window)
            .find(k => k.startsWith('map_') && window[k] instanceof L.Map);
          const map = window[name];
          let marker = null;
          map.eachLayer(l => { if (!marker && l instanceof L.CircleMarker) marker = l; });
          map.setView(marker.getLatLng(), 16, {animate: false});
          const p = map.latLngToContainerPoint(marker.getLatLng());
          const box = map.getContainer().getBoundingClientRect();
          return {x: box.left + p.x, y: box.top + p.y};
        }"""
    )
    page.mouse.click(point["x"], point["y"])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible", timeout=5000)
    text_shown = popup.inner_text()
    assert "问题编号" in text_shown and "责任单位" in text_shown and "责任人" in text_shown
    context.close()
