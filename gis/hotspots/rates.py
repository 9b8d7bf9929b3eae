"""Rates against a denominator, with empirical-Bayes smoothing (Marshall 1991; Assunção–Reis 1999).

A count map mostly shows where units are big: a township with three times the sites or the area
has about three times the incidents, and comes out "hot" for that alone. A rate e_i / b_i (e the
incidents, b the denominator: sites, km², residents) removes size, but a small unit's rate is
noisy (one incident among two sites is 50 %), so raw rates make the *small* units extreme.
Empirical-Bayes smoothing shrinks each raw rate towards a prior mean, the more the smaller its
denominator:

    r_i = m + w_i·(e_i/b_i − m),    w_i = a / (a + m / b_i)

**Global EB** (Marshall's method of moments; esda's ``smoothing.Empirical_Bayes``): m = Σe/Σb,
a = Σ b_i (e_i/b_i − m)² / Σb − m / b̄. **Departure:** when the moment estimate a is negative
(rates vary less than Poisson noise alone would make them) it is set to 0, so every rate
shrinks fully to m, as Marshall and esda's spatial smoother do; esda's global smoother keeps
the negative a and can then give weights outside [0, 1].

**Spatial EB** (esda's ``smoothing.Spatial_Empirical_Bayes``): the same with m_i and a_i
computed over unit i and its neighbours (m_i = Σe/Σb over them, a_i = Σ b (r − m_i)² / Σb −
m_i / b̄_i with b̄_i their mean denominator), a_i < 0 set to 0.

**EB standardisation** (Assunção & Reis 1999; esda's ``smoothing.assuncao_rate``, the variable
of ``esda.Moran_Rate``): z_i = (e_i/b_i − m) / sqrt(a + m/b_i), with sqrt(m/b_i) when a + m/b_i
is not positive. It is a z-like score for Moran's I on rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gis.hotspots.errors import HotspotInputError

RateMethod = Literal["count", "rate", "eb", "spatial_eb"]
RATE_METHODS: tuple[str, ...] = ("count", "rate", "eb", "spatial_eb")


def _inputs(e: ArrayLike, b: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    ev = np.asarray(e, dtype=float).ravel()
    bv = np.asarray(b, dtype=float).ravel()
    if ev.shape != bv.shape:
        raise ValueError("events and denominators must have the same length")
    if not (np.all(np.isfinite(bv)) and np.all(bv > 0)):
        bad = int((~(np.isfinite(bv) & (bv > 0))).sum())
        raise HotspotInputError(
            f"有 {bad} 个单元的分母（如站点数、面积）为零或缺失，无法计算比率。",
            f"{bad} unit(s) have a zero or missing denominator (sites, area); no rate can be "
            "computed for them.",
        )
    if np.any(ev < 0) or not np.all(np.isfinite(ev)):
        raise HotspotInputError("事件数必须为非负数。", "Event counts must be non-negative.")
    return ev, bv


def crude_rate(e: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Raw rates e / b."""
    ev, bv = _inputs(e, b)
    return ev / bv


@dataclass(frozen=True)
class Smoothed:
    """Smoothed rates with the prior mean and variance and the shrinkage weight per unit."""

    rate: NDArray[np.float64]  # smoothed
    crude: NDArray[np.float64]
    prior_mean: NDArray[np.float64]
    prior_var: NDArray[np.float64]
    weight: NDArray[np.float64]  # weight of the unit's own crude rate, in [0, 1]


def empirical_bayes(e: ArrayLike, b: ArrayLike) -> Smoothed:
    """Global empirical-Bayes smoothed rates (Marshall 1991, a < 0 set to 0)."""
    ev, bv = _inputs(e, b)
    m = ev.sum() / bv.sum()
    crude = ev / bv
    a = float((bv * (crude - m) ** 2).sum() / bv.sum() - m / bv.mean())
    a = max(a, 0.0)
    weight = a / (a + m / bv) if a > 0 else np.zeros_like(bv)
    n = bv.size
    return Smoothed(
        m + weight * (crude - m), crude, np.full(n, m), np.full(n, a), np.asarray(weight)
    )


def spatial_empirical_bayes(
    e: ArrayLike, b: ArrayLike, pairs: tuple[ArrayLike, ArrayLike]
) -> Smoothed:
    """Spatial EB: priors from each unit and its neighbours (``pairs``: i < j index arrays)."""
    ev, bv = _inputs(e, b)
    n = ev.size
    i = np.asarray(pairs[0], dtype=np.int64)
    j = np.asarray(pairs[1], dtype=np.int64)

    def window(v: NDArray[np.float64]) -> NDArray[np.float64]:
        return v + np.bincount(i, weights=v[j], minlength=n) + np.bincount(
            j, weights=v[i], minlength=n
        )

    crude = ev / bv
    e_win, b_win = window(ev), window(bv)
    count = window(np.ones(n))
    m = e_win / b_win
    # Σ_{k in window(i)} b_k (r_k − m_i)² = Σ b r² − 2 m_i Σ b r + m_i² Σ b
    br, br2 = bv * crude, bv * crude * crude
    var_left = (window(br2) - 2.0 * m * window(br) + m * m * b_win) / b_win
    a = var_left - m / (b_win / count)
    a = np.maximum(a, 0.0)
    denom = a + m / bv
    weight = np.divide(a, denom, out=np.zeros(n), where=denom > 0)
    return Smoothed(m + weight * (crude - m), crude, m, a, weight)


def eb_standardised(e: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Assunção–Reis EB-standardised rates (esda's ``assuncao_rate``)."""
    ev, bv = _inputs(e, b)
    crude = ev / bv
    m = ev.sum() / bv.sum()
    s2 = (bv * (crude - m) ** 2).sum() / bv.sum()
    a = s2 - m / (bv.sum() / bv.size)
    v = a + m / bv
    v = np.where(v < 0, m / bv, v)
    return (crude - m) / np.sqrt(v)


def rate_values(
    method: str,
    e: ArrayLike,
    b: ArrayLike | None,
    pairs: tuple[ArrayLike, ArrayLike] | None = None,
) -> NDArray[np.float64]:
    """The analysed value per unit: the count, the crude rate or an EB-smoothed rate."""
    if method not in RATE_METHODS:
        raise HotspotInputError(
            f"未知的取值方式 {method!r}，应为 {'、'.join(RATE_METHODS)}。",
            f"Unknown value {method!r}; use one of {', '.join(RATE_METHODS)}.",
        )
    if method == "count":
        return np.asarray(e, dtype=float).ravel()
    if b is None:
        raise HotspotInputError("比率需要分母（站点数或面积）。", "A rate needs a denominator.")
    if method == "rate":
        return crude_rate(e, b)
    if method == "eb":
        return empirical_bayes(e, b).rate
    if pairs is None:
        raise ValueError("spatial EB needs neighbour pairs")
    return spatial_empirical_bayes(e, b, pairs).rate
