"""OHSA-style automatic settings (cell size, distance band) and minimum-data checks.

Each choice comes back with an :class:`~gis.hotspots.errors.Explanation` in Chinese and English.

**Cell size** (an approximation: Esri's OHSA formula lives in an unpublished internal function).
On the *unique* incident locations, nearest-neighbour (NN) distances d_i are computed and
locational outliers, d_i > mean(d) + 3·SD(d), are set aside. With d̄ the mean NN distance of
the rest, A the study area (the boundary's area, else the convex hull of the non-outlier
locations), n the number of incidents and a = 1 (square) or √3/2 (hexagon) the cell-area
factor::

    cell = max(2·d̄, sqrt(A / (a·n)))      rounded to two significant figures

Under complete spatial randomness 2·d̄ ≈ sqrt(A/n), so both terms describe a lattice holding
about one incident per cell; the second term keeps clustered data (tiny d̄) from producing a
grid of single-incident cells.

**Distance band** (as ArcGIS OHSA does it, on the analysed cells and their counts).
Incremental spatial autocorrelation: global Moran's I (row-standardised binary distance-band
weights, z under randomisation) at 10 distances starting at the largest non-outlier NN distance
(so every cell has a neighbour) and growing by the mean NN distance; if that overshoots one
standard distance the 10 steps are spread evenly up to it instead. Distances with more than 500
neighbours per cell on average are skipped, and the computation stops at the first peak.
The band is the **first peak**: the first z that follows a rise and precedes a fall, with
z > 1.65 and (our addition, see :func:`peak_indices`) no earlier z higher. Without a peak, the
band is the mean distance to the K-th nearest neighbour, K = 5 % of the cells clamped to
[3, 30], capped at one standard distance. Either way it is floored at 0.1 % of the extent's
diagonal.

**Minimums** (ArcGIS's): 30 incidents with a bounding polygon, 60 without (Esri doubles it,
since only occupied cells are then analysed); at least 30 cells; non-zero variance of counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from gis.hotspots.errors import Explanation, HotspotInputError
from gis.hotspots.gistar import BAND_TOLERANCE

OUTLIER_SD = 3.0
N_INCREMENTS = 10
PEAK_LEVEL = 1.65
MAX_MEAN_NEIGHBOURS = 500
MAX_PAIRS = 20_000_000
MIN_INCIDENTS_WITH_BOUNDARY = 30
MIN_INCIDENTS_WITHOUT_BOUNDARY = 60
MIN_CELLS = 30
HEX_AREA_FACTOR = math.sqrt(3.0) / 2.0


def round_sig(value: float, digits: int = 2) -> float:
    """Round a positive number to ``digits`` significant figures."""
    if value <= 0 or not math.isfinite(value):
        return value
    exp = math.floor(math.log10(value))
    return round(value, -exp + digits - 1)


def fmt_m(value: float) -> str:
    """A distance in metres as text: thousands separators, one decimal below 100 m."""
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def unique_xy(xy: ArrayLike) -> NDArray[np.float64]:
    """Distinct locations of an (n, 2) array."""
    return np.unique(np.asarray(xy, dtype=float), axis=0)


def nn_distances(xy: ArrayLike) -> NDArray[np.float64]:
    """Distance from each point to its nearest *other* point (pass distinct locations)."""
    pts = np.asarray(xy, dtype=float)
    if len(pts) < 2:
        return np.zeros(len(pts))
    d, _ = cKDTree(pts).query(pts, k=2)
    return d[:, 1]


def outlier_mask(d: ArrayLike, n_sd: float = OUTLIER_SD) -> NDArray[np.bool_]:
    """Locational outliers: NN distance above mean + ``n_sd`` standard deviations (one pass)."""
    d = np.asarray(d, dtype=float)
    if d.size < 3:
        return np.zeros(d.size, dtype=bool)
    return d > d.mean() + n_sd * d.std()


def standard_distance(xy: ArrayLike) -> float:
    """Unweighted standard distance sqrt(σx² + σy²) of a point set."""
    pts = np.asarray(xy, dtype=float)
    return float(np.sqrt(((pts - pts.mean(axis=0)) ** 2).mean(axis=0).sum()))


def extent_diagonal(xy: ArrayLike) -> float:
    """Length of the diagonal of the bounding box of a point set."""
    pts = np.asarray(xy, dtype=float)
    return float(np.hypot(*(pts.max(axis=0) - pts.min(axis=0))))


@dataclass(frozen=True)
class CellChoice:
    """The automatic cell size with the inputs that produced it."""

    cell_m: float
    mean_nn_m: float
    density_m: float
    n_outliers: int
    area_m2: float
    explanation: Explanation
    outliers: Explanation


def choose_cell_size(
    xy: ArrayLike, *, area_m2: float | None = None, shape: str = "hex"
) -> CellChoice:
    """OHSA-style automatic cell size (see module docstring for the formula)."""
    pts = np.asarray(xy, dtype=float)
    n = len(pts)
    uniq = unique_xy(pts)
    if len(uniq) < 3:
        raise HotspotInputError(
            "事件点的不同位置少于 3 个，无法确定格网大小。",
            "Fewer than 3 distinct incident locations; the cell size cannot be estimated.",
        )
    d = nn_distances(uniq)
    out = outlier_mask(d)
    kept = uniq[~out]
    mean_nn = float(d[~out].mean())
    if area_m2 is None:
        area_m2 = float(shapely.convex_hull(shapely.multipoints(kept)).area)
    factor = 1.0 if shape == "square" else HEX_AREA_FACTOR
    density = math.sqrt(area_m2 / (factor * n)) if area_m2 > 0 else 0.0
    raw = max(2.0 * mean_nn, density)
    if raw <= 0:
        raise HotspotInputError(
            "事件点位置过于集中，无法确定格网大小，请手动指定。",
            "The incidents are too concentrated to estimate a cell size; give one explicitly.",
        )
    cell = round_sig(raw, 2)
    what_zh = "六边形相邻格心间距" if shape == "hex" else "正方形格网边长"
    what_en = "hexagon centre spacing" if shape == "hex" else "square cell side"
    explanation = Explanation(
        key="cell_size",
        zh=(
            f"{what_zh}自动取 {fmt_m(cell)} 米：取“2×平均最近邻距离”（{fmt_m(2 * mean_nn)} 米）"
            f"与“研究区面积下每格约 1 个事件的尺寸”（{fmt_m(density)} 米）中的较大者，"
            "保留两位有效数字。此公式为近似，Esri 的原始算法未公开。"
        ),
        en=(
            f"The {what_en} was set automatically to {fmt_m(cell)} m: the larger of twice the "
            f"mean nearest-neighbour distance ({fmt_m(2 * mean_nn)} m) and the size giving about "
            f"one incident per cell over the study area ({fmt_m(density)} m), rounded to two "
            "significant figures. This approximates Esri's unpublished formula."
        ),
        value=cell,
        details={"mean_nn_m": mean_nn, "density_m": density, "area_m2": area_m2},
    )
    n_out = int(out.sum())
    outliers = Explanation(
        key="locational_outliers",
        zh=(
            f"识别出 {n_out} 个位置离群点（最近邻距离超过均值加 3 倍标准差），"
            "在确定格网大小时不予考虑，但仍参与计数。"
        ),
        en=(
            f"{n_out} locational outlier(s) (nearest-neighbour distance above the mean plus "
            "3 standard deviations) were set aside when sizing the grid; they are still counted."
        ),
        value=n_out,
    )
    return CellChoice(cell, mean_nn, density, n_out, float(area_m2), explanation, outliers)


@dataclass(frozen=True)
class IncrementalMoran:
    """Global Moran's I and its z-score at increasing distance bands."""

    distances: NDArray[np.float64]
    moran_i: NDArray[np.float64]
    z: NDArray[np.float64]
    mean_neighbours: NDArray[np.float64]


