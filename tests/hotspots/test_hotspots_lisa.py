"""Local Moran's I against esda.Moran_Local, on crafted clusters and outliers, and on polygons."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import shapely

from gis.hotspots.errors import HotspotInputError
from gis.hotspots.lisa import (
    Neighbours,
    contiguity_neighbours,
    distance_band_neighbours,
    local_moran,
)


def _lattice(side: int = 25) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ii, jj = np.meshgrid(np.arange(side), np.arange(side))
    xy = np.column_stack([ii.ravel(), jj.ravel()]) * 100.0
    return xy, ii.ravel(), jj.ravel()


def _esda(y: np.ndarray, nb: Neighbours, permutations: int, seed: int):  # type: ignore[no-untyped-def]
    from esda.moran import Moran_Local
    from libpysal.weights import W

    w = W(nb.as_dict(), silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Moran_Local(y, w, permutations=permutations, seed=seed, keep_simulations=True)


@pytest.mark.parametrize("band", [150.0, 250.0])
def test_equals_esda_moran_local_on_the_same_weights_and_draws(band: float) -> None:
    xy, ii, jj = _lattice()
    rng = np.random.default_rng(0)
    y = rng.poisson(2.0, ii.size).astype(float)
    y[(ii < 5) & (jj < 5)] += 6  # a high-high block
    y[(ii > 18) & (jj > 18)] = 0  # a low-low block
    y[12 * 25 + 12] = 15  # a high value among ordinary ones
    nb = distance_band_neighbours(xy, band)
    ours = local_moran(y, nb, permutations=999, seed=7)
    ref = _esda(y, nb, 999, 7)
    np.testing.assert_allclose(ours.I, ref.Is, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ours.quadrant, ref.q)
    # Same draws: our two-sided, tie-aware p from esda's own simulated I values is ours exactly.
    sims = ref.rlisas
    tol = 1e-9 * np.maximum(1e-12, np.abs(ref.Is))[:, None]
    ge = (sims >= ref.Is[:, None] - tol).sum(axis=1)
    le = (sims <= ref.Is[:, None] + tol).sum(axis=1)
    expected = np.minimum(1.0, 2.0 * (np.minimum(ge, le) + 1) / 1000)
    np.testing.assert_array_equal(ours.p_sim, expected)
    np.testing.assert_allclose(ours.z_sim, ref.z_sim, atol=1e-9)
    # esda's default p_sim is the one-sided folded value: ours is about twice it, never less.
    assert np.all(ours.p_sim >= ref.p_sim - 1e-12)
    tally = ours.tally()
    assert tally["HH"] >= 10 and tally["LL"] >= 1
    cluster = np.array(ours.cluster)
    assert set(cluster[(ii < 4) & (jj < 4)]) == {"HH"}


def test_other_seeds_agree_statistically() -> None:
    xy, ii, jj = _lattice(20)
    y = np.random.default_rng(1).normal(size=ii.size)
    nb = distance_band_neighbours(xy, 150.0)
    a = local_moran(y, nb, permutations=999, seed=1).p_sim
    b = local_moran(y, nb, permutations=999, seed=2).p_sim
    ref = _esda(y, nb, 999, 3).p_sim
    assert not np.array_equal(a, b)
    assert np.abs(a - b).max() < 0.15  # SD of a difference of two p near 0.5: about 0.03
    assert np.corrcoef(a, np.minimum(1, 2 * ref))[0, 1] > 0.98


def test_outliers_are_high_low_and_low_high() -> None:
    xy, ii, jj = _lattice(20)
    rng = np.random.default_rng(2)
    y = rng.normal(10, 0.3, ii.size)
    low = (ii < 8) & (jj < 8)
    y[low] = rng.normal(5, 0.3, int(low.sum()))
    hl = 4 * 20 + 4
    y[hl] = 30.0  # high inside the low block
    hot = (ii > 12) & (jj > 12)
    y[hot] = 20.0
    lh = 16 * 20 + 16
    y[lh] = 0.0  # low inside the high block
    res = local_moran(y, distance_band_neighbours(xy, 150.0), permutations=999, seed=0)
    cluster = res.cluster
    assert cluster[hl] == "HL" and cluster[lh] == "LH"
    assert res.quadrant[hl] == 4 and res.quadrant[lh] == 2
    assert sum(c == "HH" for c in cluster) >= 20


def test_random_values_give_few_significant_units_with_fdr() -> None:
    xy, ii, _ = _lattice(30)
    nb = distance_band_neighbours(xy, 150.0)
    found_fdr, found_raw = 0, 0
    for seed in range(3):
        y = np.random.default_rng(seed).poisson(0.7, ii.size).astype(float)  # many ties
        found_fdr += int(local_moran(y, nb, permutations=499, seed=seed).significant.sum())
        raw = local_moran(y, nb, permutations=499, seed=seed, fdr=False)
        found_raw += int(raw.significant.sum())
    assert found_fdr <= 10  # of 2,700 unit tests under the null
    assert found_raw < 0.08 * 3 * ii.size  # uncorrected: about α = 5 %


def test_islands_and_bad_input() -> None:
    xy = np.array([[0.0, 0], [1, 0], [2, 0], [50, 50], [3, 0]])
    y = np.array([1.0, 2, 3, 9, 4])
    res = local_moran(y, distance_band_neighbours(xy, 1.5), permutations=99, seed=0)
    assert res.n_neighbours[3] == 0 and res.I[3] == 0 and res.p_sim[3] == 1.0
    assert not res.significant[3]
    with pytest.raises(HotspotInputError, match="zero variance"):
        local_moran(np.ones(5), distance_band_neighbours(xy, 1.5))
    with pytest.raises(ValueError):
        local_moran(y[:4], distance_band_neighbours(xy, 1.5))


def test_queen_contiguity_matches_libpysal() -> None:
    from libpysal.weights import Queen

    boxes = [shapely.box(i, j, i + 1, j + 1) for j in range(4) for i in range(5)]
    boxes.append(shapely.box(10, 10, 11, 11))  # an island
    nb = contiguity_neighbours(boxes)
    ref = Queen.from_iterable(boxes, silence_warnings=True)
    ours = nb.as_dict()
    assert {k: sorted(v) for k, v in ours.items()} == {
        k: sorted(ref.neighbors[k]) for k in range(len(boxes))
    }
    assert ours[20] == [] and len(ours[6]) == 8
