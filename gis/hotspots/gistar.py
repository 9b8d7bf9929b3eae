"""Getis-Ord Gi* with binary fixed-distance-band weights, as ArcGIS computes ``GiZScore``.

For feature *i* with value x_i, the neighbours *j* are every feature within the distance band,
*i itself included* (w_ij ∈ {0, 1}, w_ii = 1). With n features, mean X̄ and
S = sqrt(Σx²/n − X̄²)::

    Gi* = (Σ_j w_ij x_j − X̄ Σ_j w_ij) / (S · sqrt((n Σ_j w_ij² − (Σ_j w_ij)²) / (n − 1)))

which is the z-score ArcGIS writes as ``GiZScore`` and equals esda's
``G_Local(y, w, transform='B', star=True).Zs``. p-values are two-sided under the normal
(``GiPValue``). Binary weights need only each feature's neighbour count k_i and neighbourhood
sum, so the whole computation is one KD-tree pair search plus two ``bincount`` calls.

Significance bins follow ArcGIS's ``Gi_Bin``: ±3/±2/±1 for 99/95/90 % confidence, the sign
of z; with FDR, the Benjamini-Hochberg step-up procedure is run separately at α = 0.10, 0.05
and 0.01 (Esri's ``Stats.fdrTransform``), and a feature gets the highest level it passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree
from scipy.special import ndtr

from gis.hotspots.errors import HotspotInputError

ALPHAS: tuple[float, float, float] = (0.10, 0.05, 0.01)
BAND_TOLERANCE = 1e-9  # relative: lattice neighbours exactly at the band count as inside
FDR_TOLERANCE = 1e-12  # relative: a p-value exactly at rank/n·α passes despite float rounding
PERMUTATION_CHUNK = 4_000_000  # elements per chunk of the conditional permutation


def distance_band_pairs(
    xy: ArrayLike, band: float
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """All pairs i < j of points no further than ``band`` apart (the self pair excluded)."""
    pts = np.asarray(xy, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError("xy must be an (n, 2) array")
    if not np.isfinite(band) or band <= 0:
        raise HotspotInputError("距离阈值必须为正数。", "The distance band must be positive.")
    tree = cKDTree(pts)
    pairs = tree.query_pairs(band * (1.0 + BAND_TOLERANCE), output_type="ndarray")
    return pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)


def neighbour_sums(
    y: NDArray[np.float64], i: NDArray[np.int64], j: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Gi* window sums Σ_j w_ij y_j and counts Σ_j w_ij (self included) from i<j pairs."""
    n = y.size
    local = y + np.bincount(i, weights=y[j], minlength=n)
    local += np.bincount(j, weights=y[i], minlength=n)
    k = 1 + np.bincount(i, minlength=n) + np.bincount(j, minlength=n)
    return local, k.astype(np.int64)


def gi_star_z(
    local_sum: NDArray[np.float64], k: NDArray[np.float64], y: NDArray[np.float64]
) -> NDArray[np.float64]:
    """ArcGIS's Gi* z-score from window sums, binary window sizes and all values (n = y.size)."""
    n = y.size
    mean = y.mean()
    s = np.sqrt(np.mean((y - mean) ** 2))
    if not np.isfinite(s) or s <= 1e-12 * max(1.0, abs(mean)):
        raise HotspotInputError(
            "所有值都相同（方差为零），无法计算热点统计量。",
            "All values are identical (zero variance); Gi* cannot be computed.",
        )
    k = np.asarray(k, dtype=float)
    denom = s * np.sqrt(np.maximum(n * k - k * k, 0.0) / (n - 1))
    num = local_sum - mean * k
    z = np.zeros_like(num)
    ok = denom > 0
    z[ok] = num[ok] / denom[ok]  # a window holding every feature carries no information: z = 0
    return z


def two_sided_p(z: ArrayLike) -> NDArray[np.float64]:
    """Two-sided normal p-value ``2·(1 − Φ(|z|))``."""
    return 2.0 * ndtr(-np.abs(np.asarray(z, dtype=float)))