def _moran_z(
    values: NDArray[np.float64],
    deg: NDArray[np.int64],
    lag: NDArray[np.float64],
    col_inv: NDArray[np.float64],
) -> tuple[float, float]:
    """Moran's I and randomisation z from degrees, lag sums Σ_N(i) y and Σ_N(i) 1/deg."""
    # Row-standardised binary weights w_ij = 1/deg_i; features without neighbours left out.
    # Returns (nan, nan) when fewer than four features have neighbours or the variance vanishes.
    has = deg > 0
    n = int(has.sum())
    if n < 4:
        return math.nan, math.nan
    x = values[has]
    mean = x.mean()
    zdev = x - mean
    m2 = float((zdev**2).sum())
    if m2 <= 0:
        return math.nan, math.nan
    d = deg[has].astype(float)
    inv = 1.0 / d
    s0 = float(n)
    cross = float((inv * zdev * (lag[has] - d * mean)).sum())  # Σ_ij w_ij z_i z_j
    moran = (n / s0) * cross / m2
    s1 = float(inv.sum() + (inv * col_inv[has]).sum())  # ½ Σ (w_ij + w_ji)²
    s2 = float(((1.0 + col_inv[has]) ** 2).sum())  # Σ (w_i. + w_.i)²
    b2 = n * float((zdev**4).sum()) / m2**2
    e_i = -1.0 / (n - 1)
    left = n * ((n * n - 3 * n + 3) * s1 - n * s2 + 3 * s0 * s0)
    right = b2 * ((n * n - n) * s1 - 2 * n * s2 + 6 * s0 * s0)
    e_i2 = (left - right) / ((n - 1) * (n - 2) * (n - 3) * s0 * s0)
    var = e_i2 - e_i * e_i
    if not var > 0:
        return moran, math.nan
    return moran, (moran - e_i) / math.sqrt(var)


