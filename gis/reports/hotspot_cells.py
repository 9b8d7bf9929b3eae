"""County-wide Getis-Ord Gi* hot spots of problems, cut into per-township cell tables.

The statistic runs once on the whole county (study area: the union of the township polygons,
so empty cells count as zeros), then each township gets the cells whose centre lies in it. A
township alone rarely holds the 30 incidents Gi* needs, and a hot spot means "more than the
county around it". When the analysis cannot run, the reason is kept for the methods box.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from gis import vocab
from gis.palette import HOTSPOT_BINS

# The product's one palette, so the PDF colours and names hot spots as the web map does.
BIN_LABELS: dict[int, tuple[str, str]] = {b: (zh, en) for b, (_, zh, en) in HOTSPOT_BINS.items()}
BIN_COLOURS: dict[int, str] = {b: colour for b, (colour, _, _) in HOTSPOT_BINS.items()}


@dataclass(frozen=True)
class HotCell:
    """One grid cell of the county analysis."""

    cell: str
    count: int
    z: float | None
    p: float | None
    bin: int
    dominant_category: str | None
    township_code: str | None
    lon: float
    lat: float
    polygon: BaseGeometry

    @property
    def bin_zh(self) -> str:
        """The FDR bin in Chinese."""
        return BIN_LABELS[self.bin][0]

    @property
    def bin_en(self) -> str:
        """The FDR bin in English."""
        return BIN_LABELS[self.bin][1]

    @property
    def dominant_label(self) -> str:
        """The dominant category's Chinese label, or a dash for an empty cell."""
        if not self.dominant_category:
            return "—"
        return vocab.Category(self.dominant_category).zh


@dataclass
class CountyHotspots:
    """The county analysis, or why there is none."""

    available: bool
    reason_zh: str = ""
    reason_en: str = ""
    cells: list[HotCell] = field(default_factory=list)
    explanations_zh: list[str] = field(default_factory=list)
    explanations_en: list[str] = field(default_factory=list)
    cell_m: float | None = None
    band_m: float | None = None
    shape: str | None = None
    n_points: int = 0
    geojson: dict[str, Any] | None = None
    # the incremental spatial autocorrelation behind the automatic band: band_m, moran_i, z
    band_curve: list[dict[str, float | None]] = field(default_factory=list)

    def for_township(self, code: str) -> list[HotCell]:
        """Cells whose centre lies in township ``code``."""
        return [c for c in self.cells if c.township_code == code]


def _unavailable(zh: str, en: str, n_points: int) -> CountyHotspots:
    return CountyHotspots(available=False, reason_zh=zh, reason_en=en, n_points=n_points)


def county_hotspots(
    lon: Sequence[float],
    lat: Sequence[float],
    categories: Sequence[str],
    townships: Sequence[tuple[str, BaseGeometry]],
) -> CountyHotspots:
    """Gi* on problem points over the county; never raises, records the reason instead."""
    n = len(lon)
    try:
        from gis.hotspots.analysis import hotspots_from_points
    except Exception as exc:  # noqa: BLE001 - the module may be missing or mid-change
        return _unavailable(
            f"热点分析模块不可用（{type(exc).__name__}），本报告不含热点格网。",
            f"The hot spot module is not available ({type(exc).__name__}); "
            "this report has no hot spot cells.",
            n,
        )
    if not townships:
        return _unavailable("没有乡镇边界，无法确定研究区。", "No township boundaries.", n)
    boundary = unary_union([g for _, g in townships])
    try:
        result = hotspots_from_points(np.asarray(lon), np.asarray(lat), boundary=boundary)
    except Exception as exc:  # noqa: BLE001 - e.g. too few points; the report still renders
        zh = getattr(exc, "zh", None) or f"热点分析未能完成：{exc}"
        en = getattr(exc, "en", None) or f"The hot spot analysis did not complete: {exc}"
        return _unavailable(
            f"全县共 {n} 个问题点位。{zh}", f"{n} problem points in the county. {en}", n
        )
    cells = _cells(result, lon, lat, categories, townships)
    return CountyHotspots(
        available=True,
        cells=cells,
        explanations_zh=result.explain("zh"),
        explanations_en=result.explain("en"),
        cell_m=float(result.cell_m),
        band_m=float(result.band_m),
        shape=str(result.shape),
        n_points=n,
        geojson=result.to_geojson(),
        band_curve=list(result.band_curve),
    )


def _cells(
    result: Any,
    lon: Sequence[float],
    lat: Sequence[float],
    categories: Sequence[str],
    townships: Sequence[tuple[str, BaseGeometry]],
) -> list[HotCell]:
    polygons = np.asarray(result.cells, dtype=object)
    dominant = _dominant_categories(polygons, lon, lat, categories)
    clon = np.asarray(result.centre_lon, dtype=float)
    clat = np.asarray(result.centre_lat, dtype=float)
    owner: list[str | None] = [None] * len(polygons)
    for code, geom in sorted(townships, key=lambda t: t[0]):
        shapely.prepare(geom)
        inside = shapely.contains_xy(geom, clon, clat)
        for k in np.flatnonzero(inside):
            if owner[k] is None:
                owner[k] = code
    ids = result.cell_ids()
    cells = []
    for k in range(len(polygons)):
        z = float(result.z[k])
        p = float(result.p[k])
        cells.append(
            HotCell(
                cell=ids[k],
                count=int(result.count[k]),
                z=z if np.isfinite(z) else None,
                p=p if np.isfinite(p) else None,
                bin=int(result.bin[k]),
                dominant_category=dominant.get(k),
                township_code=owner[k],
                lon=float(clon[k]),
                lat=float(clat[k]),
                polygon=polygons[k],
            )
        )
    return cells


def _dominant_categories(
    polygons: np.ndarray, lon: Sequence[float], lat: Sequence[float], categories: Sequence[str]
) -> dict[int, str]:
    """The most frequent category of the points in each cell (ties: vocabulary order)."""
    if not len(polygons) or not len(lon):
        return {}
    tree = shapely.STRtree(polygons)
    points = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    point_ix, cell_ix = tree.query(points, predicate="intersects")
    seen: set[int] = set()
    per_cell: dict[int, Counter[str]] = {}
    for pi, ci in zip(point_ix.tolist(), cell_ix.tolist(), strict=True):
        if pi in seen:  # a point on a shared edge counts once
            continue
        seen.add(pi)
        per_cell.setdefault(ci, Counter())[categories[pi]] += 1
    order = {c: i for i, c in enumerate(vocab.values(vocab.Category))}
    return {
        ci: min(counter, key=lambda c: (-counter[c], order.get(c, 99)))
        for ci, counter in per_cell.items()
    }


def top_cells(cells: Sequence[HotCell], n: int = 10) -> list[HotCell]:
    """The ``n`` cells to list first: hottest bin, then highest z, then most problems."""
    return sorted(
        cells,
        key=lambda c: (-c.bin, -(c.z if c.z is not None else -1e9), -c.count, c.cell),
    )[:n]
