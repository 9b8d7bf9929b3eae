"""Emerging Hot Spot Analysis: space-time Gi*, Mann-Kendall trends and Esri's 17 patterns.

Input is a space-time cube of counts, ``counts[location, step]``, with the locations' projected
centres. Space-time Gi* treats every bin as a feature whose neighbours are the bins of the
locations within the distance band (itself included) in the same step and the ``time_window``
previous steps (Esri's Neighborhood Time Step, default 1). The global mean and S come from the
whole cube (Esri's "entire cube" global window). p-values are two-sided; the FDR-corrected bins
(BH at α 0.10/0.05/0.01, applied over all bins of the cube) mark a bin hot (bin > 0) or cold
(bin < 0) at ≥ 90 % confidence. The original Mann-Kendall test (two-sided, α = 0.05 by default,
normal approximation with tie correction and continuity correction) runs on each location's
Gi* z series (for the pattern) and on its raw counts (for reporting).

Patterns follow Esri's definitions; where two could apply, the first in Esri's list wins
(new, consecutive, intensifying, persistent, diminishing, sporadic, oscillating, historical):

* new: hot in the final step and never hot before;
* consecutive: one uninterrupted run of ≥ 2 hot bins ending at the final step, never hot
  before the run, and < 90 % of the bins hot;
* intensifying / persistent / diminishing: hot in ≥ 90 % of the steps including the final one,
  with a significant upward / no significant / a significant downward z trend;
* sporadic: hot in the final step, < 90 % hot, hot before the final run, never cold;
* oscillating: hot in the final step, < 90 % hot, cold in some earlier step;
* historical: not hot in the final step but hot in ≥ 90 % of the steps.

Cold patterns mirror these (an intensifying cold spot has a significant *downward* z trend).
Hot patterns are checked before cold ones (Esri's list order); this only matters for a location
hot in ≥ 90 % of the steps whose final step is cold, which is a historical hot spot.
Esri's ``CATEGORY`` codes: 1…8 for the hot patterns in that order, −1…−8 for cold, 0 for none.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from gis.hotspots.errors import HotspotInputError
from gis.hotspots.gistar import distance_band_pairs, fdr_bins, raw_bins, two_sided_p
from gis.hotspots.grid import Grid, count_points

Trend = Literal["increasing", "decreasing", "no trend"]
MIN_STEPS = 10  # Esri requires at least ten time steps for emerging hot spot analysis
MK_CHUNK = 4_000_000  # elements of the pairwise-difference block per chunk

# key: (CATEGORY code, English pattern name, Chinese pattern name)
CATEGORIES: dict[str, tuple[int, str, str]] = {
    "new_hot": (1, "New Hot Spot", "新增热点"),
    "consecutive_hot": (2, "Consecutive Hot Spot", "连续热点"),
    "intensifying_hot": (3, "Intensifying Hot Spot", "加剧热点"),
    "persistent_hot": (4, "Persistent Hot Spot", "持续热点"),
    "diminishing_hot": (5, "Diminishing Hot Spot", "减弱热点"),
    "sporadic_hot": (6, "Sporadic Hot Spot", "零星热点"),
    "oscillating_hot": (7, "Oscillating Hot Spot", "振荡热点"),
    "historical_hot": (8, "Historical Hot Spot", "历史热点"),
    "new_cold": (-1, "New Cold Spot", "新增冷点"),
    "consecutive_cold": (-2, "Consecutive Cold Spot", "连续冷点"),
    "intensifying_cold": (-3, "Intensifying Cold Spot", "加剧冷点"),
    "persistent_cold": (-4, "Persistent Cold Spot", "持续冷点"),
    "diminishing_cold": (-5, "Diminishing Cold Spot", "减弱冷点"),
    "sporadic_cold": (-6, "Sporadic Cold Spot", "零星冷点"),
    "oscillating_cold": (-7, "Oscillating Cold Spot", "振荡冷点"),
    "historical_cold": (-8, "Historical Cold Spot", "历史冷点"),
    "no_pattern": (0, "No Pattern Detected", "无明显模式"),
}


def _at_least_90(k: int, n: int) -> bool:
    return 10 * k >= 9 * n  # integer form of k/n ≥ 0.9


def _classify_side(sig: NDArray[np.bool_], opposite: NDArray[np.bool_], trend: str,
                   up: str, side: str) -> str | None:
    """Pattern for one side (``sig`` = significant on that side), or None."""
    n = sig.size
    total = int(sig.sum())
    mostly = _at_least_90(total, n)
    if not sig[-1]:
        return f"historical_{side}" if mostly else None
    if total == 1:
        return f"new_{side}"
    run = n - int(np.flatnonzero(~sig)[-1]) - 1 if (~sig).any() else n
    if not mostly and run >= 2 and total == run:
        return f"consecutive_{side}"
    if mostly:
        if trend == up:
            return f"intensifying_{side}"
        if trend == "no trend":
            return f"persistent_{side}"
        return f"diminishing_{side}"
    if not opposite.any():
        return f"sporadic_{side}"
    return f"oscillating_{side}"


def classify(z_series_bins: ArrayLike, mk_trend: str) -> str:
    """Esri pattern key (see :data:`CATEGORIES`) of one location's bins and z-series MK trend."""
    # z_series_bins: the location's Gi* bins per time step (−3…3, oldest first; > 0 hot,
    # < 0 cold). mk_trend: Mann-Kendall on its z series, "increasing" | "decreasing" |
    # "no trend".
    bins = np.asarray(z_series_bins)
    if bins.ndim != 1 or bins.size == 0:
        raise ValueError("z_series_bins must be a non-empty 1-D sequence")
    if mk_trend not in ("increasing", "decreasing", "no trend"):
        raise ValueError(f"unknown Mann-Kendall trend {mk_trend!r}")
    hot, cold = bins > 0, bins < 0
    found = _classify_side(hot, cold, mk_trend, "increasing", "hot")
    if found is not None:
        return found
    found = _classify_side(cold, hot, mk_trend, "decreasing", "cold")
    return found if found is not None else "no_pattern"


