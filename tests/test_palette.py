"""One palette: the web map, the wall's scripts and the PDF report colour things the same way."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from gis import palette
from gis.hotspots.data import BIN_STYLE
from gis.maps.classify import classify
from gis.reports.hotspot_cells import BIN_COLOURS, BIN_LABELS
from layers.hotspot_layer import hotspot_legend
from layers.problem_layer import CLASS_COLOURS

STATIC = Path(__file__).resolve().parent.parent / "static"
HEX = re.compile(r"#[0-9a-fA-F]{6}\b")


def test_hot_spots_have_the_same_colours_and_names_on_the_map_and_in_the_report() -> None:
    for b, (colour, zh, en) in palette.HOTSPOT_BINS.items():
        assert BIN_STYLE[b] == (colour, zh, en)
        assert BIN_COLOURS[b] == colour and BIN_LABELS[b] == (zh, en)
    assert CLASS_COLOURS == palette.MAP_CLASS_COLOURS
    assert classify([0, 1, 2, 3, 5, 8, 13]).colours == list(palette.CHOROPLETH_REDS[:5])
    legend = hotspot_legend("Gi*")
    assert [c for c, _ in legend.items] == [c for c, _, _ in palette.HOTSPOT_BINS.values()]


def test_the_walls_scripts_hold_no_colour_of_their_own() -> None:
    for name in ("wall.js", "hotspots.js"):
        assert HEX.findall((STATIC / "wall" / name).read_text(encoding="utf-8")) == [], name


def test_the_wall_page_carries_the_palette(demo_app, demo_headers) -> None:  # type: ignore[no-untyped-def]
    with TestClient(demo_app, headers=demo_headers["office"]) as c:
        html = c.get("/wall").text
    for colour in palette.MAP_CLASS_COLOURS.values():
        assert colour in html
    assert palette.HOTSPOT_BINS[3][0] in html


def test_the_workbench_badges_take_the_palettes_warning_colours(demo_app, demo_headers) -> None:  # type: ignore[no-untyped-def]
    css = (STATIC / "workbench" / "workbench.css").read_text(encoding="utf-8")
    assert ".warn-" not in css.replace("/* .warn-*", "")  # no second copy of the colours
    with TestClient(demo_app, headers=demo_headers["office"]) as c:
        html = c.get("/ledger", headers={"Accept": "text/html"}).text
    for name, fill in palette.WARNING_COLOURS.items():
        assert f".warn-{name} {{ background: {fill}; color: {palette.WARNING_TEXT[name]};" in html
