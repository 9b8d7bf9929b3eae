"""Site layers by kind: plants, sand-gravel polygons, protection zones, air stations with rings."""

from __future__ import annotations

import folium

from gis import palette
from layers.safe import display_text, escaped_collection

KIND_STYLE = {
    "sewage_plant": {"color": palette.SITE_COLOURS["sewage_plant"], "radius": 6},
    "sand_gravel": {
        "color": palette.SITE_COLOURS["sand_gravel"],
        "fillColor": palette.SAND_GRAVEL_FILL,
        "weight": 1.5,
        "fillOpacity": 0.7,
    },
    "water_source": {"color": palette.SITE_COLOURS["water_source"], "radius": 7},
    "air_station": {"color": palette.SITE_COLOURS["air_station"], "radius": 7},
    "river": {"color": palette.SITE_COLOURS["river"], "weight": 3, "opacity": 0.8},
}
ZONE_STYLE = {
    level: {
        "color": stroke,
        "fillColor": fill,
        "weight": 1.5 if level == "1" else 1,
        "fillOpacity": opacity,
    }
    for level, (stroke, fill, opacity) in palette.ZONE_COLOURS.items()
}
AIR_STATION_RINGS_M = (1000, 3000)
TOOLTIP_FIELDS = ("name", "kind_label")


def _subset(sites: dict, *kinds: str) -> dict:
    chosen = {
        "type": "FeatureCollection",
        "features": [f for f in sites["features"] if f["properties"]["kind"] in kinds],
    }
    return escaped_collection(chosen, TOOLTIP_FIELDS)


def _tooltip() -> folium.GeoJsonTooltip:
    return folium.GeoJsonTooltip(fields=list(TOOLTIP_FIELDS), aliases=["名称", "类型 Kind"])


def river_layer(sites: dict) -> folium.FeatureGroup:
    """Rivers as blue lines."""
    group = folium.FeatureGroup(name="河流 Rivers")
    rivers = _subset(sites, "river")
    if rivers["features"]:
        folium.GeoJson(
            rivers, style_function=lambda _f: KIND_STYLE["river"], tooltip=_tooltip()
        ).add_to(group)
    return group


def protection_zone_layer(sites: dict) -> folium.FeatureGroup:
    """Drinking-water protection zones, level 1 darker than level 2 and quasi zones."""
    group = folium.FeatureGroup(name="水源保护区 Protection zones")
    zones = _subset(sites, "protection_zone")
    if zones["features"]:
        folium.GeoJson(
            zones,
            tooltip=_tooltip(),
            style_function=lambda f: ZONE_STYLE.get(f["properties"]["zone_level"], ZONE_STYLE["2"]),
        ).add_to(group)
    return group


def point_site_layer(sites: dict, kind: str, name: str) -> folium.FeatureGroup:
    """Point sites of one kind as coloured circles."""
    group = folium.FeatureGroup(name=name)
    chosen = _subset(sites, kind)
    style = KIND_STYLE.get(kind, {"color": palette.SITE_COLOUR_OTHER, "radius": 5})
    if chosen["features"]:
        folium.GeoJson(
            chosen,
            tooltip=_tooltip(),
            marker=folium.CircleMarker(
                radius=style.get("radius", 5),
                color="#ffffff",
                weight=1.5,
                fill=True,
                fill_color=style["color"],
                fill_opacity=0.95,
            ),
        ).add_to(group)
    return group


def sand_gravel_layer(sites: dict) -> folium.FeatureGroup:
    """Sand-gravel mining sites as polygons."""
    group = folium.FeatureGroup(name="砂石开采点 Sand-gravel sites")
    chosen = _subset(sites, "sand_gravel")
    if chosen["features"]:
        folium.GeoJson(
            chosen, tooltip=_tooltip(), style_function=lambda _f: KIND_STYLE["sand_gravel"]
        ).add_to(group)
    return group


def air_station_layer(sites: dict) -> folium.FeatureGroup:
    """National air-quality stations with 1 km and 3 km rings (metres on the ground)."""
    group = folium.FeatureGroup(name="国控空气站 Air stations (1/3 km)")
    for feature in _subset(sites, "air_station")["features"]:
        lon, lat = feature["geometry"]["coordinates"][:2]
        for radius in AIR_STATION_RINGS_M:
            folium.Circle(
                [lat, lon],
                radius=radius,
                color=palette.SITE_COLOURS["air_station"],
                weight=1,
                fill=False,
                dash_array="4 4",
            ).add_to(group)
        folium.CircleMarker(
            [lat, lon],
            radius=7,
            color="#ffffff",
            weight=1.5,
            fill=True,
            fill_color=palette.SITE_COLOURS["air_station"],
            fill_opacity=1,
            tooltip=folium.Tooltip(display_text(feature["properties"]["name"])),
        ).add_to(group)
    return group


def site_layers(sites: dict) -> list[folium.FeatureGroup]:
    """Every site layer, bottom to top."""
    return [
        river_layer(sites),
        protection_zone_layer(sites),
        sand_gravel_layer(sites),
        point_site_layer(sites, "sewage_plant", "污水处理厂 Sewage plants"),
        point_site_layer(sites, "water_source", "饮用水水源地 Water sources"),
        air_station_layer(sites),
    ]
