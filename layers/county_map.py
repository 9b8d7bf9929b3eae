"""The county map page: township boundaries, problems by class, legend and layer control."""

from __future__ import annotations

from datetime import date
from html import escape

import folium
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.geo.display import for_display
from gis.geo.townships import townships_geojson
from gis.ledger.query import (
    MAP_CLASSES,
    ProblemQuery,
    map_class_counts,
    problems_feature_collection,
)
from layers.assets import ExternalAssetError, external_references, localise
from layers.legend import Legend
from layers.problem_layer import CLASS_COLOURS, class_label, problem_layers
from layers.safe import StaticHtml, render_with_nonce
from layers.township_layer import township_layer


def bounds_of(collection: dict) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of a FeatureCollection, or None when empty."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords):  # type: ignore[no-untyped-def]
        if coords and isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for c in coords:
                walk(c)

    for feature in collection["features"]:
        walk(feature["geometry"]["coordinates"])
    if not xs:
        return None
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def page_head(fmap: folium.Map, title: str) -> None:
    """Title, favicon and no-referrer policy for a map page."""
    root = fmap.get_root()
    root.header.add_child(
        StaticHtml('<meta name="referrer" content="no-referrer">'), name="referrer"
    )
    root.header.add_child(
        StaticHtml('<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'),
        name="favicon",
    )
    root.html.add_child(StaticHtml(f"<title>{escape(title)}</title>"))


def basemap(fmap: folium.Map, settings: Settings) -> None:
    """Add the configured XYZ basemap, if any (none by default: townships are the basemap)."""
    if settings.tile_url:
        folium.TileLayer(
            tiles=settings.tile_url,
            attr=settings.tile_attribution or "basemap",
            name="底图 Basemap",
        ).add_to(fmap)


def county_map(
    session: Session,
    *,
    today: date,
    settings: Settings,
    township_code: str | None = None,
    scope: tuple[str, ...] | None = None,
) -> folium.Map:
    """Compose the county (or one township's) map of rectification problems."""
    townships = for_display(townships_geojson(session), settings.tile_crs)
    where = ProblemQuery(township_codes=(township_code,) if township_code else None, scope=scope)
    problems = for_display(
        problems_feature_collection(session, today=today, where=where), settings.tile_crs
    )
    counts = map_class_counts(session, today=today, where=where)

    fmap = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, zoom_snap=0.25)
    page_head(fmap, "Lookback 环保督察整改 · 问题分布图")
    basemap(fmap, settings)
    township_layer(townships).add_to(fmap)
    for layer in problem_layers(problems):
        layer.add_to(fmap)
    Legend(
        f"问题状态 Status · {today.isoformat()}",
        [(CLASS_COLOURS[c], f"{class_label(c)}: {counts[c]}") for c in reversed(MAP_CLASSES)],
    ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)

    focus = townships
    if township_code:
        focus = {"features": [f for f in townships["features"] if f["id"] == township_code]}
    bounds = bounds_of(focus) or bounds_of(problems)
    if bounds:
        fmap.fit_bounds(bounds)
    else:
        fmap.location, fmap.zoom_start = [34.4, 113.3], 10
    return fmap


def render_page(fmap: folium.Map, *, nonce: str) -> str:
    """Render a map to HTML that loads nothing from outside the app, its scripts nonced.

    ``nonce`` is the response's CSP nonce (``request.state.csp_nonce``); only the scripts the map's
    elements emit carry it (see :mod:`layers.safe`).
    """
    localise(fmap)
    html = render_with_nonce(fmap.get_root(), nonce)
    external = external_references(html)
    if external:
        raise ExternalAssetError(f"page would load external resources: {external[:3]}")
    return html
