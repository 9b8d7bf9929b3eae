"""Emerging hot spots: one fixture per Esri category, Mann-Kendall, space-time Gi*."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gis.hotspots.errors import HotspotInputError
from gis.hotspots.gistar import gi_star
from gis.hotspots.grid import Grid
from gis.hotspots.trends import (
    CATEGORIES,
    classify,
    classify_cube,
    emerging_hotspots,
    mann_kendall,
    space_time_cube,
    space_time_gi_star,
)

HOT_FIXTURES: dict[str, tuple[list[int], str]] = {
    "new_hot": ([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], "no trend"),
    "consecutive_hot": ([0, 0, 0, 0, 0, 0, 0, 1, 2, 3], "increasing"),
    "intensifying_hot": ([1, 1, 2, 2, 2, 3, 3, 3, 3, 3], "increasing"),
    "persistent_hot": ([2, 2, 2, 2, 2, 2, 2, 2, 2, 2], "no trend"),
    "diminishing_hot": ([3, 3, 3, 3, 3, 2, 2, 2, 1, 1], "decreasing"),
    "sporadic_hot": ([0, 1, 0, 0, 2, 0, 1, 0, 0, 1], "no trend"),
    "oscillating_hot": ([-2, 0, 1, 0, 0, -1, 0, 0, 0, 2], "no trend"),
    "historical_hot": ([2, 2, 2, 2, 2, 2, 2, 2, 2, 0], "decreasing"),
}
MIRROR = {"increasing": "decreasing", "decreasing": "increasing", "no trend": "no trend"}


@pytest.mark.parametrize("key", sorted(HOT_FIXTURES))
def test_each_hot_category(key: str) -> None:
    bins, trend = HOT_FIXTURES[key]
    assert classify(bins, trend) == key


@pytest.mark.parametrize("key", sorted(HOT_FIXTURES))
def test_each_cold_category_mirrors_the_hot_one(key: str) -> None:
    bins, trend = HOT_FIXTURES[key]
    cold = key.replace("_hot", "_cold")
    assert classify([-b for b in bins], MIRROR[trend]) == cold


@pytest.mark.parametrize(
    "bins",
    [[0] * 10, [0, 1, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, -1, 0, 2, 0, 0, 0, 0]],
)
def test_no_pattern(bins: list[int]) -> None:
    assert classify(bins, "no trend") == "no_pattern"


def test_rule_boundaries() -> None:
    # 9 of 10 hot, final hot, no trend: the 90 % rule makes it persistent, not consecutive.
    assert classify([0, 1, 1, 1, 1, 1, 1, 1, 1, 1], "no trend") == "persistent_hot"
    # 8 of 10 in one final run: consecutive.
    assert classify([0, 0, 1, 1, 1, 1, 1, 1, 1, 1], "increasing") == "consecutive_hot"
    # A hot final run of 1 after earlier hot steps: sporadic, not new.
    assert classify([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], "no trend") == "sporadic_hot"
    # Hot before a final run: sporadic, not consecutive.
    assert classify([1, 0, 0, 0, 0, 0, 0, 1, 1, 1], "no trend") == "sporadic_hot"
    # Intensifying needs the final step hot: otherwise historical.
    assert classify([1] * 9 + [0], "increasing") == "historical_hot"
    # 18 of 20 is exactly 90 %.
    assert classify([0, 0] + [1] * 18, "no trend") == "persistent_hot"
    assert classify([0, 0, 0] + [1] * 17, "no trend") == "consecutive_hot"
    # Esri's list order decides overlaps: first-ever hot after cold history is "new".
    assert classify([-1, 0, 0, 0, 0, 0, 0, 0, 0, 1], "no trend") == "new_hot"
    # Hot patterns come before cold ones.
    assert classify([1] * 9 + [-1], "no trend") == "historical_hot"


def test_categories_table_is_esri_complete() -> None:
    codes = sorted(v[0] for v in CATEGORIES.values())
    assert codes == list(range(-8, 9))
    assert CATEGORIES["intensifying_hot"][:2] == (3, "Intensifying Hot Spot")
    assert CATEGORIES["no_pattern"][0] == 0
    with pytest.raises(ValueError):
        classify([1, 1], "upward")


def test_mann_kendall_sign_on_rising_and_falling_series() -> None:
    rng = np.random.default_rng(0)
    rising = np.arange(12.0) + rng.normal(0, 0.5, 12)
    res = mann_kendall(np.vstack([rising, rising[::-1], np.zeros(12)]))
    assert res.trend.tolist() == ["increasing", "decreasing", "no trend"]
    assert res.z[0] > 0 > res.z[1] and res.z[2] == 0
    assert res.slope[0] > 0 > res.slope[1]
    assert res.p[0] < 0.05 and res.p[2] == 1.0


def test_mann_kendall_hand_example_with_ties() -> None:
    res = mann_kendall([1.0, 2.0, 2.0, 3.0])
    # S = 5; Var = (4·3·13 − 2·1·9) / 18 = 138/18; z = (S − 1)/√Var; τ = 5/6.
    assert res.s[0] == 5
    assert res.var_s[0] == pytest.approx(138 / 18)
    assert res.z[0] == pytest.approx(4 / math.sqrt(138 / 18))
    assert res.tau[0] == pytest.approx(5 / 6)
    assert res.slope[0] == pytest.approx((0.5 + 2 / 3) / 2)  # Sen's slope: median pair slope
    assert res.trend[0] == "no trend"  # n = 4 is too short for significance


def _lattice(n: int, spacing: float = 100.0) -> np.ndarray:
    ii, jj = np.meshgrid(np.arange(n), np.arange(n))
    return np.column_stack([ii.ravel(), jj.ravel()]) * spacing


def test_space_time_gi_star_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    xy = _lattice(5)
    counts = rng.poisson(2.0, (25, 6)).astype(float)
    z, p = space_time_gi_star(counts, xy, 150.0, time_window=1)
    n = counts.size
    mean = counts.mean()
    s = math.sqrt((counts**2).mean() - mean**2)
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    for loc in (0, 7, 12):
        for t in (0, 3, 5):
            nb = dist[loc] <= 150.0
            steps = slice(max(t - 1, 0), t + 1)
            window = counts[nb, steps]
            k = window.size
            expected = (window.sum() - mean * k) / (s * math.sqrt((n * k - k * k) / (n - 1)))
            assert z[loc, t] == pytest.approx(expected, rel=1e-10)
    assert np.allclose(p, 2 * (1 - 0.5 * (1 + np.vectorize(math.erf)(np.abs(z) / math.sqrt(2)))))
    # One step with no temporal window is plain Gi*.
    z1, _ = space_time_gi_star(counts[:, :1], xy, 150.0, time_window=0)
    np.testing.assert_allclose(z1[:, 0], gi_star(xy, counts[:, 0], 150.0).z, rtol=1e-12)


def test_emerging_hotspots_end_to_end() -> None:
    rng = np.random.default_rng(11)
    xy = _lattice(10)
    ii, jj = (xy / 100).T
    steps = 12
    counts = rng.poisson(2.0, (100, steps)).astype(float)
    emerging = np.hypot(ii - 2, jj - 2) <= 1.5
    counts[emerging, 9:] += rng.poisson(10.0, (emerging.sum(), 3))
    persistent = np.hypot(ii - 7, jj - 7) <= 1.5
    counts[persistent, :] += rng.poisson(8.0, (persistent.sum(), steps))
    res = emerging_hotspots(counts, xy, 150.0)
    centre_a = int(np.flatnonzero((ii == 2) & (jj == 2))[0])
    centre_b = int(np.flatnonzero((ii == 7) & (jj == 7))[0])
    assert res.pattern[centre_a] == "consecutive_hot"
    assert res.category[centre_a] == 2
    assert res.trend_counts.s[centre_a] > 0  # rising counts (3 late steps: not yet significant)
    assert res.pattern[centre_b] in ("persistent_hot", "intensifying_hot", "diminishing_hot")
    assert res.pattern_names("zh")[centre_a] == "连续热点"
    assert res.pattern_names("en")[centre_a] == "Consecutive Hot Spot"
    assert sum(res.tally().values()) == 100
    assert res.bins.shape == counts.shape
    # The same classification from the precomputed z and bins.
    again = classify_cube(res.z, res.bins, counts)
    assert again.pattern == res.pattern


def test_emerging_needs_ten_steps() -> None:
    counts = np.random.default_rng(0).poisson(2.0, (25, 9)).astype(float)
    with pytest.raises(HotspotInputError, match="at least 10"):
        emerging_hotspots(counts, _lattice(5), 150.0)


def test_space_time_cube_counts_points_per_cell_and_step() -> None:
    grid = Grid(100.0, "square")
    x = np.array([10.0, 20.0, 150.0, 150.0, 30.0])
    y = np.array([10.0, 20.0, 50.0, 50.0, 40.0])
    step = np.array([0, 0, 1, 2, 2])
    cube = space_time_cube(grid, x, y, step, 3)
    assert cube.counts.tolist() == [[2, 0, 1], [0, 1, 1]]
    assert cube.ix.tolist() == [0, 1] and cube.iy.tolist() == [0, 0]
    np.testing.assert_allclose(cube.xy, [[50.0, 50.0], [150.0, 50.0]])
    with pytest.raises(ValueError):
        space_time_cube(grid, x, y, step, 2)


def test_space_time_cube_over_given_cells_keeps_the_empty_ones() -> None:
    grid = Grid(100.0, "square")
    x = np.array([10.0, 20.0, 150.0, 150.0, 30.0])
    y = np.array([10.0, 20.0, 50.0, 50.0, 40.0])
    step = np.array([0, 0, 1, 2, 2])
    # The study area's cells: a 3 × 2 block, listed in an arbitrary order.
    ix = np.array([2, 1, 0, 2, 1, 0])
    iy = np.array([1, 1, 1, 0, 0, 0])
    cube = space_time_cube(grid, x, y, step, 3, cells=(ix, iy))
    assert cube.ix.tolist() == ix.tolist() and cube.iy.tolist() == iy.tolist()
    assert cube.counts.tolist() == [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 1, 1],
                                    [2, 0, 1]]
    assert cube.counts.sum() == x.size
    with pytest.raises(ValueError, match="outside"):
        space_time_cube(grid, x, y, step, 3, cells=(ix[:3], iy[:3]))
    with pytest.raises(ValueError, match="repeat"):
        space_time_cube(grid, x, y, step, 3, cells=(np.r_[ix, 0], np.r_[iy, 0]))
