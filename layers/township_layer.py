"""The township layer: boundaries with names; with no basemap it is the basemap."""

from __future__ import annotations

import folium

from gis.palette import TOWNSHIP_FILL, TOWNSHIP_FILL_OPACITY
from layers.safe import escaped_collection

TOWNSHIP_STYLE = {
    "color": "#4a4a4a",
    "weight": 1.5,
    "fillColor": TOWNSHIP_FILL,
    "fillOpacity": TOWNSHIP_FILL_OPACITY,
}


def township_layer(townships: dict, *, name: str = "乡镇边界 Townships") -> folium.GeoJson:
    """Township polygons with a tooltip naming each township and its code."""
    return folium.GeoJson(
        escaped_collection(townships, ["name", "code"]),
        name=name,
        style_function=lambda _feature: TOWNSHIP_STYLE,
        highlight_function=lambda _feature: {"weight": 3, "color": "#222222"},
        tooltip=folium.GeoJsonTooltip(fields=["name", "code"], aliases=["乡镇", "代码 Code"]),
        smooth_factor=0.5,
    )
