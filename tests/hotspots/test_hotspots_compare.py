"""Change classes between two Gi* maps, and counting onto fixed cells."""

from __future__ import annotations

import numpy as np

from gis.hotspots.compare import (
    CHANGES,
    VERSUS,
    change_class,
    counts_on_cells,
    gi_on_cells,
    side_class,
    versus_class,
    versus_labels,
)
from gis.hotspots.gistar import fdr_bins, gi_star
from gis.hotspots.grid import Grid


def test_change_classes_cover_every_pair_of_bins() -> None:
    a = [0, 2, 3, 0, -1, -2, 0, 1, -3]
    b = [3, 1, 0, -2, -3, 0, 0, -1, 2]
    assert change_class(a, b) == [
        "became_hot", "stayed_hot", "cooled", "became_cold", "stayed_cold", "warmed",
        "unchanged", "cooled", "became_hot",
    ]
    assert set(change_class(a, b)) <= set(CHANGES)


def test_counts_on_fixed_cells_drop_points_outside_them() -> None:
    grid = Grid(100.0, "square")
    ix, iy = np.array([0, 1, 2]), np.array([0, 0, 0])
    x = np.array([10.0, 150.0, 160.0, 250.0, 950.0])
    y = np.array([10.0, 20.0, 30.0, 40.0, 950.0])
    assert counts_on_cells(grid, ix, iy, x, y).tolist() == [1, 2, 1]


def test_gi_on_cells_equals_gi_star_and_handles_flat_counts() -> None:
    rng = np.random.default_rng(0)
    ii, jj = np.meshgrid(np.arange(15), np.arange(15))
    xy = np.column_stack([ii.ravel(), jj.ravel()]) * 100.0
    c = rng.poisson(2, 225).astype(float)
    c[:20] += 6
    side = gi_on_cells(xy, c, 150.0)
    ref = gi_star(xy, c, 150.0)
    np.testing.assert_allclose(side.z, ref.z)
    np.testing.assert_array_equal(side.bin, fdr_bins(ref.z, ref.p))
    flat = gi_on_cells(xy, np.zeros(225), 150.0)  # a side without incidents: nothing significant
    assert not flat.bin.any() and np.all(flat.p == 1)


def test_two_categories_are_hot_for_both_one_or_neither() -> None:
    a = [3, 1, 0, 0, -2, 2, -1]
    b = [2, 0, 1, 0, 3, -3, -1]
    assert versus_class(a, b) == [
        "hot_both", "hot_a_only", "hot_b_only", "hot_neither", "hot_b_only", "hot_a_only",
        "hot_neither",
    ]
    names = versus_labels(("扬尘", "Dust"), ("工业", "Industrial"))
    assert list(names) == list(VERSUS)
    assert names["hot_a_only"] == ("仅扬尘为热点", "Hot spot for Dust only")
    assert names["hot_both"] == ("扬尘与工业均为热点", "Hot spot for both Dust and Industrial")


def test_each_side_is_hot_cold_or_none_at_the_bins_confidence() -> None:
    assert [side_class(b) for b in (3, 2, 1, 0, -1, -2, -3)] == [
        ("hot", 99), ("hot", 95), ("hot", 90), ("none", 0), ("cold", 90), ("cold", 95),
        ("cold", 99),
    ]
