"""Grids, Gauss-Krüger zone choice and point counting."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import CRS

from gis.hotspots.errors import HotspotInputError
from gis.hotspots.grid import (
    Grid,
    count_points,
    gk_central_meridian,
    gk_epsg_for_lon,
    project_lonlat,
    transform_geometries,
    unproject_xy,
)


@pytest.mark.parametrize(
    ("lon", "cm", "epsg"),
    [
        (117.2, 117, 4548),
        (118.6, 120, 4549),  # 118.6/3 = 39.53 rounds to 40
        (75.0, 75, 4534),
        (70.0, 75, 4534),  # clamped west
        (135.0, 135, 4554),
        (140.0, 135, 4554),  # clamped east
        (106.49, 105, 4544),
    ],
)
def test_gauss_kruger_zone(lon: float, cm: int, epsg: int) -> None:
    assert gk_central_meridian(lon) == cm
    assert gk_epsg_for_lon(lon) == epsg
    assert CRS.from_epsg(epsg).name == f"CGCS2000 / 3-degree Gauss-Kruger CM {cm}E"


def test_projection_round_trip_and_false_easting() -> None:
    lon = np.array([117.0, 117.5, 116.8])
    lat = np.array([36.0, 36.2, 35.9])
    x, y = project_lonlat(lon, lat, 4548)
    assert x[0] == pytest.approx(500_000.0, abs=1e-6)  # on the central meridian
    assert 3.9e6 < y[0] < 4.1e6
    back_lon, back_lat = unproject_xy(x, y, 4548)
    np.testing.assert_allclose(back_lon, lon, atol=1e-9)
    np.testing.assert_allclose(back_lat, lat, atol=1e-9)


@pytest.mark.parametrize(
    ("shape", "orientation", "corners"),
    [("hex", "flat", 6), ("hex", "pointy", 6), ("square", "flat", 4)],
)
def test_points_fall_in_their_cells(shape: str, orientation: str, corners: int) -> None:
    grid = Grid(250.0, shape, orientation)  # type: ignore[arg-type]
    rng = np.random.default_rng(7)
    x = 500_000 + rng.uniform(-5_000, 5_000, 3_000)
    y = 4_000_000 + rng.uniform(-5_000, 5_000, 3_000)
    ix, iy = grid.cell_of(x, y)
    polys = grid.polygons(ix, iy)
    assert shapely.get_num_coordinates(polys[0]) == corners + 1
    assert np.all(shapely.intersects_xy(polys, x, y))
    np.testing.assert_allclose(shapely.area(polys), grid.cell_area, rtol=1e-9)
    # The nearest centre is the cell's own centre (hexagons and squares are Voronoi cells).
    cx, cy = grid.centres(ix, iy)
    if shape == "square":
        assert np.all(np.maximum(np.abs(x - cx), np.abs(y - cy)) <= grid.cell_m / 2 + 1e-9)
        return
    own = np.hypot(x - cx, y - cy)
    for di, dj in [(1, 0), (0, 1), (-1, 0), (0, -1), (1, -1), (-1, 1)]:
        ox, oy = grid.centres(ix + di, iy + dj)
        assert np.all(own <= np.hypot(x - ox, y - oy) + 1e-9)


@pytest.mark.parametrize("orientation", ["flat", "pointy"])
def test_hexagon_dimensions_follow_arcgis(orientation: str) -> None:
    grid = Grid(300.0, "hex", orientation)  # type: ignore[arg-type]
    poly = grid.polygons(np.array([4]), np.array([-2]))[0]
    minx, miny, maxx, maxy = poly.bounds
    side = 300.0 / np.sqrt(3.0)
    across_flats, across_corners = 300.0, 2 * side
    if orientation == "flat":
        assert (maxx - minx, maxy - miny) == pytest.approx((across_corners, across_flats))
    else:
        assert (maxx - minx, maxy - miny) == pytest.approx((across_flats, across_corners))
    # The six neighbours' centres are exactly one cell_m away.
    cx, cy = grid.centres(np.array([0]), np.array([0]))
    for di, dj in [(1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1)]:
        nx, ny = grid.centres(np.array([di]), np.array([dj]))
        assert np.hypot(nx - cx, ny - cy)[0] == pytest.approx(300.0)


def test_count_points_is_exact_and_sorted() -> None:
    grid = Grid(100.0, "square")
    x = np.array([10.0, 20.0, 150.0, 150.0, 150.0, -10.0])
    y = np.array([10.0, 90.0, 10.0, 20.0, 30.0, 5.0])
    cc = count_points(grid, x, y)
    got = {(int(i), int(j)): int(c) for i, j, c in zip(cc.ix, cc.iy, cc.count, strict=True)}
    assert got == {(0, 0): 2, (1, 0): 3, (-1, 0): 1}
    assert cc.count.sum() == x.size
    # Every point maps back to the row of its own cell.
    pi, pj = grid.cell_of(x, y)
    np.testing.assert_array_equal(cc.ix[cc.point_cell], pi)
    np.testing.assert_array_equal(cc.iy[cc.point_cell], pj)


def test_count_points_sparse_fallback_matches_dense() -> None:
    grid = Grid(10.0, "hex")
    rng = np.random.default_rng(3)
    # Two far-apart clusters make the dense bounding lattice too big, forcing np.unique.
    x = np.concatenate([rng.uniform(0, 100, 500), 5e6 + rng.uniform(0, 100, 500)])
    y = np.concatenate([rng.uniform(0, 100, 500), 5e6 + rng.uniform(0, 100, 500)])
    cc = count_points(grid, x, y)
    assert cc.count.sum() == 1000
    pi, pj = grid.cell_of(x, y)
    np.testing.assert_array_equal(cc.ix[cc.point_cell], pi)
    np.testing.assert_array_equal(cc.iy[cc.point_cell], pj)
    keys = {(int(a), int(b)) for a, b in zip(pi, pj, strict=True)}
    assert len(keys) == cc.ix.size


def test_cells_with_centre_in_polygon_and_back_to_wgs84() -> None:
    grid = Grid(200.0, "hex")
    area = shapely.box(500_000, 4_000_000, 502_000, 4_001_000)
    ix, iy = grid.cells_with_centre_in(area)
    cx, cy = grid.centres(ix, iy)
    assert np.all(shapely.intersects_xy(area, cx, cy))
    # Same set as brute force over a generous range of ids.
    bi, bj = np.meshgrid(np.arange(2850, 2950), np.arange(18500, 18600))
    bx, by = grid.centres(bi.ravel(), bj.ravel())
    inside = shapely.intersects_xy(area, bx, by)
    assert inside.sum() == ix.size
    expected = set(zip(bi.ravel()[inside].tolist(), bj.ravel()[inside].tolist(), strict=True))
    assert set(zip(ix.tolist(), iy.tolist(), strict=True)) == expected
    wgs = transform_geometries(grid.polygons(ix, iy), 4548, 4326)
    lon, lat = unproject_xy(cx, cy, 4548)
    assert np.all(shapely.intersects_xy(wgs, lon, lat))
    assert 116.9 < wgs[0].centroid.x < 117.1


def test_grid_rejects_bad_cell_size() -> None:
    with pytest.raises(HotspotInputError):
        Grid(0.0)
    with pytest.raises(HotspotInputError, match="too fine"):
        Grid(0.01).cells_with_centre_in(shapely.box(0, 0, 10_000, 10_000))
