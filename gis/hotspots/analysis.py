"""Optimized-Hot-Spot-style analysis of incident points: one call from lon/lat to a Gi* map.

Pipeline: project to the CGCS2000 3-degree Gauss-Krüger zone of the data → keep incidents in
the study area → check minimums → automatic (or given) cell size → count per square/hexagon
cell → automatic (or given) distance band → Gi* (binary fixed distance band, self included)
→ FDR-corrected ``bin`` → cell polygons back in EPSG:4326.

**Which cells are analysed (empty cells).** As in ArcGIS:

* *No study area* (default): only cells holding at least one incident are analysed; empty cells
  are not zeros but "no data". The convex hull is not used, since it usually spans places where
  incidents cannot occur (water, fields), whose zeros would turn every settlement hot.
* *A study area* (``boundary`` polygon in lon/lat, or ``use_hull=True`` for the incidents'
  convex hull): every cell whose centre lies in the area counts, empty ones as zeros, plus any
  cell holding an incident of the area whose centre falls just outside it. Incidents outside
  the boundary are dropped (ArcGIS keeps only incidents intersecting the bounding polygon).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import shape as geojson_shape
from shapely.geometry.base import BaseGeometry

from gis.hotspots import bands
from gis.hotspots.errors import Explanation, HotspotInputError
from gis.hotspots.gistar import fdr_bins, gi_star, raw_bins
from gis.hotspots.grid import (
    Grid,
    Orientation,
    Shape,
    count_points,
    gk_epsg_for_lon,
    project_lonlat,
    transform_geometries,
    unproject_xy,
)

MAX_AUTO_SHRINK = 6  # halvings of cell area tried when an automatic grid has < 30 cells


@dataclass(frozen=True)
class HotspotResult:
    """Per-cell Gi* results (arrays aligned by cell) and the settings that produced them."""

    cells: NDArray[np.object_]  # shapely Polygons in EPSG:4326
    cell_ix: NDArray[np.int64]
    cell_iy: NDArray[np.int64]
    centre_lon: NDArray[np.float64]
    centre_lat: NDArray[np.float64]
    count: NDArray[np.int64]
    z: NDArray[np.float64]  # GiZScore (analytical)
    p: NDArray[np.float64]  # GiPValue (analytical, two-sided, uncorrected)
    bin: NDArray[np.int8]  # Gi_Bin, FDR-corrected, -3..3
    bin_raw: NDArray[np.int8]  # Gi_Bin without FDR correction
    n_neighbours: NDArray[np.int64]  # cells in the Gi* window, the cell itself included
    band_m: float
    cell_m: float
    shape: Shape
    orientation: Orientation
    epsg: int
    n_points: int
    n_used: int
    band_method: str
    explanations: list[Explanation] = field(default_factory=list)
    p_sim: NDArray[np.float64] | None = None
    permutations: int = 0
    # Incremental spatial autocorrelation behind an automatic band: distance, Moran's I, z and
    # mean neighbours per step (empty when the band was given or came from the K-NN rule
    # without a curve).
    band_curve: list[dict[str, float | None]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.count.size)

    def cell_ids(self) -> list[str]:
        """Stable textual cell ids ``"<shape>:<ix>:<iy>"`` (same grid → same ids)."""
        tag = "sq" if self.shape == "square" else f"hex{self.orientation[0]}"
        pairs = zip(self.cell_ix.tolist(), self.cell_iy.tolist(), strict=True)
        return [f"{tag}:{i}:{j}" for i, j in pairs]

    def summary(self) -> dict[int, int]:
        """Number of cells per FDR bin, keys -3…3."""
        return {b: int((self.bin == b).sum()) for b in range(-3, 4)}

    def explain(self, lang: str = "zh") -> list[str]:
        """The explanations as plain sentences in ``"zh"`` or ``"en"``."""
        return [e.zh if lang == "zh" else e.en for e in self.explanations]

    def to_geojson(self, precision: int = 7) -> dict[str, Any]:
        """FeatureCollection of cell Polygons (EPSG:4326) with count, z, p, bin and band_m."""
        ids = self.cell_ids()
        coords = shapely.get_coordinates(self.cells)
        per = coords.shape[0] // max(len(self), 1)
        rings = np.round(coords, precision).reshape(len(self), per, 2).tolist()
        features = []
        for k in range(len(self)):
            features.append(
                {
                    "type": "Feature",
                    "id": ids[k],
                    "geometry": {"type": "Polygon", "coordinates": [rings[k]]},
                    "properties": {
                        "cell": ids[k],
                        "count": int(self.count[k]),
                        "z": _finite(self.z[k]),
                        "p": _finite(self.p[k]),
                        "bin": int(self.bin[k]),
                        "n_neighbours": int(self.n_neighbours[k]),
                        "band_m": self.band_m,
                    },
                }
            )
        return {"type": "FeatureCollection", "features": features}


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _as_geometry(boundary: BaseGeometry | Mapping[str, Any]) -> BaseGeometry:
    geom = boundary if isinstance(boundary, BaseGeometry) else geojson_shape(boundary)
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon", "GeometryCollection"):
        raise HotspotInputError("边界必须是多边形。", "The boundary must be a polygon.")
    return shapely.make_valid(geom)


def _study_area_cells(
    grid: Grid, xy: NDArray[np.float64], area: BaseGeometry | None
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Cells analysed and their counts: occupied cells, plus empty ones inside ``area``."""
    occ = count_points(grid, xy[:, 0], xy[:, 1])
    if area is None:
        return occ.ix, occ.iy, occ.count
    ai, aj = grid.cells_with_centre_in(area)
    ix = np.concatenate([occ.ix, ai])
    iy = np.concatenate([occ.iy, aj])
    cnt = np.concatenate([occ.count, np.zeros(ai.size, dtype=np.int64)])
    keys = np.stack([ix, iy], axis=1)
    _, first = np.unique(keys, axis=0, return_index=True)  # occupied rows come first
    first.sort()
    ix, iy, cnt = ix[first], iy[first], cnt[first]
    order = np.lexsort((ix, iy))
    return ix[order], iy[order], cnt[order]


