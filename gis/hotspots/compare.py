"""Two hot spot maps on one grid: this period against the last, or one category against another.

Both maps use the same cells (the study area's), the same distance band and the same CRS, fixed
by one Optimized-Hot-Spot run on the incidents of both sides together, so a cell's two bins are
comparable. Gi* and its FDR bins are then computed for each side's counts separately. Each cell
gets a change class from its two FDR bins (hot: bin > 0, cold: bin < 0):

=================  =========================================
``became_hot``     not hot in A, hot in B
``stayed_hot``     hot in both
``cooled``         hot in A, not hot in B
``became_cold``    not cold in A, cold in B (and not hot in B)
``stayed_cold``    cold in both
``warmed``         cold in A, not cold in B (and not hot in B)
``unchanged``      none of these (not significant in both)
=================  =========================================

For "this period against the last", A is the earlier period and B the later one; for two
categories, A and B are the categories in the order given.

Two categories are not one place changing over time, so they get their own classes
(:data:`VERSUS`): hot for both, for A only, for B only, or for neither. Each side's own class is
``hot``, ``cold`` or ``none`` with the confidence of its FDR bin (90, 95 or 99 %,
:func:`side_class`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gis.hotspots.gistar import (
    distance_band_pairs,
    fdr_bins,
    gi_star_z,
    neighbour_sums,
    two_sided_p,
)
from gis.hotspots.grid import Grid

CHANGES: dict[str, tuple[str, str]] = {
    "became_hot": ("新成为热点", "Became a hot spot"),
    "stayed_hot": ("持续为热点", "Stayed a hot spot"),
    "cooled": ("热点消退", "Hot spot cooled"),
    "became_cold": ("新成为冷点", "Became a cold spot"),
    "stayed_cold": ("持续为冷点", "Stayed a cold spot"),
    "warmed": ("冷点消退", "Cold spot warmed"),
    "unchanged": ("均不显著", "Not significant in either"),
}


# The names take the two categories: ``{a}``, ``{b}`` (see :func:`versus_labels`).
VERSUS: dict[str, tuple[str, str]] = {
    "hot_both": ("{a}与{b}均为热点", "Hot spot for both {a} and {b}"),
    "hot_a_only": ("仅{a}为热点", "Hot spot for {a} only"),
    "hot_b_only": ("仅{b}为热点", "Hot spot for {b} only"),
    "hot_neither": ("均非热点", "Hot spot for neither"),
}
# Classes where neither side is a significant hot or cold spot: drawn faint on maps.
QUIET: frozenset[str] = frozenset({"unchanged", "hot_neither"})
# Gi_Bin → confidence of the strictest FDR level passed (0: not significant).
CONFIDENCE: dict[int, int] = {0: 0, 1: 90, 2: 95, 3: 99}


def side_class(bin_value: int) -> tuple[str, int]:
    """``("hot" | "cold" | "none", confidence %)`` of one FDR bin."""
    b = int(bin_value)
    return ("hot" if b > 0 else "cold" if b < 0 else "none"), CONFIDENCE[abs(b)]


def versus_labels(a: tuple[str, str], b: tuple[str, str]) -> dict[str, tuple[str, str]]:
    """:data:`VERSUS` named for categories ``a`` and ``b``, each given as (Chinese, English)."""
    return {
        k: (zh.format(a=a[0], b=b[0]), en.format(a=a[1], b=b[1]))
        for k, (zh, en) in VERSUS.items()
    }


def versus_class(bin_a: ArrayLike, bin_b: ArrayLike) -> list[str]:
    """The class of each cell when A and B are two categories: hot for both, one or neither."""
    out = []
    for x, y in zip(np.asarray(bin_a).tolist(), np.asarray(bin_b).tolist(), strict=True):
        if x > 0 and y > 0:
            out.append("hot_both")
        elif x > 0:
            out.append("hot_a_only")
        elif y > 0:
            out.append("hot_b_only")
        else:
            out.append("hot_neither")
    return out


def change_class(bin_a: ArrayLike, bin_b: ArrayLike) -> list[str]:
    """The change class of each cell from its FDR bins in A and in B."""
    a = np.asarray(bin_a)
    b = np.asarray(bin_b)
    out = []
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        if y > 0:
            out.append("stayed_hot" if x > 0 else "became_hot")
        elif x > 0:
            out.append("cooled")
        elif y < 0:
            out.append("stayed_cold" if x < 0 else "became_cold")
        elif x < 0:
            out.append("warmed")
        else:
            out.append("unchanged")
    return out


def counts_on_cells(
    grid: Grid, ix: ArrayLike, iy: ArrayLike, x: ArrayLike, y: ArrayLike
) -> NDArray[np.int64]:
    """Points per given cell; points outside the given cells are not counted."""
    cix = np.asarray(ix, dtype=np.int64)
    ciy = np.asarray(iy, dtype=np.int64)
    px, py = grid.cell_of(x, y)
    if cix.size == 0 or px.size == 0:
        return np.zeros(cix.size, dtype=np.int64)
    lo_i = min(int(cix.min()), int(px.min()))
    lo_j = min(int(ciy.min()), int(py.min()))
    span = max(int(cix.max()), int(px.max())) - lo_i + 1
    key = (ciy - lo_j) * span + (cix - lo_i)
    order = np.argsort(key)
    sk = key[order]
    pk = (py - lo_j) * span + (px - lo_i)
    pos = np.minimum(np.searchsorted(sk, pk), sk.size - 1)
    hit = sk[pos] == pk
    return np.bincount(order[pos[hit]], minlength=cix.size).astype(np.int64)


@dataclass(frozen=True)
class SideGi:
    """Gi* of one side on the shared cells."""

    count: NDArray[np.int64]
    z: NDArray[np.float64]
    p: NDArray[np.float64]
    bin: NDArray[np.int8]


def gi_on_cells(centres: ArrayLike, counts: ArrayLike, band: float) -> SideGi:
    """Gi* z, p and FDR bins of ``counts`` at fixed cell ``centres``; all-equal counts: all 0."""
    c = np.asarray(counts, dtype=float)
    n = c.size
    if n < 3 or np.ptp(c) == 0:
        zero = np.zeros(n)
        return SideGi(c.astype(np.int64), zero, np.ones(n), np.zeros(n, dtype=np.int8))
    i, j = distance_band_pairs(np.asarray(centres, dtype=float), band)
    local, k = neighbour_sums(c, i, j)
    z = gi_star_z(local, k.astype(float), c)
    p = two_sided_p(z)
    return SideGi(c.astype(np.int64), z, p, fdr_bins(z, p))
