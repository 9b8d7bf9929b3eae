"""Hot spot analysis on incident points: grids, Getis-Ord Gi*, FDR, KDE and emerging hot spots.

Pure numpy/scipy/shapely/pyproj domain code (no web or database code). The entry point is
:func:`gis.hotspots.analysis.hotspots_from_points`; the modules hold the building blocks.
"""

from gis.hotspots.analysis import HotspotResult, hotspots_from_points
from gis.hotspots.errors import Explanation, HotspotInputError

__all__ = ["Explanation", "HotspotInputError", "HotspotResult", "hotspots_from_points"]