def hotspots_from_points(
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    cell_m: float | None = None,
    band_m: float | None = None,
    shape: Shape = "hex",
    orientation: Orientation = "flat",
    boundary: BaseGeometry | Mapping[str, Any] | None = None,
    use_hull: bool = False,
    permutations: int = 0,
    seed: int | None = None,
    epsg: int | None = None,
) -> HotspotResult:
    """Optimized Hot Spot Analysis of incident points given in EPSG:4326 lon/lat."""
    # cell_m / band_m override the automatic choices. boundary (lon/lat polygon or GeoJSON
    # geometry) or use_hull define a study area whose empty cells count as zeros. With
    # permutations > 0, bin uses two-sided tie-aware pseudo p-values (seeded) while z and p stay
    # analytical. epsg overrides the Gauss-Krüger zone.
    lon = np.asarray(lon, dtype=float).ravel()
    lat = np.asarray(lat, dtype=float).ravel()
    if lon.shape != lat.shape:
        raise ValueError("lon and lat must have the same length")
    n_points = int(lon.size)
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    lon, lat = lon[ok], lat[ok]
    explanations: list[Explanation] = []

    area_ll = _as_geometry(boundary) if boundary is not None else None
    if epsg is None:
        ref_lon = area_ll.centroid.x if area_ll is not None else (
            float(np.median(lon)) if lon.size else 120.0
        )
        epsg = gk_epsg_for_lon(ref_lon)
    x, y = project_lonlat(lon, lat, epsg)
    xy = np.column_stack([x, y])

    area: BaseGeometry | None = None
    if area_ll is not None:
        area = transform_geometries([area_ll], 4326, epsg)[0]
        shapely.prepare(area)
        inside = shapely.intersects_xy(area, x, y)
        xy = xy[inside]
    elif use_hull and len(xy) >= 3:
        area = shapely.convex_hull(shapely.multipoints(xy))
    n_used = int(len(xy))
    has_area = area is not None and area.area > 0
    if not has_area:
        area = None

    explanations.append(_incidents_explanation(n_points, int(ok.sum()), n_used, area_ll, use_hull))
    bands.check_incidents(n_used, has_boundary=area is not None)

    auto_cell = cell_m is None
    if auto_cell:
        choice = bands.choose_cell_size(
            xy, area_m2=area.area if area is not None else None, shape=shape
        )
        cell = choice.cell_m
        explanations.extend([choice.outliers, choice.explanation])
    else:
        cell = float(cell_m)  # type: ignore[arg-type]
        explanations.append(
            Explanation(
                "cell_size",
                f"格网大小由用户指定：{cell:g} 米。",
                f"Cell size given by the user: {cell:g} m.",
                cell,
            )
        )

    grid = Grid(cell, shape, orientation)
    ix, iy, counts = _study_area_cells(grid, xy, area)
    shrinks = 0
    while True:
        try:
            bands.check_cells(counts)
            break
        except HotspotInputError:
            if not auto_cell or shrinks >= MAX_AUTO_SHRINK:
                raise
        shrinks += 1
        cell = bands.round_sig(cell / math.sqrt(2.0), 2)
        grid = Grid(cell, shape, orientation)
        ix, iy, counts = _study_area_cells(grid, xy, area)
    if shrinks:
        explanations.append(
            Explanation(
                "cell_size_shrunk",
                f"自动格网的格网数不足 {bands.MIN_CELLS} 个或计数无差异，"
                f"已逐步缩小 {shrinks} 次，最终为 {cell:g} 米。",
                f"The automatic grid had fewer than {bands.MIN_CELLS} cells or no variation in "
                f"counts, so it was shrunk {shrinks} time(s) to {cell:g} m.",
                cell,
            )
        )
    explanations.append(_cells_explanation(counts, area is not None))

    cx, cy = grid.centres(ix, iy)
    centres = np.column_stack([cx, cy])
    values = counts.astype(float)
    curve: list[dict[str, float | None]] = []
    if band_m is None:
        band_choice = bands.choose_band(centres, values)
        band = band_choice.band_m
        if band_choice.isa is not None:
            isa = band_choice.isa
            curve = [
                {
                    "band_m": float(d), "moran_i": _finite(m), "z": _finite(zz),
                    "mean_neighbours": _finite(k),
                }
                for d, m, zz, k in zip(
                    isa.distances, isa.moran_i, isa.z, isa.mean_neighbours, strict=True
                )
            ]
        method = band_choice.method
        explanations.append(band_choice.explanation)
    else:
        band = float(band_m)
        bands.check_band(band, cell, shape)
        method = "user"
        explanations.append(
            Explanation(
                "distance_band",
                f"距离阈值由用户指定：{band:g} 米。",
                f"Distance band given by the user: {band:g} m.",
                band,
            )
        )

    gi = gi_star(centres, values, band, permutations=permutations, seed=seed)
    p_for_bins = gi.p_sim if gi.p_sim is not None else gi.p
    bins = fdr_bins(gi.z, p_for_bins)
    bins_raw = raw_bins(gi.z, p_for_bins)
    explanations.append(_neighbours_explanation(gi.n_neighbours, band))
    explanations.append(_result_explanation(bins, bins_raw, permutations))

    polys = transform_geometries(grid.polygons(ix, iy), epsg, 4326)
    clon, clat = unproject_xy(cx, cy, epsg)
    return HotspotResult(
        cells=polys, cell_ix=ix, cell_iy=iy, centre_lon=clon, centre_lat=clat,
        count=counts, z=gi.z, p=gi.p, bin=bins, bin_raw=bins_raw,
        n_neighbours=gi.n_neighbours, band_m=band, cell_m=cell, shape=shape,
        orientation=orientation, epsg=int(epsg), n_points=n_points, n_used=n_used,
        band_method=method, explanations=explanations, p_sim=gi.p_sim,
        permutations=int(permutations), band_curve=curve,
    )


