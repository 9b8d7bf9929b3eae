"""Importing township boundaries and sites from GeoJSON, Shapefile or GeoPackage, in any CRS.

Files are read with geopandas/pyogrio and transformed to CGCS2000 (EPSG:4490). Files without a
CRS are recognised when their coordinates are longitude/latitude or Gauss–Krüger with a zone
prefix (e.g. x = 38 500 000 for zone 38); a declared Gauss–Krüger CRS whose x coordinates carry
(or lack) the zone prefix is corrected, with a warning. Invalid polygons are repaired with
``make_valid``; codes are checked; nothing is dropped silently: every row is imported, updated or
rejected with its reason. Overlaps and gaps between townships are measured in PostGIS on the
spheroid (square metres, never degrees). The caller owns the transaction (commit or roll back).

The package, in the order a file goes through it: report (what an import reports), reading (the
layer and its CRS), fields, geometry, townships, sites.
"""

from __future__ import annotations

from gis.io.boundaries.fields import (
    guess_code_field,
    guess_name_field,
    guess_site_name_field,
    guess_zone_level_field,
)
from gis.io.boundaries.geometry import (
    repaired,
)
from gis.io.boundaries.reading import (
    read_layer,
    resolve_crs,
    to_storage_crs,
)
from gis.io.boundaries.report import (
    CHINA_LONLAT,
    CODE_HINTS,
    CODE_PATTERN,
    LEVEL_HINTS,
    NAME_HINTS,
    TOWNSHIP_NAME,
    ZONE_LEVELS,
    BoundaryImportError,
    Gap,
    ImportReport,
    Overlap,
    Rejection,
)
from gis.io.boundaries.sites import (
    import_sites,
)
from gis.io.boundaries.townships import (
    import_townships,
    township_gaps,
    township_overlaps,
)

__all__ = [
    "BoundaryImportError",
    "CHINA_LONLAT",
    "CODE_HINTS",
    "CODE_PATTERN",
    "Gap",
    "ImportReport",
    "LEVEL_HINTS",
    "NAME_HINTS",
    "Overlap",
    "Rejection",
    "TOWNSHIP_NAME",
    "ZONE_LEVELS",
    "guess_code_field",
    "guess_name_field",
    "guess_site_name_field",
    "guess_zone_level_field",
    "import_sites",
    "import_townships",
    "read_layer",
    "repaired",
    "resolve_crs",
    "to_storage_crs",
    "township_gaps",
    "township_overlaps",
]