def _col_inv(
    deg: NDArray[np.int64], i: NDArray[np.int64], j: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Σ_{j∈N(i)} 1/deg_j for every feature, from i<j pairs."""
    inv = np.zeros(deg.size)
    inv[deg > 0] = 1.0 / deg[deg > 0]
    out = np.bincount(i, weights=inv[j], minlength=deg.size)
    out += np.bincount(j, weights=inv[i], minlength=deg.size)
    return out


def moran_from_pairs(
    values: NDArray[np.float64], i: NDArray[np.int64], j: NDArray[np.int64]
) -> tuple[float, float]:
    """Global Moran's I and randomisation z (row-standardised, from i<j pairs; islands left out)."""
    n = values.size
    deg = np.bincount(i, minlength=n) + np.bincount(j, minlength=n)
    lag = np.bincount(i, weights=values[j], minlength=n)
    lag += np.bincount(j, weights=values[i], minlength=n)
    return _moran_z(values, deg, lag, _col_inv(deg, i, j))


def isa_distances(xy: ArrayLike) -> NDArray[np.float64]:
    """The 10 ISA distances: start at the largest non-outlier NN distance, step the mean NN."""
    pts = np.asarray(xy, dtype=float)
    d = nn_distances(pts)
    out = outlier_mask(d)
    begin = float(d[~out].max())
    step = float(d[~out].mean())
    max_dist = standard_distance(pts)
    cutoffs = begin + step * np.arange(N_INCREMENTS)
    if cutoffs[-1] > max_dist:
        if begin > max_dist:
            begin = 0.2 * max_dist
        cutoffs = np.linspace(begin, max_dist, N_INCREMENTS)
    return cutoffs


def incremental_moran(
    xy: ArrayLike,
    values: ArrayLike,
    distances: ArrayLike | None = None,
    *,
    stop_at_first_peak: bool = False,
) -> IncrementalMoran:
    """Incremental spatial autocorrelation (global Moran's I z over increasing bands)."""
    pts = np.asarray(xy, dtype=float)
    vals = np.asarray(values, dtype=float)
    dists = isa_distances(pts) if distances is None else np.asarray(distances, dtype=float)
    n = len(pts)
    tree = cKDTree(pts)
    reach = dists * (1.0 + BAND_TOLERANCE)  # lattice neighbours exactly at a distance count
    # Neighbour counts per distance, estimated from an evenly strided sample of ≤ 2,000 points.
    sample = pts[:: max(1, n // 2_000)]
    within = np.asarray(cKDTree(sample).count_neighbors(tree, reach), dtype=float)
    mean_nb = within / len(sample) - 1.0
    usable = (mean_nb <= MAX_MEAN_NEIGHBOURS) & (mean_nb * n / 2 <= MAX_PAIRS)
    moran = np.full(dists.size, np.nan)
    z = np.full(dists.size, np.nan)
    if not usable.any():
        return IncrementalMoran(dists, moran, z, mean_nb)
    far = float(reach[usable].max())
    pairs = tree.query_pairs(far, output_type="ndarray")
    dx = pts[pairs[:, 0], 0] - pts[pairs[:, 1], 0]
    dy = pts[pairs[:, 0], 1] - pts[pairs[:, 1], 1]
    # Group pairs by the first distance that holds them (a radix sort on small ints), so that
    # each band adds one shell of pairs and every band is a prefix of the sorted list.
    shell = np.searchsorted(reach * reach, dx * dx + dy * dy, side="left").astype(np.int16)
    order = np.argsort(shell, kind="stable")
    pi, pj = pairs[order, 0], pairs[order, 1]
    ends = np.searchsorted(shell[order], np.arange(dists.size), side="right")
    deg = np.zeros(n, dtype=np.int64)
    lag = np.zeros(n)
    start = 0
    for idx in range(dists.size):
        si, sj = pi[start : ends[idx]], pj[start : ends[idx]]
        deg += np.bincount(si, minlength=n) + np.bincount(sj, minlength=n)
        lag += np.bincount(si, weights=vals[sj], minlength=n)
        lag += np.bincount(sj, weights=vals[si], minlength=n)
        start = ends[idx]
        if not usable[idx]:
            continue
        col = _col_inv(deg, pi[:start], pj[:start])
        moran[idx], z[idx] = _moran_z(vals, deg, lag, col)
        if stop_at_first_peak and peak_indices(z[: idx + 1])[0] is not None:
            break
    return IncrementalMoran(dists, moran, z, mean_nb)


def peak_indices(z: ArrayLike, level: float = PEAK_LEVEL) -> tuple[int | None, int | None]:
    """Indices of the first and the highest peak of an ISA z curve (None when there is none)."""
    # A peak is a value reached by a rise that the next value falls from, above ``level`` (1.65)
    # and not below any earlier z. The last condition is ours, not ArcGIS's: when z is highest
    # at the smallest distance and only wobbles later, a late bump is noise, not a scale.
    vals = np.asarray(z, dtype=float)
    peaks: list[int] = []
    gone_up = False
    best = -np.inf
    for k in range(vals.size - 1):
        a, b = vals[k], vals[k + 1]
        if not (np.isfinite(a) and np.isfinite(b)):
            gone_up = False
            continue
        if b > a:
            gone_up = True
        elif b < a:
            if gone_up and a > level and a >= best:
                peaks.append(k)
            gone_up = False
        best = max(best, a)
    if not peaks:
        return None, None
    return peaks[0], max(peaks, key=lambda k: vals[k])


def knn_band(xy: ArrayLike) -> tuple[float, int, bool]:
    """Mean distance to the K-th nearest neighbour (K = 5 % of n in [3, 30]), capped at SD."""
    pts = np.asarray(xy, dtype=float)
    n = len(pts)
    k = int(min(max(int(n * 0.05), 3), 30, n - 1))
    d, _ = cKDTree(pts).query(pts, k=k + 1)
    mean_k = float(d[:, k].mean())
    sd = standard_distance(pts)
    if mean_k > sd:
        return sd, k, True
    return mean_k, k, False


@dataclass(frozen=True)
class BandChoice:
    """The automatic distance band, how it was found, and the ISA curve when one was run."""

    band_m: float
    method: str  # "first_peak" | "knn" | "knn_capped"
    explanation: Explanation
    isa: IncrementalMoran | None = None
    floored: bool = False


def choose_band(xy: ArrayLike, values: ArrayLike) -> BandChoice:
    """OHSA-style distance band for values at points (see module docstring)."""
    pts = np.asarray(xy, dtype=float)
    vals = np.asarray(values, dtype=float)
    floor = 0.001 * extent_diagonal(pts)
    isa = incremental_moran(pts, vals, stop_at_first_peak=True)
    first, _ = peak_indices(isa.z)
    if first is not None:
        band = float(isa.distances[first])
        method = "first_peak"
        zh = (
            f"距离阈值自动取 {fmt_m(math.ceil(band))} 米：增量空间自相关（全局 Moran's I）"
            f"在该距离出现第一个峰值（z = {isa.z[first]:.2f}）。"
        )
        en = (
            f"The distance band was set automatically to {fmt_m(math.ceil(band))} m, the first "
            f"peak of incremental spatial autocorrelation (global Moran's I, z = "
            f"{isa.z[first]:.2f})."
        )
    else:
        band, k, capped = knn_band(pts)
        method = "knn_capped" if capped else "knn"
        zh = (
            "增量空间自相关未出现峰值；"
            + (
                f"距离阈值取标准距离 {fmt_m(math.ceil(band))} 米（第 {k} 近邻平均距离超过了它）。"
                if capped
                else f"距离阈值取到第 {k} 个最近邻的平均距离 {fmt_m(math.ceil(band))} 米。"
            )
        )
        en = "Incremental spatial autocorrelation found no peak; " + (
            f"the distance band is one standard distance, {fmt_m(math.ceil(band))} m (the mean "
            f"distance to the {k}th nearest neighbour exceeded it)."
            if capped
            else f"the distance band is the mean distance to the {k}th nearest neighbour, "
            f"{fmt_m(math.ceil(band))} m."
        )
    floored = band < floor
    if floored:
        band = floor
        zh += f"该值小于范围对角线的 0.1%，改用 {fmt_m(math.ceil(band))} 米。"
        en += f" It was raised to 0.1% of the extent diagonal, {fmt_m(math.ceil(band))} m."
    band = float(math.ceil(band))
    explanation = Explanation(
        key="distance_band", zh=zh, en=en, value=band,
        details={"method": method, "floor_m": floor},
    )
    return BandChoice(band, method, explanation, isa, floored)


def check_incidents(n: int, *, has_boundary: bool) -> None:
    """Raise :class:`HotspotInputError` if there are too few incidents for OHSA."""
    need = MIN_INCIDENTS_WITH_BOUNDARY if has_boundary else MIN_INCIDENTS_WITHOUT_BOUNDARY
    if n < need:
        where_zh = (
            "（有研究区边界时）" if has_boundary else "（无研究区边界时，只分析有事件的格网）"
        )
        where_en = (
            " with a study-area boundary"
            if has_boundary
            else " without a study-area boundary (only occupied cells are analysed)"
        )
        raise HotspotInputError(
            f"事件点太少：共 {n} 个，热点分析至少需要 {need} 个{where_zh}。",
            f"Too few incidents: {n}; hot spot analysis needs at least {need}{where_en}.",
        )


def check_cells(values: ArrayLike) -> None:
    """Raise :class:`HotspotInputError` for fewer than 30 cells or counts without variance."""
    vals = np.asarray(values, dtype=float)
    if vals.size < MIN_CELLS:
        raise HotspotInputError(
            f"汇总后只有 {vals.size} 个格网，至少需要 {MIN_CELLS} 个；请减小格网或扩大研究区。",
            f"Only {vals.size} cells after aggregation; at least {MIN_CELLS} are needed. "
            "Use smaller cells or a larger study area.",
        )
    var = float(np.var(vals))
    if not np.isfinite(var) or var <= 1e-12:
        raise HotspotInputError(
            "所有格网的事件数都相同（方差为零），无法识别热点；请调整格网大小或研究区。",
            "Every cell holds the same number of incidents (zero variance), so no hot spot can "
            "be found; change the cell size or the study area.",
        )


def smallest_band(cell_m: float) -> float:
    """The smallest sensible distance band on a grid: the spacing of adjacent cell centres."""
    return float(cell_m)


def check_band(band_m: float, cell_m: float, shape: str = "hex") -> None:
    """Refuse a band below the cell spacing, naming the smallest sensible band (zh and en)."""
    # Below the spacing no cell has a neighbour, so each Gi* window holds the cell alone and
    # the z-score is only the cell's standardised count, not a hot spot statistic.
    least = smallest_band(cell_m)
    if band_m * (1.0 + BAND_TOLERANCE) >= least:
        return
    eight = least * math.sqrt(2.0) if shape == "square" else least * math.sqrt(3.0)
    reach_zh = "8 个（含对角）" if shape == "square" else "12 个（两圈）"
    reach_en = "8 (diagonals included)" if shape == "square" else "12 (two rings)"
    raise HotspotInputError(
        f"距离阈值 {fmt_m(band_m)} 米小于格网间距 {fmt_m(least)} 米：格网没有任何相邻格网，"
        f"结果只是标准化的计数，不是热点统计量。最小合理的距离阈值为 {fmt_m(least)} 米"
        f"（相邻格网中心的距离）；取 {fmt_m(math.ceil(eight))} 米时每个格网有 {reach_zh}相邻格网。",
        f"The distance band of {fmt_m(band_m)} m is below the cell spacing of {fmt_m(least)} m: "
        "no cell would have a neighbour, so the result would be a standardised count, not a hot "
        f"spot statistic. The smallest sensible band is {fmt_m(least)} m (the distance between "
        f"adjacent cell centres); {fmt_m(math.ceil(eight))} m gives each cell {reach_en} "
        "neighbours.",
    )