def _incidents_explanation(
    n_points: int, n_valid: int, n_used: int, boundary: BaseGeometry | None, use_hull: bool
) -> Explanation:
    bad = n_points - n_valid
    zh = f"共 {n_points} 个事件点"
    en = f"{n_points} incident point(s)"
    if bad:
        zh += f"，其中 {bad} 个坐标无效被忽略"
        en += f", {bad} with invalid coordinates ignored"
    if boundary is not None:
        zh += f"；{n_used} 个位于研究区边界内参与分析，研究区内的空格网按 0 计。"
        en += (
            f"; {n_used} inside the study-area boundary were analysed, and empty cells inside "
            "it count as zeros."
        )
    elif use_hull:
        zh += "；以事件点的凸包为研究区，凸包内的空格网按 0 计。"
        en += "; the incidents' convex hull is the study area and its empty cells count as zeros."
    else:
        zh += "；未指定研究区边界，只分析有事件的格网（与 ArcGIS 一致）。"
        en += "; no study-area boundary, so only cells holding incidents are analysed (as ArcGIS)."
    return Explanation("incidents", zh, en, n_used)


def _cells_explanation(counts: NDArray[np.int64], with_zeros: bool) -> Explanation:
    n = counts.size
    zeros = int((counts == 0).sum())
    zh = (
        f"共分析 {n} 个格网（其中 {zeros} 个为 0），每格事件数最小 {counts.min()}、最大 "
        f"{counts.max()}、平均 {counts.mean():.2f}。"
    )
    en = (
        f"{n} cells analysed ({zeros} empty), incidents per cell min {counts.min()}, max "
        f"{counts.max()}, mean {counts.mean():.2f}."
    )
    return Explanation("cells", zh, en, n, {"zeros": zeros, "with_zeros": str(with_zeros)})


