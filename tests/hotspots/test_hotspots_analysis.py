"""End-to-end Optimized-Hot-Spot-style analysis on synthetic incidents."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import shapely

from gis.hotspots import HotspotInputError, hotspots_from_points
from gis.hotspots.grid import project_lonlat

CLUSTER = np.array([7_000.0, 3_000.0])
CLUSTER_RADIUS = 300.0


def _planted(square: Any, seed: int, n_bg: int = 400, n_cl: int = 150) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    x, y = square.uniform(rng, n_bg)
    r = CLUSTER_RADIUS * np.sqrt(rng.uniform(0, 1, n_cl))
    t = rng.uniform(0, 2 * np.pi, n_cl)
    x = np.concatenate([x, CLUSTER[0] + r * np.cos(t)])
    y = np.concatenate([y, CLUSTER[1] + r * np.sin(t)])
    return square.lonlat(x, y)


def _cell_distance_to_cluster(square: Any, res: Any) -> np.ndarray:
    cx, cy = square.local(res.centre_lon, res.centre_lat)
    return np.hypot(cx - CLUSTER[0], cy - CLUSTER[1])


@pytest.mark.parametrize(("seed", "shape"), [(0, "hex"), (1, "hex"), (5, "square")])
def test_planted_cluster_is_a_99_percent_hot_spot(square: Any, seed: int, shape: Any) -> None:
    lon, lat = _planted(square, seed)
    res = hotspots_from_points(lon, lat, boundary=square.boundary(), shape=shape)
    d = _cell_distance_to_cluster(square, res)
    # Every cell that overlaps the cluster's core: centre within radius + half a cell.
    covering = d <= CLUSTER_RADIUS + res.cell_m / 2
    assert covering.sum() >= 3
    assert np.all(res.bin[covering] == 3)
    # Nothing far from the cluster is a 99 % hot spot, and the uniform background has no
    # significant cold spots at 99 %.
    assert not np.any(res.bin[d > 3_000] == 3)
    assert res.summary()[-3] == 0


def test_homogeneous_poisson_yields_few_significant_cells(square: Any) -> None:
    significant = raw_significant = cells = 0
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        n = rng.poisson(400)
        lon, lat = square.lonlat(*square.uniform(rng, n))
        res = hotspots_from_points(lon, lat, boundary=square.boundary())
        significant += int((np.abs(res.bin) >= 2).sum())
        raw_significant += int((np.abs(res.bin_raw) >= 2).sum())
        cells += len(res)
    # BH controls the false discovery rate: under the null, almost never a 95 % cell.
    assert significant <= 0.02 * cells
    # Without the correction about 5 % of the cells would be flagged.
    assert raw_significant > 2 * significant + 0.01 * cells


def test_boundary_zeros_and_occupied_only(square: Any) -> None:
    lon, lat = _planted(square, 3)
    outside_lon, outside_lat = square.lonlat(np.array([-2_000.0, 12_000.0]), np.array([5e3, 5e3]))
    lon = np.concatenate([lon, outside_lon])
    lat = np.concatenate([lat, outside_lat])
    with_area = hotspots_from_points(lon, lat, boundary=square.boundary(), cell_m=500)
    assert with_area.n_points == 552 and with_area.n_used == 550
    assert with_area.count.sum() == 550
    assert (with_area.count == 0).sum() > 50  # empty cells inside the square count as zeros
    # ~ (10 km / 500 m)² / (√3/2) hexagons cover the square.
    assert abs(len(with_area) - 100e6 / (500**2 * np.sqrt(3) / 2)) < 25
    occupied = hotspots_from_points(lon, lat, cell_m=500)
    assert occupied.count.min() >= 1 and occupied.count.sum() == 552
    assert len(occupied) < len(with_area)
    as_geojson = hotspots_from_points(
        lon, lat, boundary=shapely.geometry.mapping(square.boundary()), cell_m=500
    )
    assert as_geojson.cell_ids() == with_area.cell_ids()
    hull = hotspots_from_points(lon, lat, cell_m=500, use_hull=True)
    assert (hull.count == 0).sum() > 0 and hull.count.sum() == 552


def test_geojson_output(square: Any) -> None:
    lon, lat = _planted(square, 4)
    res = hotspots_from_points(lon, lat, boundary=square.boundary())
    fc = res.to_geojson()
    text = json.dumps(fc, allow_nan=False)  # valid JSON, no NaN
    assert json.loads(text)["type"] == "FeatureCollection"
    assert len(fc["features"]) == len(res)
    f0 = fc["features"][0]
    assert f0["geometry"]["type"] == "Polygon"
    ring = f0["geometry"]["coordinates"][0]
    assert len(ring) == 7 and ring[0] == ring[-1]  # a closed hexagon
    assert 116.9 < ring[0][0] < 117.2 and 35.9 < ring[0][1] < 36.2  # lon/lat, not metres
    props = f0["properties"]
    assert {"count", "z", "p", "bin", "band_m"} <= set(props)
    assert props["band_m"] == res.band_m
    assert sum(f["properties"]["count"] for f in fc["features"]) == res.n_used
    bins = [f["properties"]["bin"] for f in fc["features"]]
    assert bins == res.bin.tolist()
    # Each feature's polygon holds its own centre.
    poly = shapely.geometry.shape(f0["geometry"])
    assert poly.contains(shapely.Point(res.centre_lon[0], res.centre_lat[0]))


def test_user_settings_explanations_and_determinism(square: Any) -> None:
    lon, lat = _planted(square, 5)
    a = hotspots_from_points(lon, lat, cell_m=400, band_m=900, shape="square")
    assert a.cell_m == 400 and a.band_m == 900 and a.band_method == "user"
    keys = [e.key for e in a.explanations]
    assert {"incidents", "cell_size", "distance_band", "neighbours", "result"} <= set(keys)
    assert any("用户指定" in s for s in a.explain("zh"))
    assert any("given by the user" in s for s in a.explain("en"))
    cx, cy = project_lonlat(a.centre_lon, a.centre_lat, a.epsg)
    assert np.allclose(np.mod(cx, 400), 200) and np.allclose(np.mod(cy, 400), 200)
    auto1 = hotspots_from_points(lon, lat)
    auto2 = hotspots_from_points(lon[::-1], lat[::-1])
    assert auto1.cell_m == auto2.cell_m and auto1.band_m == auto2.band_m
    assert auto1.cell_ids() == auto2.cell_ids()
    np.testing.assert_allclose(auto1.z, auto2.z, atol=1e-12)
    assert all(e.zh and e.en for e in auto1.explanations)
    assert auto1.epsg == 4548


def test_permutation_option(square: Any) -> None:
    lon, lat = _planted(square, 6)
    res = hotspots_from_points(lon, lat, permutations=99, seed=3, cell_m=500, band_m=1000)
    assert res.p_sim is not None and res.permutations == 99
    assert res.p_sim.min() == pytest.approx(2 / 100)  # two-sided
    again = hotspots_from_points(lon, lat, permutations=99, seed=3, cell_m=500, band_m=1000)
    np.testing.assert_array_equal(res.p_sim, again.p_sim)


def test_too_few_points_raise(square: Any) -> None:
    rng = np.random.default_rng(7)
    lon, lat = square.lonlat(*square.uniform(rng, 45))
    with pytest.raises(HotspotInputError) as err:
        hotspots_from_points(lon, lat)
    assert "至少需要 60" in err.value.zh and "at least 60" in err.value.en
    assert "45" in str(err.value)
    with pytest.raises(HotspotInputError, match="at least 30"):
        hotspots_from_points(lon[:20], lat[:20], boundary=square.boundary())
    # 45 incidents are enough with a boundary.
    assert len(hotspots_from_points(lon, lat, boundary=square.boundary())) >= 30


def test_automatic_grid_shrinks_to_reach_30_cells(square: Any) -> None:
    rng = np.random.default_rng(8)
    centres = rng.uniform(1_000, 9_000, (4, 2))
    pts = np.repeat(centres, 20, axis=0) + rng.normal(0, 150, (80, 2))
    pts = np.vstack([pts, rng.uniform(0, 10_000, (10, 2))])
    lon, lat = square.lonlat(pts[:, 0], pts[:, 1])
    res = hotspots_from_points(lon, lat)
    assert len(res) >= 30
    shrunk = [e for e in res.explanations if e.key == "cell_size_shrunk"]
    assert shrunk and shrunk[0].value == res.cell_m
    first = next(e for e in res.explanations if e.key == "cell_size")
    assert res.cell_m < first.value  # type: ignore[operator]


def test_a_band_below_the_cell_spacing_is_refused_naming_the_smallest_band(square: Any) -> None:
    lon, lat = _planted(square, 6)
    for shape in ("hex", "square"):
        with pytest.raises(HotspotInputError) as err:
            hotspots_from_points(lon, lat, cell_m=500, band_m=300, shape=shape)
        assert "最小合理的距离阈值为 500 米" in err.value.zh
        assert "小于格网间距 500 米" in err.value.zh
        assert "smallest sensible band is 500 m" in err.value.en
        assert "300 m is below the cell spacing of 500 m" in err.value.en
    # The spacing itself is accepted: every cell then has its adjacent cells as neighbours.
    res = hotspots_from_points(lon, lat, cell_m=500, band_m=500, shape="square")
    assert res.band_m == 500 and res.n_neighbours.max() == 5


def test_the_incremental_autocorrelation_curve_is_returned(square: Any) -> None:
    # 400 uniform incidents and 200 within 1.2 km of one place: Moran's I peaks at a scale.
    rng = np.random.default_rng(7)
    r, t = 1200 * np.sqrt(rng.uniform(0, 1, 200)), rng.uniform(0, 2 * np.pi, 200)
    x = np.r_[rng.uniform(0, 10_000, 400), 3000 + r * np.cos(t)]
    y = np.r_[rng.uniform(0, 10_000, 400), 7000 + r * np.sin(t)]
    auto = hotspots_from_points(*square.lonlat(x, y))
    assert auto.band_method == "first_peak"
    bands_m = [c["band_m"] for c in auto.band_curve]
    assert len(bands_m) >= 2 and bands_m == sorted(bands_m)
    peak = int(np.argmin(np.abs(np.array(bands_m) - auto.band_m)))
    assert abs(bands_m[peak] - auto.band_m) <= 1.0  # the band is the peak, rounded up to 1 m
    zs = [c["z"] for c in auto.band_curve]
    assert zs[peak] is not None and zs[peak] > 1.65
    assert all(z is None or z <= zs[peak] for z in zs[:peak])
    assert zs[peak + 1] is None or zs[peak + 1] < zs[peak]
    json.dumps(auto.band_curve, allow_nan=False)
    lon, lat = _planted(square, 6)
    assert hotspots_from_points(lon, lat, cell_m=500, band_m=1000).band_curve == []
