"""Hot spots from the ledger: incident points by kind and filter, Gi* maps, DBSCAN, trends.

The statistics live in :mod:`gis.hotspots` (pure numpy); this module feeds them from PostGIS.

* **Points** (:func:`load_points`): problems, complaints, rebounds (problems with
  ``rebound_count > 0``) or overdue problems, filtered by category, source (for complaints: the
  channel), period (``since``/``until``, local dates, on ``reported_at`` or ``received_at``)
  and township. Problem filters go through :class:`gis.ledger.query.ProblemQuery`, the one WHERE
  builder. A line or polygon counts at its ``ST_PointOnSurface``.
* **Hot spots** (:func:`analyse_hotspots`): Optimized-Hot-Spot-style Gi* with FDR. The study
  area is the union of the township boundaries (of the filtered townships, if any), so empty
  cells inside the county count as zeros; ``area="incidents"`` analyses occupied cells only.
* **Clusters** (:func:`dbscan_clusters`): ``ST_ClusterDBSCAN`` in PostGIS on the points in
  their CGCS2000 Gauss-Krüger zone (metres), ``OVER (ORDER BY id)`` so that border points and
  cluster numbers come out the same on every call.
* **Trends** (:func:`emerging_trends`): space-time cube over the last N *complete* months,
  weeks or days (the unfinished current period is left out) and Esri's emerging hot spot
  categories per cell.

The package: points (incidents and Gi* maps), clusters (DBSCAN), emerging (trends over complete
periods), local_moran (LISA), comparison (period against period, category against category).
"""

from __future__ import annotations

from gis.hotspots.data.clusters import (
    Clusters,
    dbscan_clusters,
    dbscan_lonlat,
)
from gis.hotspots.data.comparison import (
    CompareBy,
    Comparison,
    compare_hotspots,
)
from gis.hotspots.data.emerging import (
    TrendRun,
    emerging_trends,
)
from gis.hotspots.data.local_moran import (
    DENOMINATOR_WORDS,
    VALUE_WORDS,
    Denominator,
    LisaUnit,
    TownshipUnits,
    analyse_lisa,
    count_in_polygons,
    township_units,
)
from gis.hotspots.data.points import (
    BIN_STYLE,
    DEFAULT_EPS_M,
    DEFAULT_MIN_POINTS,
    DEFAULT_MONTHS,
    INPUT_KINDS,
    KIND_LABELS,
    MAX_DBSCAN_POINTS,
    HotspotRun,
    IncidentPoints,
    InputKind,
    PointFilter,
    StudyArea,
    analyse_hotspots,
    explanation_dict,
    hotspot_collection,
    load_points,
    month_index,
    month_label,
    points_sql,
    study_area,
)

__all__ = [
    "BIN_STYLE",
    "Clusters",
    "CompareBy",
    "Comparison",
    "DEFAULT_EPS_M",
    "DEFAULT_MIN_POINTS",
    "DEFAULT_MONTHS",
    "DENOMINATOR_WORDS",
    "Denominator",
    "HotspotRun",
    "INPUT_KINDS",
    "IncidentPoints",
    "InputKind",
    "KIND_LABELS",
    "LisaUnit",
    "MAX_DBSCAN_POINTS",
    "PointFilter",
    "StudyArea",
    "TownshipUnits",
    "TrendRun",
    "VALUE_WORDS",
    "analyse_hotspots",
    "analyse_lisa",
    "compare_hotspots",
    "count_in_polygons",
    "dbscan_clusters",
    "dbscan_lonlat",
    "emerging_trends",
    "explanation_dict",
    "hotspot_collection",
    "load_points",
    "month_index",
    "month_label",
    "points_sql",
    "study_area",
    "township_units",
]
