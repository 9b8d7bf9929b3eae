"""The command-centre wall (挂图作战): a full-screen county map, live layers, a side panel."""

from __future__ import annotations

from html import escape
from pathlib import Path

import folium
from folium import plugins
from sqlalchemy.orm import Session

from gis import palette
from gis.config import Settings
from gis.geo.display import for_display
from gis.geo.townships import townships_geojson
from gis.ledger.counts import COUNT_SETS
from gis.maps.sites import sites_geojson
from gis.vocab import Category, Source
from layers.county_map import basemap, bounds_of, page_head
from layers.live import LiveWall
from layers.safe import StaticHtml, display_text
from layers.site_layers import site_layers

PANEL = (Path(__file__).parent / "templates" / "wall_panel.html").read_text(encoding="utf-8")


def _options(enum: type) -> str:
    return "".join(
        f'<option value="{m.value}">{escape(m.zh)} {escape(m.en)}</option>' for m in enum
    )


def wall_map(
    session: Session,
    *,
    settings: Settings,
    title: str,
    refresh_s: int = 15,
    township_code: str | None = None,
) -> folium.Map:
    """Compose the wall: static township and site layers, live problems, heat, panel."""
    towns = (township_code,) if township_code else None
    townships = for_display(townships_geojson(session), settings.tile_crs)
    sites = for_display(sites_geojson(session), settings.tile_crs)
    fmap = folium.Map(
        tiles=None, control_scale=True, prefer_canvas=True, zoom_snap=0.25, zoom_control=True
    )
    page_head(fmap, "Lookback 挂图作战 Command centre wall")
    fmap.get_root().header.add_child(
        StaticHtml('<link rel="stylesheet" href="/static/wall/wall.css">'), name="wall-css"
    )
    basemap(fmap, settings)
    township_layer = folium.GeoJson(
        townships,
        name="乡镇 Townships (choropleth: overdue)",
        style_function=lambda _f: {
            "color": "#444",
            "weight": 1.5,
            "fillColor": "#f3efe0",
            "fillOpacity": 0.7,
        },
    )
    township_layer.add_to(fmap)
    for layer in site_layers(sites):
        layer.add_to(fmap)
    plugins.Fullscreen(
        position="topleft", title="全屏 Full screen", title_cancel="退出全屏 Exit"
    ).add_to(fmap)
    control = folium.LayerControl(collapsed=False, position="topright")
    control.add_to(fmap)
    LiveWall(
        townships_layer=township_layer,
        layer_control=control,
        config={
            "refresh_ms": refresh_s * 1000,
            "township": township_code,
            "gcj02": settings.tile_crs == "gcj02",
            "palette": palette.for_scripts(),
            "endpoints": {
                "problems": "/api/wall/problems",
                "summary": "/api/wall/summary",
                "heat": "/api/wall/complaints-heat",
            },
        },
    ).add_to(fmap)
    gcj_note = (
        (
            '<div class="wall-note">底图为GCJ-02坐标，点位已偏移显示 Basemap in GCJ-02: '
            "points shifted to match</div>"
        )
        if settings.tile_crs == "gcj02"
        else ""
    )
    fmap.get_root().html.add_child(
        StaticHtml(
            PANEL.format(
                title=display_text(title),
                categories=_options(Category),
                sources=_options(Source),
                gcj_note=gcj_note,
                **{f"label_{c.name}": f"{c.zh} {c.en}" for c in COUNT_SETS},
            )
        )
    )
    focus = townships
    if towns:
        focus = {"features": [f for f in townships["features"] if f["id"] in towns]}
    bounds = bounds_of(focus)
    if bounds:
        fmap.fit_bounds(bounds)
    return fmap
