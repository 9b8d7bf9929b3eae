"""Change classes between two Gi* maps, and counting onto fixed cells."""

from __future__ import annotations

import numpy as np

from gis.hotspots.compare import CHANGES, change_class, counts_on_cells, gi_on_cells
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