def bh_significant(p: ArrayLike, alpha: float) -> NDArray[np.bool_]:
    """Benjamini-Hochberg step-up: which p-values are significant at FDR level ``alpha``."""
    # Sorting the m finite p-values ascending, the largest rank k with p_(k) ≤ k/m·α is found
    # and ranks 1…k are significant (a p-value exactly at its cut-off passes). NaN never does.
    p = np.asarray(p, dtype=float)
    out = np.zeros(p.shape, dtype=bool)
    finite = np.flatnonzero(np.isfinite(p))
    m = finite.size
    if m == 0:
        return out
    order = finite[np.argsort(p[finite], kind="stable")]
    ranked = p[order]
    cutoffs = alpha * np.arange(1, m + 1) / m
    passed = np.flatnonzero(ranked <= cutoffs * (1.0 + FDR_TOLERANCE))
    if passed.size:
        out[order[: passed[-1] + 1]] = True
    return out


def fdr_bins(
    z: ArrayLike, p: ArrayLike, alphas: tuple[float, float, float] = ALPHAS
) -> NDArray[np.int8]:
    """``Gi_Bin`` with FDR: sign(z)·(1|2|3) for BH-significance at α = 0.10 | 0.05 | 0.01."""
    z = np.asarray(z, dtype=float)
    level = np.zeros(z.shape, dtype=np.int8)
    for lvl, alpha in enumerate(alphas, start=1):
        level[bh_significant(p, alpha)] = lvl
    return (np.sign(np.nan_to_num(z)).astype(np.int8) * level).astype(np.int8)


def raw_bins(
    z: ArrayLike, p: ArrayLike, alphas: tuple[float, float, float] = ALPHAS
) -> NDArray[np.int8]:
    """``Gi_Bin`` without correction: sign(z)·(1|2|3) for p ≤ 0.10 | 0.05 | 0.01."""
    z = np.asarray(z, dtype=float)
    p = np.nan_to_num(np.asarray(p, dtype=float), nan=1.0)
    level = np.zeros(z.shape, dtype=np.int8)
    for lvl, alpha in enumerate(alphas, start=1):
        level[p <= alpha] = lvl
    return (np.sign(np.nan_to_num(z)).astype(np.int8) * level).astype(np.int8)


@dataclass(frozen=True)
class GiStarResult:
    """Per-feature Gi* output; ``n_neighbours`` counts the feature itself (the Gi* window)."""

    z: NDArray[np.float64]
    p: NDArray[np.float64]
    n_neighbours: NDArray[np.int64]
    local_sum: NDArray[np.float64]
    band: float
    p_sim: NDArray[np.float64] | None = None
    z_sim: NDArray[np.float64] | None = None
    permutations: int = 0

    def bins(self, fdr: bool = True, use_sim: bool = False) -> NDArray[np.int8]:
        """``Gi_Bin`` from the analytical p (or the pseudo p with ``use_sim``), FDR or not."""
        p = self.p
        if use_sim:
            if self.p_sim is None:
                raise ValueError("no permutations were run")
            p = self.p_sim
        return fdr_bins(self.z, p) if fdr else raw_bins(self.z, p)


def pseudo_p(
    n_greater_equal: ArrayLike, n_less_equal: ArrayLike, permutations: int
) -> NDArray[np.float64]:
    """Two-sided, tie-aware pseudo p-value ``2·(min(#≥, #≤) + 1) / (P + 1)``, capped at 1."""
    # esda's p_sim folds one-sidedly, (min(#≥, P − #≥) + 1)/(P + 1): P − #≥ counts only the
    # simulations strictly below, so with tied values (integer counts) a low observation looks
    # more extreme than it is, and the one-sided value is then read against two-sided 90/95/99 %
    # bins. Counting ties on both sides and doubling gives a p that is comparable with GiPValue.
    ge = np.asarray(n_greater_equal, dtype=float)
    le = np.asarray(n_less_equal, dtype=float)
    return np.minimum(1.0, 2.0 * (np.minimum(ge, le) + 1.0) / (permutations + 1.0))


