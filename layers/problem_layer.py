"""Problem layers: one per map class (open, overdue, rebounded, closed), with ledger popups."""

from __future__ import annotations

import folium

from gis.ledger.query import MAP_CLASS_LABELS, MAP_CLASSES
from gis.palette import MAP_CLASS_COLOURS
from layers.safe import escaped_collection

CLASS_COLOURS = MAP_CLASS_COLOURS
CLASS_RADIUS = {"closed": 4, "open": 6, "overdue": 7, "rebounded": 8}

POPUP_FIELDS = [
    ("code", "问题编号 Code"),
    ("township_name", "所属乡镇 Township"),
    ("category_label", "问题类别 Category"),
    ("status_label", "整改状态 Status"),
    ("description", "问题描述 Description"),
    ("responsible_unit", "责任单位 Unit"),
    ("responsible_person", "责任人 Person"),
    ("due_date", "整改时限 Due"),
    ("days_overdue", "逾期天数 Days overdue"),
    ("warning", "预警 Warning"),
]


def class_label(map_class: str) -> str:
    zh, en = MAP_CLASS_LABELS[map_class]
    return f"{zh} {en}"


def problem_class_layer(features: dict, map_class: str) -> folium.FeatureGroup:
    """The problems of one map class as circle markers (polygons and lines outlined)."""
    colour = CLASS_COLOURS[map_class]
    selected = {
        "type": "FeatureCollection",
        "features": [f for f in features["features"] if f["properties"]["map_class"] == map_class],
    }
    selected = escaped_collection(selected, [f for f, _ in POPUP_FIELDS])
    group = folium.FeatureGroup(name=f"{class_label(map_class)} ({len(selected['features'])})")
    if selected["features"]:
        folium.GeoJson(
            selected,
            name=map_class,
            marker=folium.CircleMarker(
                radius=CLASS_RADIUS[map_class],
                weight=1,
                color="#ffffff",
                fill=True,
                fill_color=colour,
                fill_opacity=0.9,
            ),
            style_function=lambda _f, c=colour: {"color": c, "fillColor": c, "weight": 2},
            popup=folium.GeoJsonPopup(
                fields=[f for f, _ in POPUP_FIELDS],
                aliases=[a for _, a in POPUP_FIELDS],
                max_width=420,
            ),
        ).add_to(group)
    return group


def problem_layers(features: dict) -> list[folium.FeatureGroup]:
    """One layer per map class, closed first so the urgent ones draw on top."""
    return [problem_class_layer(features, c) for c in MAP_CLASSES]