@dataclass(frozen=True)
class MannKendall:
    """Original Mann-Kendall results, one entry per series (row)."""

    trend: NDArray[np.str_]
    z: NDArray[np.float64]
    p: NDArray[np.float64]
    tau: NDArray[np.float64]
    s: NDArray[np.float64]
    var_s: NDArray[np.float64]
    slope: NDArray[np.float64]  # Sen's slope per time step


def mann_kendall(series: ArrayLike, alpha: float = 0.05) -> MannKendall:
    """Original Mann-Kendall test on each row of ``series`` (1-D input is one series)."""
    data = np.atleast_2d(np.asarray(series, dtype=float))
    m, n = data.shape
    if n < 3:
        raise HotspotInputError("时间步太少（少于 3 个），无法做趋势检验。",
                                "Fewer than 3 time steps; no trend test is possible.")
    iu, ju = np.triu_indices(n, k=1)
    s = np.empty(m)
    slope = np.empty(m)
    step = max(1, MK_CHUNK // iu.size)
    for a in range(0, m, step):
        diff = data[a : a + step, ju] - data[a : a + step, iu]
        s[a : a + step] = np.sign(diff).sum(axis=1)
        slope[a : a + step] = np.median(diff / (ju - iu), axis=1)
    # Tie correction Σ t(t−1)(2t+5) over groups of equal values, vectorised by sorting rows.
    srt = np.sort(data, axis=1)
    new_group = np.ones((m, n), dtype=bool)
    new_group[:, 1:] = srt[:, 1:] != srt[:, :-1]
    flat_starts = np.flatnonzero(new_group.ravel())
    lengths = np.diff(np.append(flat_starts, m * n))
    rows = flat_starts // n
    ties = np.bincount(rows, weights=lengths * (lengths - 1) * (2 * lengths + 5), minlength=m)
    var_s = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    z = np.zeros(m)
    pos, neg = (s > 0) & (var_s > 0), (s < 0) & (var_s > 0)
    z[pos] = (s[pos] - 1) / np.sqrt(var_s[pos])
    z[neg] = (s[neg] + 1) / np.sqrt(var_s[neg])
    p = 2.0 * ndtr(-np.abs(z))
    trend = np.full(m, "no trend", dtype=object)
    trend[(p < alpha) & (z > 0)] = "increasing"
    trend[(p < alpha) & (z < 0)] = "decreasing"
    tau = s / (n * (n - 1) / 2.0)
    return MannKendall(trend.astype(str), z, p, tau, s, var_s, slope)


@dataclass(frozen=True)
class SpaceTimeCube:
    """Counts per (cell, time step) on a grid: the occupied cells, or every cell given."""

    ix: NDArray[np.int64]
    iy: NDArray[np.int64]
    xy: NDArray[np.float64]  # cell centres (metres)
    counts: NDArray[np.int64]  # (cells, steps)


def space_time_cube(
    grid: Grid,
    x: ArrayLike,
    y: ArrayLike,
    step: ArrayLike,
    n_steps: int,
    *,
    cells: tuple[ArrayLike, ArrayLike] | None = None,
) -> SpaceTimeCube:
    """Aggregate projected points with integer time-step indices (0 … n_steps−1) into a cube."""
    # Without ``cells`` only the cells holding an incident are kept (Esri's cube without a
    # study area). With ``cells`` (ids ix, iy, e.g. every cell of the study area) the cube has
    # exactly those rows, in that order, empty ones as zeros; every point must fall in one.
    t = np.asarray(step)
    if t.shape != np.shape(x) or not np.issubdtype(t.dtype, np.integer):
        raise ValueError("step must hold one integer time-step index per point")
    if t.size and (t.min() < 0 or t.max() >= n_steps):
        raise ValueError("time-step indices must lie in 0 … n_steps − 1")
    if cells is None:
        occ = count_points(grid, x, y)
        ix, iy, row = occ.ix, occ.iy, occ.point_cell
    else:
        ix = np.asarray(cells[0], dtype=np.int64)
        iy = np.asarray(cells[1], dtype=np.int64)
        px, py = grid.cell_of(x, y)
        row = _rows_of(ix, iy, px, py)
    n_cells = ix.size
    flat = np.bincount(row * n_steps + t, minlength=n_cells * n_steps)
    cx, cy = grid.centres(ix, iy)
    return SpaceTimeCube(ix, iy, np.column_stack([cx, cy]), flat.reshape(n_cells, n_steps))


def _rows_of(
    ix: NDArray[np.int64], iy: NDArray[np.int64], px: NDArray[np.int64], py: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Row of each point's cell ``(px, py)`` among the cells ``(ix, iy)`` (O((n + m) log m))."""
    if ix.size == 0:
        if px.size:
            raise ValueError("points fall outside the given cells")
        return np.zeros(0, dtype=np.int64)
    lo_i = min(int(ix.min()), int(px.min()) if px.size else 0)
    lo_j = min(int(iy.min()), int(py.min()) if py.size else 0)
    span = max(int(ix.max()), int(px.max()) if px.size else 0) - lo_i + 1
    key = (iy - lo_j) * span + (ix - lo_i)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    if np.any(sorted_key[1:] == sorted_key[:-1]):
        raise ValueError("the given cells repeat")
    pkey = (py - lo_j) * span + (px - lo_i)
    pos = np.searchsorted(sorted_key, pkey)
    pos_c = np.minimum(pos, sorted_key.size - 1)
    if np.any(sorted_key[pos_c] != pkey):
        raise ValueError("points fall outside the given cells")
    return order[pos_c].astype(np.int64)


def space_time_gi_star(
    counts: ArrayLike, xy: ArrayLike, band: float, *, time_window: int = 1
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Space-time Gi* z and two-sided p for every bin of a (locations × steps) cube."""
    x = np.asarray(counts, dtype=float)
    if x.ndim != 2:
        raise ValueError("counts must be a (locations, steps) array")
    n_loc, n_steps = x.shape
    if time_window < 0:
        raise ValueError("time_window must be ≥ 0")
    pts = np.asarray(xy, dtype=float)
    if pts.shape != (n_loc, 2):
        raise ValueError("xy must hold one (x, y) per location")
    i, j = distance_band_pairs(pts, band)
    # Spatial window sums per step, self included.
    spatial = x.copy()
    np.add.at(spatial, i, x[j])
    np.add.at(spatial, j, x[i])
    k_space = 1 + np.bincount(i, minlength=n_loc) + np.bincount(j, minlength=n_loc)
    # Temporal window: steps t − time_window … t.
    csum = np.concatenate([np.zeros((n_loc, 1)), np.cumsum(spatial, axis=1)], axis=1)
    t = np.arange(n_steps)
    lo = np.maximum(t - time_window, 0)
    local = csum[:, t + 1] - csum[:, lo]
    k = k_space[:, None] * (t - lo + 1)[None, :].astype(float)
    n = x.size
    mean = x.mean()
    sd = np.sqrt(np.mean((x - mean) ** 2))
    if not sd > 1e-12 * max(1.0, abs(mean)):
        raise HotspotInputError("时空立方体中所有值都相同，无法计算 Gi*。",
                                "Every bin of the space-time cube holds the same value.")
    denom = sd * np.sqrt(np.maximum(n * k - k * k, 0.0) / (n - 1))
    z = np.zeros_like(local)
    ok = denom > 0
    z[ok] = (local[ok] - mean * k[ok]) / denom[ok]
    return z, two_sided_p(z)


@dataclass(frozen=True)
class EmergingResult:
    """Per-bin Gi* and per-location trends and patterns of a space-time cube."""

    z: NDArray[np.float64]  # (locations, steps)
    p: NDArray[np.float64]
    bins: NDArray[np.int8]
    trend_z: MannKendall  # Mann-Kendall on each location's Gi* z series
    trend_counts: MannKendall  # Mann-Kendall on each location's raw counts
    pattern: list[str]  # CATEGORIES keys

    @property
    def category(self) -> NDArray[np.int64]:
        """Esri's integer ``CATEGORY`` per location."""
        return np.array([CATEGORIES[k][0] for k in self.pattern], dtype=np.int64)

    def pattern_names(self, lang: str = "en") -> list[str]:
        """Esri's ``PATTERN`` text per location in English (``"en"``) or Chinese (``"zh"``)."""
        col = 1 if lang == "en" else 2
        return [str(CATEGORIES[k][col]) for k in self.pattern]

    def tally(self) -> dict[str, int]:
        """Number of locations per pattern key (patterns with none left out)."""
        return dict(Counter(self.pattern))


def classify_cube(
    z: ArrayLike, bins: ArrayLike, counts: ArrayLike | None = None, *, alpha: float = 0.05
) -> EmergingResult:
    """Patterns from precomputed Gi* ``z`` and ``bins`` (locations × steps)."""
    zz = np.asarray(z, dtype=float)
    bb = np.asarray(bins)
    if zz.shape != bb.shape or zz.ndim != 2:
        raise ValueError("z and bins must be (locations, steps) arrays of the same shape")
    mk_z = mann_kendall(zz, alpha)
    mk_c = mann_kendall(zz if counts is None else np.asarray(counts, dtype=float), alpha)
    pattern = [classify(bb[r], str(mk_z.trend[r])) for r in range(zz.shape[0])]
    p = two_sided_p(zz)
    return EmergingResult(zz, p, bb.astype(np.int8), mk_z, mk_c, pattern)


def emerging_hotspots(
    counts: ArrayLike,
    xy: ArrayLike,
    band: float,
    *,
    time_window: int = 1,
    alpha: float = 0.05,
    fdr: bool = True,
    min_steps: int = MIN_STEPS,
) -> EmergingResult:
    """Emerging Hot Spot Analysis of a (locations × steps) count cube at projected ``xy``."""
    x = np.asarray(counts, dtype=float)
    if x.ndim != 2:
        raise ValueError("counts must be a (locations, steps) array")
    if x.shape[1] < min_steps:
        raise HotspotInputError(
            f"时间步只有 {x.shape[1]} 个，新兴热点分析至少需要 {min_steps} 个。",
            f"Only {x.shape[1]} time steps; emerging hot spot analysis needs at least "
            f"{min_steps}.",
        )
    z, p = space_time_gi_star(x, xy, band, time_window=time_window)
    bins = (fdr_bins(z.ravel(), p.ravel()) if fdr else raw_bins(z.ravel(), p.ravel()))
    bins = bins.reshape(z.shape)
    mk_z = mann_kendall(z, alpha)
    mk_c = mann_kendall(x, alpha)
    pattern = [classify(bins[r], str(mk_z.trend[r])) for r in range(x.shape[0])]
    return EmergingResult(z, p, bins, mk_z, mk_c, pattern)
