"""Gi* against esda, FDR at its boundary, bins and the permutation path."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import norm

from gis.hotspots.errors import HotspotInputError
from gis.hotspots.gistar import (
    bh_significant,
    distance_band_pairs,
    fdr_bins,
    gi_star,
    pseudo_p,
    raw_bins,
    two_sided_p,
)


def _esda_gi_star_z(xy: np.ndarray, y: np.ndarray, band: float) -> np.ndarray:
    from esda.getisord import G_Local
    from libpysal.weights import DistanceBand

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Binary distance band without the diagonal; star=True makes esda add w_ii = 1.
        w = DistanceBand(xy, threshold=band, binary=True, silence_warnings=True)
        assert all(i not in w.neighbors[i] for i in w.neighbors)
        g = G_Local(y, w, transform="B", star=True, permutations=0)
    return np.asarray(g.Zs)


def test_z_matches_esda_on_random_grid() -> None:
    rng = np.random.default_rng(42)
    ii, jj = np.meshgrid(np.arange(25), np.arange(20))
    xy = np.column_stack([ii.ravel(), jj.ravel()]) * 150.0
    y = rng.poisson(3.0, len(xy)).astype(float)
    y[:40] += 6  # some structure so that z is not all noise
    band = 2.5 * 150.0  # strictly between lattice distances
    res = gi_star(xy, y, band)
    np.testing.assert_allclose(res.z, _esda_gi_star_z(xy, y, band), atol=1e-6, rtol=0)
    # n_neighbours counts the cell itself: interior cells see 21 lattice cells within 2.5.
    assert res.n_neighbours.max() == 21
    # A corner cell: itself plus (1,0) (2,0) (0,1) (0,2) (1,1) (1,2) (2,1).
    assert res.n_neighbours.min() == 1 + 7
    np.testing.assert_allclose(res.p, 2 * norm.sf(np.abs(res.z)), rtol=1e-12)


def test_z_matches_esda_on_irregular_points_with_islands() -> None:
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 2_000, (400, 2))
    xy[:3] += 50_000  # isolated features: Gi* of a lone self-window
    y = rng.gamma(2.0, 2.0, 400)
    res = gi_star(xy, y, 180.0)
    np.testing.assert_allclose(res.z, _esda_gi_star_z(xy, y, 180.0), atol=1e-6, rtol=0)


def test_z_matches_arcgis_formula_by_hand() -> None:
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [10.0, 0.0], [11.0, 0.0]])
    y = np.array([5.0, 3.0, 1.0, 0.0, 1.0])
    res = gi_star(xy, y, 1.5)
    n, mean = 5, y.mean()
    s = np.sqrt((y**2).mean() - mean**2)
    # Feature 1 sees 0, 1, 2 (self included): sum 9, k 3.
    expected = (9 - mean * 3) / (s * np.sqrt((n * 3 - 3**2) / (n - 1)))
    assert res.z[1] == pytest.approx(expected, rel=1e-12)
    assert res.n_neighbours.tolist() == [2, 3, 2, 2, 2]


def test_lattice_neighbours_at_exactly_the_band_are_included() -> None:
    xy = np.array([[0.0, 0.0], [0.1 * 3, 0.0], [0.6, 0.0]])  # 0.30000000000000004
    i, j = distance_band_pairs(xy, 0.3)
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 1), (1, 2)]


def test_fdr_boundary_hand_example() -> None:
    # m = 10, α = 0.05: BH cut-offs rank/10 · 0.05 = 0.005, 0.010, 0.015, 0.020, …
    p = np.array([0.001, 0.010, 0.016, 0.020, 0.2, 0.3, 0.5, 0.6, 0.8, 0.9])
    # p(2) = 0.010 and p(4) = 0.020 sit exactly on their cut-offs; the step-up rule takes the
    # largest such rank (4), so p(3) = 0.016 > 0.015 is significant too.
    assert bh_significant(p, 0.05).tolist() == [True] * 4 + [False] * 6
    nudged = p.copy()
    nudged[3] = 0.0200001  # just above 4/10·0.05: now rank 2 is the largest passing rank
    assert bh_significant(nudged, 0.05).tolist() == [True] * 2 + [False] * 8
    # Order of the input does not matter.
    perm = np.random.default_rng(0).permutation(10)
    assert bh_significant(p[perm], 0.05).tolist() == bh_significant(p, 0.05)[perm].tolist()
    # NaN is never significant and does not count in m.
    assert bh_significant(np.array([0.01, np.nan]), 0.01).tolist() == [True, False]


def test_fdr_bins_three_levels_and_sign() -> None:
    z = np.array([4.0, -3.0, 2.1, 1.0, -0.5] + [0.0] * 5)
    p = two_sided_p(z)
    # BH at 0.01: cut-offs 0.001, 0.002, …; p = [6e-5, 2.7e-3, 0.036, 0.32, 0.62, 1 …]
    bins = fdr_bins(z, p)
    assert bins.tolist() == [3, -2, 0, 0, 0, 0, 0, 0, 0, 0]
    # Without correction 0.036 ≤ 0.05 gives +2, and 0.0027 ≤ 0.01 gives -3.
    assert raw_bins(z, p).tolist() == [3, -3, 2, 0, 0, 0, 0, 0, 0, 0]


def test_permutations_are_seeded_and_agree_with_the_normal_approximation() -> None:
    rng = np.random.default_rng(1)
    ii, jj = np.meshgrid(np.arange(20), np.arange(20))
    xy = np.column_stack([ii.ravel(), jj.ravel()]) * 100.0
    y = rng.poisson(2.0, 400).astype(float)
    y[(ii.ravel() < 4) & (jj.ravel() < 4)] += 8
    a = gi_star(xy, y, 150.0, permutations=199, seed=11)
    b = gi_star(xy, y, 150.0, permutations=199, seed=11)
    c = gi_star(xy, y, 150.0, permutations=199, seed=12)
    assert a.p_sim is not None and b.p_sim is not None and c.p_sim is not None
    np.testing.assert_array_equal(a.p_sim, b.p_sim)
    assert not np.array_equal(a.p_sim, c.p_sim)
    assert a.p_sim.min() >= 2 / 200 and a.p_sim.max() <= 1.0
    # The planted corner is extreme under permutation as well.
    corner = (ii.ravel() < 3) & (jj.ravel() < 3)
    assert np.all(a.p_sim[corner] == 2 / 200)
    assert np.corrcoef(a.z_sim, a.z)[0, 1] > 0.95
    assert np.all(a.bins(fdr=False, use_sim=True)[corner] == 3)


def test_zero_variance_and_bad_input_raise() -> None:
    xy = np.random.default_rng(0).uniform(0, 100, (50, 2))
    with pytest.raises(HotspotInputError, match="zero variance"):
        gi_star(xy, np.full(50, 2.0), 10.0)
    with pytest.raises(HotspotInputError):
        gi_star(xy, np.r_[np.full(49, 2.0), np.nan], 10.0)
    with pytest.raises(HotspotInputError):
        gi_star(xy, np.arange(50.0), -1.0)


def test_pseudo_p_is_two_sided_counts_ties_on_both_sides_and_is_capped() -> None:
    # 99 permutations: #≥ and #≤ both include the simulations equal to the observation.
    assert pseudo_p([0], [99], 99)[0] == pytest.approx(2 / 100)  # above every simulation
    assert pseudo_p([99], [0], 99)[0] == pytest.approx(2 / 100)  # below every simulation
    assert pseudo_p([99], [99], 99)[0] == 1.0  # every simulation ties: capped at 1
    assert pseudo_p([60], [50], 99)[0] == 1.0
    assert pseudo_p([4], [96], 99)[0] == pytest.approx(10 / 100)


def test_an_observation_tied_with_most_simulations_is_not_extreme() -> None:
    # A cell of zeros amid many zeros: half its simulations tie at 0. One-sided folding
    # (#sim < obs = 0) called it p = 1/(P+1); counting ties it is not significant.
    ii, jj = np.meshgrid(np.arange(10), np.arange(10))
    xy = np.column_stack([ii.ravel(), jj.ravel()]) * 100.0
    y = np.zeros(100)
    y[::7] = 1.0
    res = gi_star(xy, y, 150.0, permutations=199, seed=0)
    assert res.p_sim is not None
    zero_window = res.local_sum == 0
    assert zero_window.any() and np.all(res.p_sim[zero_window] > 0.1)


def test_permutations_find_no_more_spots_than_the_analytic_path_on_random_counts() -> None:
    # Spatially random Poisson(0.7) counts on a 30 × 30 lattice (many ties): with FDR the
    # permutation path must not invent hot or cold spots the normal approximation does not.
    ii, jj = np.meshgrid(np.arange(30), np.arange(30))
    xy = np.column_stack([ii.ravel(), jj.ravel()]) * 100.0
    for seed in range(4):
        y = np.random.default_rng(seed).poisson(0.7, 900).astype(float)
        res = gi_star(xy, y, 150.0, permutations=999, seed=seed)
        analytic = res.bins(fdr=True)
        permuted = res.bins(fdr=True, use_sim=True)
        assert (permuted > 0).sum() <= (analytic > 0).sum(), seed
        assert (permuted < 0).sum() <= (analytic < 0).sum(), seed
