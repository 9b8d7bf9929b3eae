"""The product's colours, in one place: hot-spot bins, map classes, warnings, choropleths.

Folium layers, the wall's scripts (passed in the page config, never written again in JavaScript)
and the PDF reports all read these tables, so a hot spot, an overdue problem or a red warning is
the same colour on every surface. Hot-spot colours follow ArcGIS's Gi_Bin ramp (blue cold, red
hot), so maps read like the tools leaders have seen.
"""

from __future__ import annotations

# Gi_Bin → (colour, Chinese label, English label): 99/95/90 % confidence hot and cold spots.
HOTSPOT_BINS: dict[int, tuple[str, str, str]] = {
    3: ("#b2182b", "热点（99% 置信度）", "Hot spot, 99% confidence"),
    2: ("#ef8a62", "热点（95% 置信度）", "Hot spot, 95% confidence"),
    1: ("#fddbc7", "热点（90% 置信度）", "Hot spot, 90% confidence"),
    0: ("#f7f7f7", "不显著", "Not significant"),
    -1: ("#d1e5f0", "冷点（90% 置信度）", "Cold spot, 90% confidence"),
    -2: ("#67a9cf", "冷点（95% 置信度）", "Cold spot, 95% confidence"),
    -3: ("#2166ac", "冷点（99% 置信度）", "Cold spot, 99% confidence"),
}
HOTSPOT_OUTLINE = {"significant": "#555555", "not_significant": "#bbbbbb"}
# Hot spots this period against the last (gis.hotspots.compare.CHANGES): new ones bright, lasting
# ones dark, ones that faded pale, on the same red-hot, blue-cold reading as the bins.
HOTSPOT_CHANGE_COLOURS: dict[str, str] = {
    "became_hot": "#e31a1c",
    "stayed_hot": "#800026",
    "cooled": "#fdbf6f",
    "became_cold": "#1f78b4",
    "stayed_cold": "#08306b",
    "warmed": "#a6cee3",
    "unchanged": "#f7f7f7",
}
# Hot spots of one category against another (gis.hotspots.compare.VERSUS).
HOTSPOT_VERSUS_COLOURS: dict[str, str] = {
    "hot_both": "#762a83",
    "hot_a_only": "#e66101",
    "hot_b_only": "#1b7837",
    "hot_neither": "#f7f7f7",
}

# The map's classes (see gis.ledger.query.MAP_CLASSES).
MAP_CLASS_COLOURS: dict[str, str] = {
    "closed": "#6a9f58",
    "open": "#2f6fb3",
    "overdue": "#e8890c",
    "rebounded": "#c8102e",
}

# The four-colour warning (四色预警): a fill for badges, a stroke for map markers.
WARNING_COLOURS: dict[str, str] = {
    "red": "#c8102e",
    "orange": "#e8890c",
    "yellow": "#f2c500",
    "blue": "#1f5fbf",
    "none": "#ffffff",
}
# The text on a warning badge's fill: at least 4.5:1 contrast (WCAG 2 AA) on each fill.
WARNING_TEXT: dict[str, str] = {
    "red": "#ffffff",
    "orange": "#1d2733",
    "yellow": "#1d2733",
    "blue": "#ffffff",
    "none": "#5b6b7c",
}
WARNING_STROKES: dict[str, str] = {
    "red": "#7a0010",
    "orange": "#b35900",
    "yellow": "#d4b106",
    "blue": "#1f5fbf",
    "none": "#ffffff",
}

# Sites by kind (the county map's layers and the workbench's small maps).
SITE_COLOURS: dict[str, str] = {
    "sewage_plant": "#1f78b4",
    "sewage_network": "#a6cee3",
    "sand_gravel": "#b15928",
    "water_source": "#08519c",
    "protection_zone": "#2171b5",
    "dust_source": "#8c6d31",
    "landfill": "#636363",
    "river_outfall": "#e31a1c",
    "black_odorous_water": "#3f3f3f",
    "air_station": "#6a3d9a",
    "enterprise": "#33a02c",
    "river": "#4a90d9",
}
SITE_COLOUR_OTHER = "#555555"
SAND_GRAVEL_FILL = "#fdbf6f"
# Drinking-water protection zones by level: (outline, fill, fill opacity), level 1 darkest.
ZONE_COLOURS: dict[str, tuple[str, str, float]] = {
    "1": ("#08306b", "#2171b5", 0.35),
    "2": ("#2171b5", "#9ecae1", 0.25),
    "quasi": ("#6baed6", "#deebf7", 0.2),
}
NO_WARNING_STROKE = "#1d2733"  # a problem marker without a warning, on a plain background


def problem_marker(warning: str | None) -> tuple[str, str]:
    """(fill, outline) of a problem marker on a small map: its warning colour."""
    name = warning if warning in WARNING_COLOURS else "none"
    stroke = WARNING_STROKES[name] if name != "none" else NO_WARNING_STROKE
    return WARNING_COLOURS[name], stroke


def site_style(kind: str, zone_level: str | None = None) -> tuple[str, str, float]:
    """(outline, fill, fill opacity) of a site on a small map: zones by level, others by kind."""
    if kind == "protection_zone":
        return ZONE_COLOURS.get(zone_level or "", ZONE_COLOURS["2"])
    colour = SITE_COLOURS.get(kind, SITE_COLOUR_OTHER)
    return colour, SAND_GRAVEL_FILL if kind == "sand_gravel" else colour, 0.7


# Choropleths of counts (overdue problems by township): ColorBrewer Reds, light to dark.
CHOROPLETH_REDS: tuple[str, ...] = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")
MARKER_OUTLINE = "#ffffff"  # around problem markers without a warning, and rebounded ones
TOWNSHIP_FILL = "#f3efe0"
TOWNSHIP_FILL_OPACITY = 0.6
CHOROPLETH_FILL_OPACITY = 0.65


def for_scripts() -> dict:
    """The palette as the wall's page config carries it to ``static/wall/*.js``."""
    return {
        "classes": MAP_CLASS_COLOURS,
        "warning_strokes": WARNING_STROKES,
        "hotspot_bins": [[b, c, zh, en] for b, (c, zh, en) in HOTSPOT_BINS.items()],
        "hotspot_outline": HOTSPOT_OUTLINE,
        "township_fill": TOWNSHIP_FILL,
        "marker_outline": MARKER_OUTLINE,
        "choropleth_fill_opacity": CHOROPLETH_FILL_OPACITY,
    }