def _neighbours_explanation(k: NDArray[np.int64], band: float) -> Explanation:
    others = k - 1
    share = float((others < 8).mean() * 100.0)
    zh = (
        f"在 {bands.fmt_m(band)} 米距离阈值内，每个格网平均有 {others.mean():.1f} 个相邻格网；"
        f"{share:.1f}% 的格网相邻格网少于 8 个。"
    )
    en = (
        f"Within the {bands.fmt_m(band)} m band each cell has {others.mean():.1f} neighbouring "
        f"cells on average; {share:.1f}% of cells have fewer than 8."
    )
    return Explanation("neighbours", zh, en, share)


def _result_explanation(bins: NDArray[np.int8], raw: NDArray[np.int8], perms: int) -> Explanation:
    hot = int((bins > 0).sum())
    cold = int((bins < 0).sum())
    hot99 = int((bins == 3).sum())
    raw_sig = int((raw != 0).sum())
    how_zh = f"（{perms} 次条件置换的伪 p 值）" if perms else ""
    how_en = f" (pseudo p-values from {perms} conditional permutations)" if perms else ""
    zh = (
        f"经 Benjamini–Hochberg 错误发现率（FDR）校正{how_zh}，显著热点格网 {hot} 个"
        f"（其中 99% 置信 {hot99} 个），显著冷点格网 {cold} 个；未校正时为 {raw_sig} 个。"
    )
    en = (
        f"After Benjamini-Hochberg false-discovery-rate correction{how_en}, {hot} cells are "
        f"significant hot spots ({hot99} at 99% confidence) and {cold} are cold spots; "
        f"{raw_sig} would be significant without the correction."
    )
    return Explanation("result", zh, en, hot, {"hot": hot, "cold": cold, "hot99": hot99})
