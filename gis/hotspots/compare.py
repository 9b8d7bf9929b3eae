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
