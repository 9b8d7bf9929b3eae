"""Peer for hotspots: PySAL's way to Gi* with FDR on a grid of cells (``esda`` + ``libpysal``).

Given the cells (centres in metres, counts), it builds a binary ``DistanceBand`` at the same
band, runs ``G_Local(star=True, permutations=0)`` and applies esda's ``fdr`` cut-off at the three
confidence levels ArcGIS bins use. The grid itself is handed over for free: binning the points
into hexagons is not part of the peer's time.
"""

from __future__ import annotations

import warnings

import numpy as np

ALPHAS = (0.10, 0.05, 0.01)


def gi_star_fdr(centres: np.ndarray, counts: np.ndarray, band_m: float) -> dict:
    """z-scores, two-sided p-values and FDR bins (−3…3) as esda computes them."""
    from esda import fdr
    from esda.getisord import G_Local
    from libpysal.weights import DistanceBand

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The same inclusive band as Lookback (cells exactly at the band are neighbours).
        w = DistanceBand(centres, threshold=band_m * (1 + 1e-9), binary=True,
                         silence_warnings=True)
        g = G_Local(counts.astype(float), w, transform="B", star=True, permutations=0)
    z = np.asarray(g.Zs, dtype=float)
    p = 2.0 * np.asarray(g.p_norm, dtype=float)  # esda's p_norm is one-sided
    level = np.zeros(z.size, dtype=np.int8)
    for lvl, alpha in enumerate(ALPHAS, start=1):
        level[p <= fdr(p, alpha)] = lvl
    return {"z": z, "p": p, "bin": np.sign(z).astype(np.int8) * level, "pairs": int(w.s0) // 2}


def warm_up() -> None:
    """Import esda and libpysal and run them once on a small lattice, off the clock."""
    ii, jj = np.meshgrid(np.arange(10), np.arange(10))
    centres = np.column_stack([ii.ravel(), jj.ravel()]) * 100.0
    counts = np.random.default_rng(0).integers(0, 9, centres.shape[0])
    gi_star_fdr(centres, counts, 250.0)
