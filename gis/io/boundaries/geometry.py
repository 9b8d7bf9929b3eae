"""Geometry: polygons made valid, each repair reported."""

from __future__ import annotations

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gis.io.boundaries.report import (
    ImportReport,
)


def _polygonal(geom: BaseGeometry) -> MultiPolygon | None:
    """The polygonal part of ``geom`` as a MultiPolygon, or None if it has none."""
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon | MultiPolygon)]
    polys: list[Polygon] = []
    for part in parts:
        if isinstance(part, MultiPolygon):
            polys.extend(part.geoms)
        elif isinstance(part, Polygon):
            polys.append(part)
    if not polys:
        nested = [g for g in shapely.get_parts(geom) if g.geom_type == "GeometryCollection"]
        for sub in nested:
            inner = _polygonal(sub)
            if inner is not None:
                polys.extend(inner.geoms)
    polys = [p for p in polys if not p.is_empty and p.area > 0]
    return MultiPolygon(polys) if polys else None


def repaired(geom: BaseGeometry, label: str, report: ImportReport) -> BaseGeometry:
    """``geom`` made valid (with a warning naming ``label`` and the defect), or as it was."""
    if geom.is_valid:
        return geom
    reason = shapely.is_valid_reason(geom)
    fixed = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        poly = _polygonal(fixed)
        fixed = poly if poly is not None else fixed
    parts = len(shapely.get_parts(fixed))
    report.warnings.append(
        f"{label}: invalid geometry ({reason}) repaired with make_valid → "
        f"{fixed.geom_type} of {parts} part{'s' if parts != 1 else ''}"
    )
    return fixed


def _label(row: int, *ids: str) -> str:
    shown = " ".join(i for i in ids if i)
    return f"row {row}" + (f" ({shown})" if shown else "")
