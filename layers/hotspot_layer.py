"""Folium layers for hot spot cells: Gi* bins −3…+3 in blue (cold) to red (hot), with a legend."""

from __future__ import annotations

from typing import Any

import folium

from gis.hotspots.data import BIN_STYLE
from layers.legend import Legend
from layers.safe import escaped_collection

LEGEND_TITLE = "热点分析 Hot spots (Gi*, FDR)"
NOT_SIGNIFICANT_OPACITY = 0.15
SIGNIFICANT_OPACITY = 0.7


def bin_colour(value: Any) -> str:
    """The fill colour of a Gi_Bin (anything outside −3…3 counts as not significant)."""
    try:
        b = int(value)
    except (TypeError, ValueError):
        b = 0
    return BIN_STYLE.get(b, BIN_STYLE[0])[0]


def bin_label(value: int) -> str:
    """The bilingual label of a Gi_Bin, e.g. ``热点（99% 置信度） Hot spot, 99% confidence``."""
    _, zh, en = BIN_STYLE.get(int(value), BIN_STYLE[0])
    return f"{zh} {en}"


def hotspot_style(feature: dict) -> dict[str, Any]:
    """Leaflet path style of one cell feature, by its ``bin`` property."""
    b = (feature.get("properties") or {}).get("bin", 0)
    significant = b not in (0, None)
    return {
        "color": "#666666" if significant else "#bbbbbb",
        "weight": 0.6,
        "fillColor": bin_colour(b),
        "fillOpacity": SIGNIFICANT_OPACITY if significant else NOT_SIGNIFICANT_OPACITY,
    }


def hotspot_layer(
    collection: dict, *, name: str = "热点分析 Hot spots (Gi*)", show: bool = True
) -> folium.FeatureGroup:
    """A toggleable layer of the cells of a hot spot FeatureCollection, coloured by bin."""
    group = folium.FeatureGroup(name=name, show=show)
    if collection.get("features"):
        folium.GeoJson(
            escaped_collection(collection, ["count", "z", "p", "bin"]),
            style_function=hotspot_style,
            highlight_function=lambda _f: {"weight": 2, "color": "#222222"},
            tooltip=folium.GeoJsonTooltip(
                fields=["count", "z", "p", "bin"],
                aliases=["事件数 Count", "Gi* z", "p", "置信分级 Bin"],
                localize=True,
            ),
        ).add_to(group)
    return group


def hotspot_legend(title: str = LEGEND_TITLE) -> Legend:
    """The legend of the seven bins, hot at the top, in Chinese and English."""
    return Legend(title, [(colour, f"{zh} {en}") for colour, zh, en in BIN_STYLE.values()])


def add_hotspots(fmap: folium.Map, collection: dict, **kwargs: Any) -> folium.FeatureGroup:
    """Add the hot spot layer and its legend to ``fmap``; returns the layer."""
    layer = hotspot_layer(collection, **kwargs)
    layer.add_to(fmap)
    hotspot_legend().add_to(fmap)
    return layer


def trends_layer_name(collection: dict) -> str:
    """The emerging-hot-spot layer's name, stating the last complete period it ends on."""
    period = collection.get("period") or {}
    last = period.get("last_complete", "?")
    left_out = period.get("excluded", "?")
    return (
        f"新兴热点 Emerging hot spots · 截至 {last}（最后完整时段，不含 {left_out}）"
        f" through {last} (last complete period; {left_out} left out)"
    )


def trends_layer(collection: dict, *, show: bool = True) -> folium.FeatureGroup:
    """Emerging hot spot cells, filled by the final step's Gi_Bin; the name states the period."""
    group = folium.FeatureGroup(name=trends_layer_name(collection), show=show)
    if collection.get("features"):
        folium.GeoJson(
            collection,
            style_function=lambda f: hotspot_style(
                {"properties": {"bin": (f.get("properties") or {}).get("final_bin", 0)}}
            ),
            tooltip=folium.GeoJsonTooltip(
                fields=["pattern_zh", "pattern_en", "count", "final_bin"],
                aliases=["模式", "Pattern", "事件数 Count", "最后完整时段分级 Final-step bin"],
                localize=True,
            ),
        ).add_to(group)
    return group
