"""Automatic cell size and distance band, Moran's I, and the minimum-data checks."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from gis.hotspots import bands
from gis.hotspots.errors import HotspotInputError
from gis.hotspots.gistar import distance_band_pairs


def _clustered(seed: int, n_bg: int = 300, n_cl: int = 100) -> np.ndarray:
    rng = np.random.default_rng(seed)
    bg = rng.uniform(0, 10_000, (n_bg, 2))
    cl = np.array([3_000.0, 7_000.0]) + rng.normal(0, 250, (n_cl, 2))
    return np.vstack([bg, cl])


def test_cell_size_formula_bounds_and_determinism() -> None:
    xy = _clustered(0)
    a = bands.choose_cell_size(xy, shape="hex")
    b = bands.choose_cell_size(xy[::-1].copy(), shape="hex")
    assert a == b  # deterministic and independent of input order
    # Documented formula: max(2·mean NN, sqrt(A/(a·n))) to two significant figures.
    raw = max(2 * a.mean_nn_m, a.density_m)
    assert a.cell_m == pytest.approx(raw, rel=0.05)
    assert a.cell_m == bands.round_sig(raw, 2)
    assert a.density_m == pytest.approx(math.sqrt(a.area_m2 / (math.sqrt(3) / 2 * len(xy))))
    assert 0.9 * 10_000**2 < a.area_m2 < 10_000**2  # the hull of the points
    square = bands.choose_cell_size(xy, shape="square", area_m2=1e8)
    assert square.density_m == pytest.approx(math.sqrt(1e8 / len(xy)))
    assert "米" in a.explanation.zh and " m" in a.explanation.en
    assert "Esri" in a.explanation.en and "Esri" in a.explanation.zh


def test_locational_outliers_do_not_drive_the_cell_size() -> None:
    xy = _clustered(1)
    base = bands.choose_cell_size(xy)
    far = np.vstack([xy, [[80_000.0, 80_000.0]]])
    with_outlier = bands.choose_cell_size(far)
    assert with_outlier.n_outliers >= 1
    # The remote point is set aside: the NN statistics barely move (a couple of moderate
    # outliers may slip back in because the remote one inflates the SD), and the hull does
    # not stretch 80 km.
    assert with_outlier.mean_nn_m == pytest.approx(base.mean_nn_m, rel=0.05)
    assert with_outlier.area_m2 == pytest.approx(base.area_m2, rel=0.05)
    assert with_outlier.cell_m == pytest.approx(base.cell_m, rel=0.05)


def test_duplicate_locations_count_once_for_nn_distances() -> None:
    xy = _clustered(2)
    stacked = np.vstack([xy, xy[:50], xy[:50]])  # repeated complaints at the same address
    assert bands.choose_cell_size(stacked).mean_nn_m == pytest.approx(
        bands.choose_cell_size(xy).mean_nn_m
    )


def test_moran_matches_esda_randomisation_z() -> None:
    from esda.moran import Moran
    from libpysal.weights import DistanceBand

    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 1_000, (300, 2))
    y = rng.poisson(2, 300).astype(float) + 2.0 * (xy[:, 0] > 500)
    i, j = distance_band_pairs(xy, 150.0)
    moran_i, z = bands.moran_from_pairs(y, i, j)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = DistanceBand(xy, threshold=150.0, binary=True, silence_warnings=True)
        w.transform = "r"
        ref = Moran(y, w, permutations=0)
    assert moran_i == pytest.approx(ref.I, abs=1e-12)
    assert z == pytest.approx(ref.z_rand, abs=1e-9)


def test_incremental_moran_matches_one_band_at_a_time() -> None:
    rng = np.random.default_rng(6)
    ii, jj = np.meshgrid(np.arange(25), np.arange(25))
    xy = np.column_stack([ii.ravel(), jj.ravel()]) * 100.0
    y = rng.poisson(2, len(xy)).astype(float) + 3.0 * (np.hypot(ii - 8, jj - 8) < 4).ravel()
    isa = bands.incremental_moran(xy, y)
    np.testing.assert_allclose(isa.distances, 100.0 * np.arange(1, 11))
    for d, z in zip(isa.distances, isa.z, strict=True):
        assert z == pytest.approx(bands.moran_from_pairs(y, *distance_band_pairs(xy, d))[1])
    early = bands.incremental_moran(xy, y, stop_at_first_peak=True)
    first, _ = bands.peak_indices(isa.z)
    assert first is not None
    np.testing.assert_allclose(early.z[: first + 2], isa.z[: first + 2])
    assert np.all(np.isnan(early.z[first + 2 :]))


def test_peak_rule() -> None:
    assert bands.peak_indices([1, 2, 3, 2.5, 4, 5, 3]) == (2, 5)
    assert bands.peak_indices([1, 2, 3, 4, 5]) == (None, None)  # monotone: no peak
    assert bands.peak_indices([5, 4, 3]) == (None, None)  # never went up
    assert bands.peak_indices([0.5, 1.0, 0.8, 2.0, 1.9]) == (3, 3)  # first peak below 1.65
    # Strongest at the smallest distance, then a late wobble: not a peak (ArcGIS would take 3).
    assert bands.peak_indices([14.1, 12.3, 6.4, 1.8, 1.84, 1.62]) == (None, None)
    assert bands.peak_indices([5, 3, 4, 2]) == (None, None)


def test_isa_distances_start_at_max_nn_and_step_by_mean_nn() -> None:
    ii, jj = np.meshgrid(np.arange(30), np.arange(30))
    xy = np.column_stack([ii.ravel(), jj.ravel()]) * 100.0
    d = bands.isa_distances(xy)
    np.testing.assert_allclose(d, 100.0 * np.arange(1, 11))
    small = xy[:40]  # a 30×2 strip: 10 steps of 100 m overshoot one standard distance
    sd = bands.standard_distance(small)
    ds = bands.isa_distances(small)
    assert ds[0] == pytest.approx(100.0) and ds[-1] == pytest.approx(sd)


def test_band_first_peak_on_clustered_counts() -> None:
    ii, jj = np.meshgrid(np.arange(30), np.arange(30))
    xy = np.column_stack([ii.ravel(), jj.ravel()]) * 100.0
    rng = np.random.default_rng(4)
    y = rng.poisson(1.0, len(xy)).astype(float)
    for cx, cy in [(5, 5), (22, 8), (12, 24)]:
        blob = np.hypot(ii.ravel() - cx, jj.ravel() - cy) <= 2.5
        y[blob] += rng.poisson(6.0, blob.sum())
    choice = bands.choose_band(xy, y)
    assert choice.method == "first_peak"
    assert choice.isa is not None
    first, _ = bands.peak_indices(choice.isa.z)
    assert first is not None
    assert choice.band_m == math.ceil(choice.isa.distances[first])
    assert choice.band_m == bands.choose_band(xy, y).band_m  # deterministic
    assert "峰值" in choice.explanation.zh and "first peak" in choice.explanation.en


def test_knn_band_k_rule_cap_and_floor() -> None:
    ii, jj = np.meshgrid(np.arange(20), np.arange(20))
    xy = np.column_stack([ii.ravel(), jj.ravel()]) * 10.0
    band, k, capped = bands.knn_band(xy)
    assert k == 20  # 5 % of 400
    assert not capped
    assert 20.0 <= band <= 30.0  # the 20th neighbour on a unit lattice is at 2.0–2.83 cells
    band_small, k_small, _ = bands.knn_band(xy[:40])
    assert k_small == 3  # 5 % of 40 = 2, clamped to 3
    many = np.random.default_rng(0).uniform(0, 1, (2_000, 2))
    assert bands.knn_band(many)[1] == 30  # clamped to 30
    # Cap: few points far apart make the K-th neighbour farther than one standard distance.
    line = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [1000.0, 0.0], [1001.0, 0.0]])
    capped_band, _, was_capped = bands.knn_band(line)
    assert was_capped and capped_band == pytest.approx(bands.standard_distance(line))


def test_band_falls_back_to_knn_without_peak() -> None:
    ii, jj = np.meshgrid(np.arange(30), np.arange(30))
    xy = np.column_stack([ii.ravel(), jj.ravel()]) * 100.0
    y = (ii.ravel() + jj.ravel()).astype(float)  # a smooth trend: Moran's z rises monotonically
    choice = bands.choose_band(xy, y)
    assert choice.method in ("knn", "knn_capped")
    expected, k, _ = bands.knn_band(xy)
    assert choice.band_m == math.ceil(expected)
    assert f"{k}" in choice.explanation.en


def test_minimum_counts_raise_bilingual_errors() -> None:
    bands.check_incidents(30, has_boundary=True)
    with pytest.raises(HotspotInputError) as err:
        bands.check_incidents(29, has_boundary=True)
    assert "至少需要 30" in err.value.zh and "at least 30" in err.value.en
    with pytest.raises(HotspotInputError, match="at least 60"):
        bands.check_incidents(59, has_boundary=False)
    with pytest.raises(HotspotInputError, match="at least 30 are needed"):
        bands.check_cells(np.arange(29.0))
    with pytest.raises(HotspotInputError) as zero:
        bands.check_cells(np.ones(40))
    assert "方差为零" in zero.value.zh and "zero variance" in zero.value.en
