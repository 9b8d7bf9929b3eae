"""Quartic KDE: ArcGIS's default radius and cell size, mass conservation, exact kernel."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gis.hotspots.errors import HotspotInputError
from gis.hotspots.kde import (
    default_cell,
    default_radius,
    heat_points,
    kde_from_lonlat,
    kde_surface,
    weighted_median,
)


def test_default_radius_standard_distance_branch() -> None:
    # Mean centre (0, 0); distances 1,1,1,1,3,3,3,3 → SD = √5, Dm = 2, √(1/ln2)·2 ≈ 2.40 > √5.
    x = np.array([1.0, -1, 0, 0, 3, -3, 0, 0])
    y = np.array([0.0, 0, 1, -1, 0, 0, 3, -3])
    assert default_radius(x, y) == pytest.approx(0.9 * math.sqrt(5.0) * 8**-0.2, rel=1e-12)


def test_default_radius_median_distance_branch() -> None:
    # Six points on the unit circle and two at ±10: SD = √25.75 ≈ 5.07 but Dm = 1.
    ang = np.deg2rad(np.arange(0, 360, 60))
    x = np.concatenate([np.cos(ang), [10.0, -10.0]])
    y = np.concatenate([np.sin(ang), [0.0, 0.0]])
    expected = 0.9 * math.sqrt(1 / math.log(2)) * 1.0 * 8**-0.2
    assert default_radius(x, y) == pytest.approx(expected, rel=1e-12)


def test_weights_scale_n_and_the_centre() -> None:
    x = np.array([1.0, -1, 0, 0, 3, -3, 0, 0])
    y = np.array([0.0, 0, 1, -1, 0, 0, 3, -3])
    # Population 2 everywhere: same centre, SD and Dm, but n = Σw = 16.
    assert default_radius(x, y, np.full(8, 2.0)) == pytest.approx(
        0.9 * math.sqrt(5.0) * 16**-0.2, rel=1e-12
    )
    assert weighted_median([1.0, 2.0, 10.0], [1.0, 1.0, 5.0]) == 10.0
    assert weighted_median([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0]) == 2.5


def test_default_cell_is_short_side_over_250() -> None:
    x = np.array([0.0, 5_000.0, 2_000.0])
    y = np.array([0.0, 2_500.0, 100.0])
    assert default_cell(x, y) == pytest.approx(2_500.0 / 250)


def test_surface_integrates_to_n_and_matches_the_kernel() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1_000, 500)
    y = rng.normal(0, 600, 500)
    surf = kde_surface(x, y)
    assert surf.total() == pytest.approx(500, rel=0.01)
    assert surf.cell == pytest.approx(min(np.ptp(x), np.ptp(y)) / 250)
    assert surf.radius == pytest.approx(default_radius(x, y))
    # Brute-force the quartic kernel at every cell centre of a small surface.
    xs, ys = x[:40] / 5, y[:40] / 5
    small = kde_surface(xs, ys, radius=150.0, cell=10.0)
    cx, cy = small.centres()
    d2 = (cx[..., None] - xs) ** 2 + (cy[..., None] - ys) ** 2
    k = np.where(d2 < 150.0**2, 3 / (math.pi * 150.0**2) * (1 - d2 / 150.0**2) ** 2, 0.0)
    np.testing.assert_allclose(small.density, k.sum(axis=-1), rtol=1e-12, atol=1e-18)
    # Raster layout: row 0 is the north edge; transform maps (col, row) to the top-left corner.
    a, b, c, d, e, f = small.transform
    assert (a, b, d, e) == (10.0, 0.0, 0.0, -10.0)
    assert c == pytest.approx(xs.min() - 150.0) and f == pytest.approx(ys.max() + 150.0)


def test_weighted_surface_integrates_to_the_weight_sum() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 2_000, 200), rng.uniform(0, 1_000, 200)
    w = rng.integers(1, 5, 200).astype(float)
    assert kde_surface(x, y, w).total() == pytest.approx(w.sum(), rel=0.01)
    unpadded = kde_surface(x, y, w, pad=False)
    assert unpadded.total() < 0.99 * w.sum()  # ArcGIS-like extent loses edge mass


def test_heat_points_from_lonlat() -> None:
    rng = np.random.default_rng(2)
    lon = 117.0 + rng.normal(0, 0.01, 300)
    lat = 36.0 + rng.normal(0, 0.01, 300)
    surf = kde_from_lonlat(lon, lat)
    assert surf.epsg == 4548
    hl, hb, hw = heat_points(surf, min_relative=0.2)
    assert hw.max() == pytest.approx(1.0) and hw.min() >= 0.2
    peak = np.argmax(hw)
    assert abs(hl[peak] - 117.0) < 0.01 and abs(hb[peak] - 36.0) < 0.01


def test_degenerate_input_raises() -> None:
    with pytest.raises(HotspotInputError):
        default_radius(np.ones(5), np.ones(5))
    with pytest.raises(HotspotInputError):
        kde_surface(np.array([]), np.array([]))