def _permute(
    y: NDArray[np.float64],
    local_sum: NDArray[np.float64],
    k: NDArray[np.int64],
    permutations: int,
    seed: int | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Conditional-permutation pseudo p and z (esda's ``crand`` scheme, memory-bounded)."""
    # Feature i keeps its own value and draws k_i − 1 values from the other n − 1 features
    # without replacement; one random draw matrix is shared by all features (indices ≥ i shift
    # by one so that i is skipped). The pseudo p-value is two-sided and counts ties on both
    # sides: p = 2·(min(#sim ≥ obs, #sim ≤ obs) + 1) / (permutations + 1), capped at 1 (see
    # :func:`pseudo_p`). Only running sums are kept (keep_simulations=False); chunks bound
    # memory to PERMUTATION_CHUNK elements.
    n = y.size
    kmax = int(k.max()) - 1
    rng = np.random.default_rng(seed)
    if kmax <= 0:
        return np.ones(n), np.zeros(n)
    draws = np.empty((permutations, kmax), dtype=np.int64)
    for r in range(permutations):
        draws[r] = rng.choice(n - 1, size=kmax, replace=False)
    y_same = y[draws]  # value when the drawn index is below i
    y_next = y[draws + 1]  # value when the drawn index is at or above i (skips i)
    cols = np.arange(kmax)
    larger = np.zeros(n)
    smaller = np.zeros(n)
    total = np.zeros(n)
    total_sq = np.zeros(n)
    chunk = max(1, PERMUTATION_CHUNK // (permutations * kmax))
    for start in range(0, n, chunk):
        idx = np.arange(start, min(start + chunk, n))
        use = (cols[None, :] < (k[idx] - 1)[:, None]).astype(float)  # (c, kmax)
        below = draws[None, :, :] < idx[:, None, None]  # (c, P, kmax)
        vals = np.where(below, y_same[None], y_next[None])
        sims = np.einsum("cpk,ck->cp", vals, use) + y[idx][:, None]
        obs = local_sum[idx][:, None]
        # Sums of the same integers in another order can differ in the last bit: compare with
        # a relative tolerance so that exact ties count as ties.
        tol = 1e-9 * np.maximum(1.0, np.abs(obs))
        larger[idx] = (sims >= obs - tol).sum(axis=1)
        smaller[idx] = (sims <= obs + tol).sum(axis=1)
        total[idx] = sims.sum(axis=1)
        total_sq[idx] = (sims * sims).sum(axis=1)
    p_sim = pseudo_p(larger, smaller, permutations)
    mean = total / permutations
    sd = np.sqrt(np.maximum(total_sq / permutations - mean * mean, 0.0))
    z_sim = np.zeros(n)
    ok = sd > 0
    z_sim[ok] = (local_sum[ok] - mean[ok]) / sd[ok]
    return p_sim, z_sim


def gi_star(
    xy: ArrayLike,
    y: ArrayLike,
    band: float,
    *,
    permutations: int = 0,
    seed: int | None = None,
) -> GiStarResult:
    """Gi* z, two-sided p and neighbour count for values ``y`` at points ``xy`` (metres)."""
    values = np.asarray(y, dtype=float)
    pts = np.asarray(xy, dtype=float)
    if values.ndim != 1 or pts.shape != (values.size, 2):
        raise ValueError("xy must be (n, 2) and y must be (n,)")
    if values.size < 3:
        raise HotspotInputError("要素太少，无法计算 Gi*。", "Too few features for Gi*.")
    if not np.all(np.isfinite(values)):
        raise HotspotInputError("分析值中含有缺失值或无穷值。", "The values contain NaN or inf.")
    i, j = distance_band_pairs(pts, band)
    local, k = neighbour_sums(values, i, j)
    z = gi_star_z(local, k.astype(float), values)
    p = two_sided_p(z)
    p_sim = z_sim = None
    if permutations:
        if permutations < 1:
            raise ValueError("permutations must be a positive integer")
        p_sim, z_sim = _permute(values, local, k, int(permutations), seed)
    return GiStarResult(
        z=z, p=p, n_neighbours=k, local_sum=local, band=float(band),
        p_sim=p_sim, z_sim=z_sim, permutations=int(permutations),
    )


def gi_star_on_pairs(
    y: ArrayLike, i: ArrayLike, j: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Gi* z, two-sided p and window size for binary neighbour pairs i < j (self included).

    For units that are not points on a grid, e.g. townships under queen contiguity.
    """
    values = np.asarray(y, dtype=float)
    ii = np.asarray(i, dtype=np.int64)
    jj = np.asarray(j, dtype=np.int64)
    local, k = neighbour_sums(values, ii, jj)
    z = gi_star_z(local, k.astype(float), values)
    return z, two_sided_p(z), k
