"""Local Moran's I (LISA) on cells or townships, on counts or rates (with their denominators)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.hotspots.data.points import (
    PointFilter,
    StudyArea,
    _filter_explanation,
    analyse_hotspots,
    load_points,
)
from gis.hotspots.errors import Explanation, HotspotInputError
from gis.hotspots.gistar import fdr_bins, gi_star_on_pairs
from gis.hotspots.grid import (
    Grid,
    Shape,
    project_lonlat,
)
from gis.hotspots.lisa import (
    DEFAULT_ALPHA,
    DEFAULT_PERMUTATIONS,
    LisaMap,
    contiguity_neighbours,
    distance_band_neighbours,
    lisa_explanation,
    lisa_on_cells,
    local_moran,
)
from gis.hotspots.rates import RATE_METHODS, RateMethod, rate_values

LisaUnit = Literal["cells", "townships"]
Denominator = Literal["sites", "area"]
DENOMINATOR_WORDS: dict[str, tuple[str, str]] = {
    "sites": ("站点数", "sites"),
    "area": ("面积（平方千米）", "area (km²)"),
}
VALUE_WORDS: dict[str, tuple[str, str]] = {
    "count": ("事件数", "incident counts"),
    "rate": ("原始比率", "crude rates"),
    "eb": ("经验贝叶斯平滑比率（全局）", "empirical-Bayes smoothed rates (global)"),
    "spatial_eb": ("经验贝叶斯平滑比率（空间）", "empirical-Bayes smoothed rates (spatial)"),
}


@dataclass(frozen=True)
class TownshipUnits:
    """Township polygons (EPSG:4326) with their denominators."""

    codes: list[str]
    names: list[str]
    polygons: NDArray[np.object_]
    area_km2: NDArray[np.float64]
    sites: NDArray[np.float64]


def township_units(session: Session, codes: tuple[str, ...] | None = None) -> TownshipUnits:
    """The townships (all, or ``codes``) ordered by code, with area and number of sites."""
    where = "WHERE t.code = ANY(:codes)" if codes is not None else ""
    rows = session.execute(
        text(
            f"""SELECT t.code, t.name, ST_AsBinary(t.geom),
                       ST_Area(t.geom::geography) / 1e6,
                       (SELECT count(*) FROM sites s WHERE s.township_code = t.code)
                FROM townships t {where} ORDER BY t.code"""
        ),
        {"codes": list(codes or ())},
    ).all()
    return TownshipUnits(
        [r[0] for r in rows],
        [r[1] for r in rows],
        np.asarray([shapely.from_wkb(bytes(r[2])) for r in rows], dtype=object),
        np.asarray([float(r[3]) for r in rows], dtype=float),
        np.asarray([float(r[4]) for r in rows], dtype=float),
    )


def count_in_polygons(polygons: ArrayLike, lon: ArrayLike, lat: ArrayLike) -> NDArray[np.int64]:
    """Points per polygon; a point on a shared edge counts once, in the first polygon."""
    polys = np.asarray(polygons, dtype=object)
    pts = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    if len(polys) == 0 or len(pts) == 0:
        return np.zeros(len(polys), dtype=np.int64)
    tree = shapely.STRtree(polys)
    p_idx, g_idx = tree.query(pts, predicate="intersects")
    order = np.lexsort((g_idx, p_idx))
    p_idx, g_idx = p_idx[order], g_idx[order]
    first = np.r_[True, p_idx[1:] != p_idx[:-1]] if p_idx.size else np.zeros(0, dtype=bool)
    return np.bincount(g_idx[first], minlength=len(polys)).astype(np.int64)


def _site_cells(session: Session, flt: PointFilter, grid: Grid, epsg: int) -> dict[tuple, int]:
    """Number of sites per cell (sites of the filter's townships), keyed by (ix, iy)."""
    towns = flt.area_townships()
    where = "WHERE s.geom IS NOT NULL" + (
        " AND s.township_code = ANY(:codes)" if towns is not None else ""
    )
    rows = session.execute(
        text(
            "SELECT ST_X(ST_PointOnSurface(s.geom)), ST_Y(ST_PointOnSurface(s.geom))"
            f" FROM sites s {where}"
        ),
        {"codes": list(towns or ())},
    ).all()
    if not rows:
        return {}
    lon, lat = (np.asarray(v, dtype=float) for v in zip(*rows, strict=True))
    x, y = project_lonlat(lon, lat, epsg)
    ix, iy = grid.cell_of(x, y)
    return dict(Counter(zip(ix.tolist(), iy.tolist(), strict=True)))


def _value_note(value: str, denominator: str | None, n_dropped: int) -> Explanation:
    zh, en = VALUE_WORDS[value]
    if denominator is not None and value != "count":
        dzh, den = DENOMINATOR_WORDS[denominator]
        zh += f"，分母为{dzh}"
        en += f" against {den}"
        if value in ("eb", "spatial_eb"):
            zh += "；小单元的比率向均值收缩，大单元不会仅因规模大而成为热点"
            en += (
                "; the rates of small units shrink towards the mean, and a large unit is not "
                "a hot spot only because it is large"
            )
    if n_dropped:
        zh += f"；{n_dropped} 个分母为零的单元未参与分析"
        en += f"; {n_dropped} unit(s) with a zero denominator left out"
    return Explanation("value", f"分析值：{zh}。", f"Analysed value: {en}.", value)


def analyse_lisa(
    session: Session,
    flt: PointFilter,
    *,
    today: date,
    unit: LisaUnit = "cells",
    value: RateMethod = "count",
    denominator: Denominator = "sites",
    cell_m: float | None = None,
    band_m: float | None = None,
    shape: Shape = "hex",
    area: StudyArea = "townships",
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int | None = None,
    alpha: float = DEFAULT_ALPHA,
    fdr: bool = True,
) -> LisaMap:
    """Local Moran's I of the filtered incidents per cell or per township, counts or rates."""
    if value not in RATE_METHODS:
        rate_values(value, [1.0], None)  # raises the bilingual error
    den = None if value == "count" else denominator
    settings: dict[str, Any] = {"input": flt.kind, "value": value, "denominator": den}
    if unit == "cells":
        if den == "area":
            raise HotspotInputError(
                "格网面积相同，按面积的比率与计数等价；请改用 value=count 或 denominator=sites。",
                "Cells all have the same area, so a rate per area equals the count; use "
                "value=count or denominator=sites.",
            )
        run = analyse_hotspots(
            session, flt, today=today, cell_m=cell_m, band_m=band_m, shape=shape, area=area
        )
        res = run.result
        keep = None
        vals = None
        note = _value_note(value, den, 0)
        if den == "sites":
            grid = Grid(res.cell_m, res.shape, res.orientation)
            per_cell = _site_cells(session, flt, grid, res.epsg)
            sites = np.asarray(
                [
                    per_cell.get(k, 0)
                    for k in zip(res.cell_ix.tolist(), res.cell_iy.tolist(), strict=True)
                ],
                dtype=float,
            )
            keep = sites > 0
            if keep.sum() < 3:
                raise HotspotInputError(
                    "含站点的格网少于 3 个，无法按站点数计算比率。",
                    "Fewer than 3 cells hold a site; rates per site cannot be analysed.",
                )
            cx, cy = grid.centres(res.cell_ix[keep], res.cell_iy[keep])
            pairs = distance_band_neighbours(np.column_stack([cx, cy]), res.band_m)
            vals = rate_values(value, res.count[keep], sites[keep], (pairs.i, pairs.j))
            note = _value_note(value, den, int((~keep).sum()))
        lisa = lisa_on_cells(
            res,
            values=vals,
            keep=keep,
            permutations=permutations,
            seed=seed,
            alpha=alpha,
            fdr=fdr,
            settings=settings,
        )
        return replace(lisa, explanations=[lisa.explanations[0], note, *lisa.explanations[1:]])
    if unit != "townships":
        raise HotspotInputError(
            f"未知的分析单元 {unit!r}，应为 cells 或 townships。",
            f"Unknown unit {unit!r}; use cells or townships.",
        )
    points = load_points(session, flt, today=today)
    towns = township_units(session, flt.area_townships())
    if len(towns.codes) < 3:
        raise HotspotInputError(
            f"只有 {len(towns.codes)} 个乡镇，局部莫兰指数至少需要 3 个。",
            f"Only {len(towns.codes)} township(s); local Moran's I needs at least 3.",
        )
    counts = count_in_polygons(towns.polygons, points.lon, points.lat).astype(float)
    base = None if den is None else (towns.sites if den == "sites" else towns.area_km2)
    keep = np.ones(len(towns.codes), dtype=bool) if base is None else base > 0
    if keep.sum() < 3:
        raise HotspotInputError(
            "分母（站点数或面积）大于零的乡镇少于 3 个。",
            "Fewer than 3 townships have a positive denominator (sites or area).",
        )
    polys = towns.polygons[keep]
    nb = contiguity_neighbours(polys)
    vals = rate_values(value, counts[keep], None if base is None else base[keep], (nb.i, nb.j))
    res_l = local_moran(vals, nb, permutations=permutations, seed=seed, alpha=alpha, fdr=fdr)
    gi_z, gi_p, _ = gi_star_on_pairs(vals, nb.i, nb.j)
    gi_bin = fdr_bins(gi_z, gi_p)
    islands = int((nb.cardinality == 0).sum())
    notes = [
        _filter_explanation(flt, len(points)),
        _value_note(value, den, int((~keep).sum())),
        lisa_explanation(
            res_l,
            "乡镇",
            "townships",
            "边界相接（Queen 邻接）的乡镇为邻居"
            + (f"，{islands} 个乡镇没有邻居（不参与显著性判断）" if islands else ""),
            "townships sharing a boundary point are neighbours (queen contiguity)"
            + (
                f"; {islands} township(s) without neighbours are never significant"
                if islands
                else ""
            ),
        ),
    ]
    return LisaMap(
        unit="townships",
        ids=[c for c, k in zip(towns.codes, keep.tolist(), strict=True) if k],
        names=[c for c, k in zip(towns.names, keep.tolist(), strict=True) if k],
        polygons=polys,
        value=vals,
        count=counts[keep],
        result=res_l,
        explanations=[
            *notes,
            Explanation(
                "gi_townships",
                f"另给出 Gi*（同一分析值，邻接乡镇加自身为窗口，FDR 分级）：热点乡镇 "
                f"{int((gi_bin > 0).sum())} 个，冷点乡镇 {int((gi_bin < 0).sum())} 个。",
                f"Gi* on the same value (window: the township and its contiguous ones, FDR "
                f"bins) is given too: {int((gi_bin > 0).sum())} hot and "
                f"{int((gi_bin < 0).sum())} cold township(s).",
                int((gi_bin != 0).sum()),
            ),
        ],
        settings={**settings, "n_points": len(points)},
        gi_z=gi_z,
        gi_p=gi_p,
        gi_bin=gi_bin,
    )
