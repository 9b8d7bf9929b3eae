"""Rates and empirical-Bayes smoothing against esda.smoothing, and the large-township effect."""

from __future__ import annotations

import numpy as np
import pytest

from gis.hotspots.errors import HotspotInputError
from gis.hotspots.lisa import distance_band_neighbours, local_moran
from gis.hotspots.rates import (
    crude_rate,
    eb_standardised,
    empirical_bayes,
    rate_values,
    spatial_empirical_bayes,
)


def _units(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(8), np.arange(8))
    xy = np.column_stack([ii.ravel(), jj.ravel()]) * 1.0
    b = rng.integers(5, 400, 64).astype(float)
    e = rng.poisson(b * rng.gamma(4, 0.01, 64)).astype(float)
    return xy, e, b


def test_global_eb_equals_esda() -> None:
    from esda.smoothing import Empirical_Bayes

    _, e, b = _units()
    ours = empirical_bayes(e, b)
    np.testing.assert_allclose(ours.rate, Empirical_Bayes(e, b).r.ravel(), rtol=1e-12)
    assert np.all((ours.weight >= 0) & (ours.weight <= 1))
    # Small denominators shrink more.
    assert ours.weight[np.argmin(b)] < ours.weight[np.argmax(b)]
    np.testing.assert_allclose(ours.crude, e / b)


def test_spatial_eb_and_eb_standardisation_equal_esda() -> None:
    from esda.smoothing import Spatial_Empirical_Bayes, assuncao_rate
    from libpysal.weights import W

    xy, e, b = _units()
    nb = distance_band_neighbours(xy, 1.5)
    w = W(nb.as_dict(), id_order=list(range(64)), silence_warnings=True)
    ours = spatial_empirical_bayes(e, b, (nb.i, nb.j))
    np.testing.assert_allclose(ours.rate, Spatial_Empirical_Bayes(e, b, w).r.ravel(), rtol=1e-12)
    np.testing.assert_allclose(eb_standardised(e, b), assuncao_rate(e, b).ravel(), rtol=1e-12)


def test_a_negative_prior_variance_shrinks_every_rate_to_the_mean() -> None:
    # Rates that vary less than Poisson noise: the moment estimate of the prior variance is
    # negative. esda's global smoother keeps it (weights outside [0, 1]); we set it to 0.
    from esda.smoothing import Empirical_Bayes

    b = np.array([100.0, 200.0, 300.0, 400.0, 500.0])
    e = np.array([9.0, 21.0, 32.0, 39.0, 49.0])
    ours = empirical_bayes(e, b)
    assert ours.prior_var[0] == 0.0
    np.testing.assert_allclose(ours.rate, e.sum() / b.sum())
    esda_w = (Empirical_Bayes(e, b).r.ravel() - e.sum() / b.sum()) / (e / b - e.sum() / b.sum())
    assert np.any(esda_w < 0)


def test_a_large_township_is_not_a_cluster_only_because_it_is_large() -> None:
    # 10 × 10 units whose incident rate per site varies at random (mean 0.5, CV 22 %), with no
    # spatial pattern; a 3 × 3 block has ten times the sites. Counts make that block a
    # high-high cluster; EB-smoothed rates do not.
    rng = np.random.default_rng(5)
    ii, jj = np.meshgrid(np.arange(10), np.arange(10))
    xy = np.column_stack([ii.ravel(), jj.ravel()]) * 1.0
    big = ((ii >= 3) & (ii <= 5) & (jj >= 3) & (jj <= 5)).ravel()
    sites = np.where(big, 200.0, 20.0)
    events = rng.poisson(sites * rng.gamma(20.0, 0.5 / 20.0, 100)).astype(float)
    nb = distance_band_neighbours(xy, 1.5)
    by_count = local_moran(events, nb, permutations=999, seed=1)
    assert np.array(by_count.cluster)[big].tolist().count("HH") >= 5
    smoothed = rate_values("eb", events, sites)
    by_rate = local_moran(smoothed, nb, permutations=999, seed=1)
    assert by_rate.significant.sum() <= 2
    # A genuinely high rate in a small unit does stand out once its neighbours share it.
    events2 = events.copy()
    hot = ((ii >= 7) & (jj >= 7)).ravel()
    events2[hot] = rng.poisson(2.0 * sites[hot])
    by_rate2 = local_moran(rate_values("eb", events2, sites), nb, permutations=999, seed=1)
    assert np.array(by_rate2.cluster)[hot].tolist().count("HH") >= 5


def test_rate_inputs_are_checked() -> None:
    with pytest.raises(HotspotInputError, match="denominator"):
        crude_rate([1, 2], [1, 0])
    with pytest.raises(HotspotInputError, match="Unknown value"):
        rate_values("per_capita", [1.0], [1.0])
    with pytest.raises(HotspotInputError, match="needs a denominator"):
        rate_values("eb", [1.0, 2.0], None)
    np.testing.assert_array_equal(rate_values("count", [1, 2], None), [1.0, 2.0])


def test_gi_star_on_contiguity_equals_esda_and_ignores_size_with_eb_rates() -> None:
    import warnings

    import shapely
    from esda.getisord import G_Local
    from libpysal.weights import Queen

    from gis.hotspots.gistar import fdr_bins, gi_star_on_pairs
    from gis.hotspots.lisa import contiguity_neighbours

    rng = np.random.default_rng(5)
    boxes = [shapely.box(i, j, i + 1, j + 1) for j in range(10) for i in range(10)]
    nb = contiguity_neighbours(boxes)
    ii, jj = np.meshgrid(np.arange(10), np.arange(10))
    big = ((ii >= 3) & (ii <= 5) & (jj >= 3) & (jj <= 5)).ravel()
    sites = np.where(big, 200.0, 20.0)
    events = rng.poisson(sites * rng.gamma(20.0, 0.5 / 20.0, 100)).astype(float)
    z, p, k = gi_star_on_pairs(events, nb.i, nb.j)
    w = Queen.from_iterable(boxes, silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = G_Local(events, w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(z, ref.Zs, atol=1e-12)
    assert k.max() == 9  # a township and its 8 queen neighbours
    assert (fdr_bins(z, p)[big] > 0).sum() >= 5  # counts: the big block is "hot"
    ze, pe, _ = gi_star_on_pairs(rate_values("eb", events, sites), nb.i, nb.j)
    assert (fdr_bins(ze, pe) != 0).sum() == 0  # EB rates: no hot or cold township
