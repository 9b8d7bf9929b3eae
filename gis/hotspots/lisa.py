"""Local Moran's I (Anselin's LISA): high-high, low-low, high-low and low-high cells or townships.

Where Gi* asks "is this neighbourhood high?", local Moran's I asks "is this unit like its
neighbours?": a high unit among high ones (HH, a cluster), low among low (LL), and the
*outliers*, high among low (HL) and low among high (LH). This is ArcGIS's *Cluster and Outlier
Analysis (Anselin Local Moran's I)* and PySAL's ``esda.Moran_Local``.

**Statistic** (esda's definition, checked against its source). With z the values standardised
by their mean and population SD, and row-standardised binary weights w_ij = 1/k_i over the
k_i neighbours of unit i (the unit itself excluded)::

    I_i = (n − 1) · z_i · Σ_j w_ij z_j / Σ_j z_j²

A unit without neighbours (an island) gets I = 0, p = 1 and is never significant.

**Quadrant** (esda's ``q``): 1 HH (z > 0, lag > 0), 2 LH, 3 LL, 4 HL.

**Inference** is by conditional permutation, as esda and ArcGIS do (the normal approximation
is poor for local Moran's I): unit i keeps its value and k_i values are drawn without
replacement from the other n − 1 units, ``permutations`` times. The draws are esda's exactly:
one draw matrix shared by all units, row r being ``RandomState(seed).choice(n − 1, kmax,
replace=False)`` in turn (esda's ``vec_permutations`` without numba), of which unit i uses the
first k_i entries among the units other than i. So with the same seed and weights the
simulated I values equal esda's ``rlisas``.

The pseudo p-value is two-sided and tie-aware, p = 2·(min(#sim ≥ I, #sim ≤ I) + 1) / (P + 1)
capped at 1 (esda's default ``p_sim`` is one-sided folded; it is about half of this one). A
unit is significant when p passes Benjamini–Hochberg at ``alpha`` (default 0.05, ArcGIS's
95 %) over all units, or p ≤ alpha with ``fdr=False``; its ``cluster`` is then its quadrant's
label, else ``"ns"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import mapping

from gis.hotspots.analysis import HotspotResult
from gis.hotspots.errors import Explanation, HotspotInputError
from gis.hotspots.gistar import bh_significant, distance_band_pairs, pseudo_p
from gis.hotspots.grid import Grid

DEFAULT_PERMUTATIONS = 999
DEFAULT_ALPHA = 0.05
PERMUTATION_CHUNK = 4_000_000  # elements per chunk of the conditional permutation
TIE_TOLERANCE = 1e-9  # relative: simulated I equal to the observed one count as ties
QUADRANTS: dict[int, tuple[str, str, str]] = {
    1: ("HH", "高-高聚集", "High-high cluster"),
    2: ("LH", "低-高异常", "Low-high outlier"),
    3: ("LL", "低-低聚集", "Low-low cluster"),
    4: ("HL", "高-低异常", "High-low outlier"),
}
NOT_SIGNIFICANT = ("ns", "不显著", "Not significant")


@dataclass(frozen=True)
class Neighbours:
    """Symmetric neighbour pairs i < j among ``n`` units (binary weights, no self)."""

    n: int
    i: NDArray[np.int64]
    j: NDArray[np.int64]

    @property
    def cardinality(self) -> NDArray[np.int64]:
        """Number of neighbours of each unit."""
        return (
            np.bincount(self.i, minlength=self.n) + np.bincount(self.j, minlength=self.n)
        ).astype(np.int64)

    def lists(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """CSR form: ``offsets`` (n + 1) and neighbour ``index`` sorted by unit, then neighbour."""
        src = np.concatenate([self.i, self.j])
        dst = np.concatenate([self.j, self.i])
        order = np.lexsort((dst, src))
        offsets = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=self.n), out=offsets[1:])
        return offsets, dst[order].astype(np.int64)

    def as_dict(self) -> dict[int, list[int]]:
        """``{unit: [neighbours]}`` (for libpysal's ``W``)."""
        offsets, index = self.lists()
        return {u: index[offsets[u] : offsets[u + 1]].tolist() for u in range(self.n)}


def distance_band_neighbours(xy: ArrayLike, band: float) -> Neighbours:
    """Units within ``band`` metres of each other (centres of cells, say)."""
    pts = np.asarray(xy, dtype=float)
    i, j = distance_band_pairs(pts, band)
    return Neighbours(len(pts), i, j)


def contiguity_neighbours(polygons: ArrayLike) -> Neighbours:
    """Queen contiguity: polygons sharing at least one boundary point are neighbours."""
    geoms = np.asarray(polygons, dtype=object)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    return Neighbours(len(geoms), a[keep].astype(np.int64), b[keep].astype(np.int64))


@dataclass(frozen=True)
class LisaResult:
    """Per-unit local Moran's I with permutation inference and the cluster/outlier class."""

    I: NDArray[np.float64]  # noqa: E741 - esda's ``Is``
    lag: NDArray[np.float64]  # spatial lag of the standardised values
    z_value: NDArray[np.float64]  # the standardised values
    quadrant: NDArray[np.int64]  # 1 HH, 2 LH, 3 LL, 4 HL
    p_sim: NDArray[np.float64]  # two-sided, tie-aware pseudo p
    z_sim: NDArray[np.float64]  # (I − mean of simulations) / their SD
    significant: NDArray[np.bool_]
    n_neighbours: NDArray[np.int64]
    permutations: int
    alpha: float
    fdr: bool
    seed: int | None

    def __len__(self) -> int:
        return int(self.I.size)

    @property
    def cluster(self) -> list[str]:
        """``HH`` / ``LL`` / ``HL`` / ``LH`` for significant units, ``ns`` otherwise."""
        return [
            QUADRANTS[int(q)][0] if s else NOT_SIGNIFICANT[0]
            for q, s in zip(self.quadrant.tolist(), self.significant.tolist(), strict=True)
        ]

    def tally(self) -> dict[str, int]:
        """Units per class, every class listed."""
        found = self.cluster
        keys = [v[0] for v in QUADRANTS.values()] + [NOT_SIGNIFICANT[0]]
        return {k: found.count(k) for k in keys}


def esda_draws(n: int, kmax: int, permutations: int, seed: int | None) -> NDArray[np.int64]:
    """The permutation draw matrix of esda's ``vec_permutations`` (pure-numpy path)."""
    rs = np.random.RandomState(seed)  # noqa: NPY002 - esda's legacy stream, on purpose
    out = np.empty((permutations, kmax), dtype=np.int64)
    for r in range(permutations):
        out[r] = rs.choice(n - 1, size=kmax, replace=False)
    return out


def local_moran(
    y: ArrayLike,
    neighbours: Neighbours,
    *,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int | None = None,
    alpha: float = DEFAULT_ALPHA,
    fdr: bool = True,
) -> LisaResult:
    """Local Moran's I of ``y`` under row-standardised binary ``neighbours`` (see module doc)."""
    values = np.asarray(y, dtype=float).ravel()
    n = values.size
    if n != neighbours.n:
        raise ValueError("y and neighbours must describe the same units")
    if n < 3:
        raise HotspotInputError(
            "单元太少，无法计算局部莫兰指数。", "Too few units for local Moran's I."
        )
    if not np.all(np.isfinite(values)):
        raise HotspotInputError("分析值中含有缺失值或无穷值。", "The values contain NaN or inf.")
    if permutations < 1:
        raise ValueError("permutations must be a positive integer")
    sd = values.std()
    if not sd > 1e-12 * max(1.0, abs(values.mean())):
        raise HotspotInputError(
            "所有值都相同（方差为零），无法计算局部莫兰指数。",
            "All values are identical (zero variance); local Moran's I cannot be computed.",
        )
    z = (values - values.mean()) / sd
    den = (z * z).sum()
    scaling = (n - 1) / den
    k = neighbours.cardinality
    offsets, index = neighbours.lists()
    sums = np.add.reduceat(z[index], offsets[:-1]) if index.size else np.zeros(n)
    sums[k == 0] = 0.0  # reduceat repeats the next value for empty rows
    lag = np.zeros(n)
    has = k > 0
    lag[has] = sums[has] / k[has]
    moran_i = scaling * z * lag
    quadrant = np.where(z > 0, np.where(lag > 0, 1, 4), np.where(lag > 0, 2, 3)).astype(np.int64)

    ge, le, mean, sq = _simulate(z, k, permutations, seed, scaling, moran_i)
    p_sim = pseudo_p(ge, le, permutations)
    p_sim[~has] = 1.0
    sd_sim = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    z_sim = np.zeros(n)
    ok = sd_sim > 0
    z_sim[ok] = (moran_i[ok] - mean[ok]) / sd_sim[ok]
    significant = bh_significant(p_sim, alpha) if fdr else p_sim <= alpha
    significant &= has
    return LisaResult(
        I=moran_i, lag=lag, z_value=z, quadrant=quadrant, p_sim=p_sim, z_sim=z_sim,
        significant=significant, n_neighbours=k, permutations=int(permutations),
        alpha=float(alpha), fdr=bool(fdr), seed=seed,
    )


def _simulate(
    z: NDArray[np.float64],
    k: NDArray[np.int64],
    permutations: int,
    seed: int | None,
    scaling: float,
    observed: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """#sim ≥ I, #sim ≤ I, mean and mean square of the simulated I per unit (memory-bounded)."""
    n = z.size
    kmax = int(k.max()) if k.size else 0
    ge = np.zeros(n)
    le = np.zeros(n)
    mean = np.zeros(n)
    sq = np.zeros(n)
    if kmax == 0:
        return ge + permutations, le + permutations, mean, sq
    draws = esda_draws(n, kmax, permutations, seed)
    z_same = z[draws]  # the drawn index is below unit i
    z_next = z[draws + 1]  # at or above i: skip i (esda indexes z without i)
    cols = np.arange(kmax)
    chunk = max(1, PERMUTATION_CHUNK // (permutations * kmax))
    safe_k = np.maximum(k, 1).astype(float)
    for start in range(0, n, chunk):
        idx = np.arange(start, min(start + chunk, n))
        use = (cols[None, :] < k[idx][:, None]).astype(float)  # (c, kmax)
        below = draws[None, :, :] < idx[:, None, None]  # (c, P, kmax)
        vals = np.where(below, z_same[None], z_next[None])
        lag = np.einsum("cpk,ck->cp", vals, use) / safe_k[idx][:, None]
        sims = (z[idx] * scaling)[:, None] * lag
        obs = observed[idx][:, None]
        tol = TIE_TOLERANCE * np.maximum(1e-12, np.abs(obs))
        ge[idx] = (sims >= obs - tol).sum(axis=1)
        le[idx] = (sims <= obs + tol).sum(axis=1)
        mean[idx] = sims.mean(axis=1)
        sq[idx] = (sims * sims).mean(axis=1)
    return ge, le, mean, sq


@dataclass(frozen=True)
class LisaMap:
    """Local Moran's I of mapped units (cells or townships) ready to serialise."""

    unit: str  # "cells" | "townships"
    ids: list[str]
    names: list[str | None]
    polygons: NDArray[np.object_]  # shapely geometries in EPSG:4326
    value: NDArray[np.float64]  # the analysed value (count or rate)
    count: NDArray[np.float64]  # incidents per unit
    result: LisaResult
    explanations: list[Explanation]
    settings: dict[str, Any]
    gi_z: NDArray[np.float64] | None = None  # Gi* on the same value and neighbours (+ self)
    gi_p: NDArray[np.float64] | None = None
    gi_bin: NDArray[np.int8] | None = None

    def to_geojson(self, precision: int = 7) -> dict[str, Any]:
        """FeatureCollection: one feature per unit with I, p_sim, quadrant and cluster."""
        r = self.result
        cluster = r.cluster
        features = []
        rounded = shapely.set_precision(self.polygons, 10.0**-precision)
        for k in range(len(self.ids)):
            label = QUADRANTS.get(int(r.quadrant[k]), NOT_SIGNIFICANT)
            cls = cluster[k]
            zh, en = (label[1], label[2]) if cls != "ns" else NOT_SIGNIFICANT[1:]
            features.append(
                {
                    "type": "Feature",
                    "id": self.ids[k],
                    "geometry": mapping(rounded[k]),
                    "properties": {
                        "unit": self.ids[k],
                        "name": self.names[k],
                        "count": _num(self.count[k]),
                        "value": _num(self.value[k]),
                        "I": _num(r.I[k]),
                        "z_sim": _num(r.z_sim[k]),
                        "p_sim": _num(r.p_sim[k]),
                        "quadrant": int(r.quadrant[k]),
                        "cluster": cls,
                        "cluster_zh": zh,
                        "cluster_en": en,
                        "n_neighbours": int(r.n_neighbours[k]),
                        **(
                            {
                                "gi_z": _num(self.gi_z[k]),
                                "gi_p": _num(self.gi_p[k]),
                                "gi_bin": int(self.gi_bin[k]),
                            }
                            if self.gi_z is not None
                            and self.gi_p is not None
                            and self.gi_bin is not None
                            else {}
                        ),
                    },
                }
            )
        return {
            "type": "FeatureCollection",
            "features": features,
            "statistic": "local_moran",
            "unit": self.unit,
            "permutations": r.permutations,
            "seed": r.seed,
            "alpha": r.alpha,
            "fdr": r.fdr,
            "tally": r.tally(),
            "classes": [
                {"cluster": c, "quadrant": q, "zh": zh, "en": en}
                for q, (c, zh, en) in QUADRANTS.items()
            ],
            **self.settings,
            "explanations": [
                {"key": e.key, "zh": e.zh, "en": e.en, "value": _num(e.value)}
                for e in self.explanations
            ],
        }


def _num(v: object) -> object:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def lisa_explanation(
    res: LisaResult, unit_zh: str, unit_en: str, weights_zh: str, weights_en: str
) -> Explanation:
    """The method and the outcome in Chinese and English."""
    t = res.tally()
    how_zh = "FDR 校正" if res.fdr else "未校正"
    how_en = "with FDR correction" if res.fdr else "uncorrected"
    seed_zh = f"，随机种子 {res.seed}" if res.seed is not None else ""
    seed_en = f", seed {res.seed}" if res.seed is not None else ""
    return Explanation(
        "lisa",
        f"局部莫兰指数（Anselin LISA）：{len(res)} 个{unit_zh}，{weights_zh}，行标准化权重；"
        f"{res.permutations} 次条件置换{seed_zh}，双侧伪 p 值（并列计入两侧），"
        f"{how_zh}，α = {res.alpha:g}。高-高聚集 {t['HH']} 个、低-低聚集 {t['LL']} 个、"
        f"高-低异常 {t['HL']} 个、低-高异常 {t['LH']} 个。",
        f"Local Moran's I (Anselin LISA): {len(res)} {unit_en}, {weights_en}, row-standardised "
        f"weights; {res.permutations} conditional permutations{seed_en}, two-sided pseudo "
        f"p-values counting ties on both sides, {how_en} at α = {res.alpha:g}. High-high "
        f"clusters {t['HH']}, low-low clusters {t['LL']}, high-low outliers {t['HL']}, "
        f"low-high outliers {t['LH']}.",
        int(res.significant.sum()),
    )


def lisa_on_cells(
    result: HotspotResult,
    *,
    values: ArrayLike | None = None,
    keep: ArrayLike | None = None,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int | None = None,
    alpha: float = DEFAULT_ALPHA,
    fdr: bool = True,
    settings: dict[str, Any] | None = None,
) -> LisaMap:
    """Local Moran's I on the cells of a :class:`~gis.hotspots.analysis.HotspotResult`."""
    # Same cells and same distance band as the Gi* map (neighbours within band_m, the cell
    # itself excluded). ``values`` replaces the counts (e.g. rates); ``keep`` limits the cells.
    grid = Grid(result.cell_m, result.shape, result.orientation)
    cx, cy = grid.centres(result.cell_ix, result.cell_iy)
    sel = np.ones(len(result), dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    xy = np.column_stack([cx, cy])[sel]
    count = result.count[sel].astype(float)
    vals = count if values is None else np.asarray(values, dtype=float).ravel()
    nb = distance_band_neighbours(xy, result.band_m)
    res = local_moran(vals, nb, permutations=permutations, seed=seed, alpha=alpha, fdr=fdr)
    ids = [c for c, s in zip(result.cell_ids(), sel.tolist(), strict=True) if s]
    band = f"{result.band_m:,.0f}"
    note = lisa_explanation(
        res, "格网", "cells", f"{band} 米距离阈值内的格网为邻居（与 Gi* 相同）",
        f"neighbours within the {band} m band (as for Gi*)",
    )
    return LisaMap(
        unit="cells",
        ids=ids,
        names=[None] * len(ids),
        polygons=np.asarray(result.cells, dtype=object)[sel],
        value=vals,
        count=count,
        result=res,
        explanations=[*(e for e in result.explanations if e.key != "result"), note],
        settings={
            "cell_m": result.cell_m, "band_m": result.band_m, "shape": result.shape,
            "epsg": result.epsg, **(settings or {}),
        },
    )
