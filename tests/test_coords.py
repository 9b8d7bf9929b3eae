"""Tests for gis.geo.coords: GCJ-02/BD-09 vectors, inverses, validation, DMS parsing and metres."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pyproj import CRS, Transformer

from gis.geo import coords
from gis.geo.coords import CoordinateError

REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"
VECTORS = REALDATA / "gcj02_vectors.json"

# The sources compare at 1e-11 degrees for the exact formulas (SOURCES.md: max diff 2.8e-11).
EXACT_TOL_DEG = 1e-9
# Two eviltransform "shenzhen" entries carry digit typos (+1e-7, +1e-6 degrees); their own tests
# compare at 5-6 decimals, so that is their published tolerance.
TYPO_VARIANT_TOL_DEG = 2e-6
# Published approximate inverses are within 0.06-1.15 m of the true WGS-84 point.
APPROX_INVERSE_MAX_M = 1.5


def load_vectors() -> list[dict[str, Any]]:
    """Return the published test vectors, skipping the test when the shared folder is absent."""
    if not VECTORS.is_file():
        pytest.skip("shared/realdata is not present in this clone")
    return json.loads(VECTORS.read_text(encoding="utf-8"))


def close(got: tuple[float, float], want: list[float], tol: float) -> bool:
    """Return whether two lon/lat pairs agree within tol degrees on both axes."""
    return abs(got[0] - want[0]) <= tol and abs(got[1] - want[1]) <= tol


def china_grid(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Return a lon/lat grid across China (Pamirs to Heilongjiang, Hainan to Mohe)."""
    lon, lat = np.meshgrid(np.linspace(73.6, 134.9, n), np.linspace(18.2, 53.5, n))
    return lon.ravel(), lat.ravel()


# ---------------------------------------------------------------------------------------------
# Published vectors
# ---------------------------------------------------------------------------------------------


def test_every_published_vector() -> None:
    """Every reference vector in gcj02_vectors.json is reproduced within its published tolerance."""
    vectors = load_vectors()
    checked = 0
    for v in vectors:
        if v.get("bd09_variant"):
            continue  # non-standard BD-09 formula: not a reference value
        label, direction = v["label"], v["direction"]
        tol = TYPO_VARIANT_TOL_DEG if "variant" in label else EXACT_TOL_DEG
        wgs, gcj, bd = v["wgs84"], v["gcj02"], v["bd09"]
        if direction == "wgs84->gcj02":
            assert close(coords.wgs84_to_gcj02(*wgs), gcj, tol), label
        elif direction == "wgs84->bd09":
            assert close(coords.wgs84_to_bd09(*wgs), bd, tol), label
        elif direction == "gcj02->bd09":
            assert close(coords.gcj02_to_bd09(*gcj), bd, tol), label
        elif direction == "bd09->gcj02":
            assert close(coords.bd09_to_gcj02(*bd), gcj, tol), label
        elif direction == "gcj02->wgs84":
            assert not v["exact_forward"]
            # The published value is the one-step inverse; ours reproduces it exactly ...
            assert close(coords.gcj02_to_wgs84_approx(*gcj), wgs, EXACT_TOL_DEG), label
            # ... while the iterative inverse maps back onto the GCJ-02 input exactly.
            exact = coords.gcj02_to_wgs84(*gcj)
            assert close(coords.wgs84_to_gcj02(*exact), gcj, EXACT_TOL_DEG), label
            assert coords.distance_m(*exact, *wgs) < APPROX_INVERSE_MAX_M, label
        elif direction == "bd09->wgs84":
            assert not v["exact_forward"]
            step = coords.gcj02_to_wgs84_approx(*coords.bd09_to_gcj02(*bd))
            assert close(step, wgs, EXACT_TOL_DEG), label
            exact = coords.bd09_to_wgs84(*bd)
            assert close(coords.wgs84_to_bd09(*exact), bd, EXACT_TOL_DEG), label
            assert coords.distance_m(*exact, *wgs) < APPROX_INVERSE_MAX_M, label
        else:
            pytest.fail(f"unknown direction {direction!r} in {label}")
        checked += 1
    assert checked >= 20


def test_bd09_variant_vectors_are_not_standard() -> None:
    """The flagged eviltransform BD-09 vectors really are metres off the standard formula."""
    variants = [v for v in load_vectors() if v.get("bd09_variant")]
    assert len(variants) == 2
    for v in variants:
        ours = coords.bd09_to_wgs84(*v["bd09"])
        assert coords.distance_m(*ours, *v["wgs84"]) > 5.0


def test_vectorised_matches_scalar() -> None:
    """Array input gives the same answers as scalar input, in arrays of the same shape."""
    lon, lat = china_grid(7)
    gx, gy = coords.wgs84_to_gcj02(lon, lat)
    assert isinstance(gx, np.ndarray) and gx.shape == lon.shape
    for i in (0, 10, 48):
        sx, sy = coords.wgs84_to_gcj02(float(lon[i]), float(lat[i]))
        assert isinstance(sx, float)
        assert sx == pytest.approx(gx[i], abs=1e-12) and sy == pytest.approx(gy[i], abs=1e-12)
    bx, by = coords.gcj02_to_bd09(lon.reshape(7, 7), lat.reshape(7, 7))
    assert bx.shape == (7, 7)


# ---------------------------------------------------------------------------------------------
# Inverses and round trips
# ---------------------------------------------------------------------------------------------


def test_iterative_inverse_round_trip_across_china() -> None:
    """Iterative GCJ-02 inverse returns to the WGS-84 start within 1e-6 deg (in fact ~1e-12)."""
    lon, lat = china_grid()
    gx, gy = coords.wgs84_to_gcj02(lon, lat)
    wx, wy = coords.gcj02_to_wgs84(gx, gy)
    assert np.max(np.abs(wx - lon)) < 1e-6
    assert np.max(np.abs(wy - lat)) < 1e-6
    assert np.max(coords.distance_m(wx, wy, lon, lat)) < 1e-3


def test_single_step_inverse_is_worse() -> None:
    """The one-step inverse errs by more than a metre somewhere in China; iteration fixes that."""
    lon, lat = china_grid()
    gx, gy = coords.wgs84_to_gcj02(lon, lat)
    ax, ay = coords.gcj02_to_wgs84_approx(gx, gy)
    one_step = coords.distance_m(ax, ay, lon, lat)
    iterated = coords.distance_m(*coords.gcj02_to_wgs84(gx, gy), lon, lat)
    assert np.max(one_step) > 1.0
    assert np.max(iterated) < 0.01
    offset = coords.distance_m(gx, gy, lon, lat)
    assert np.median(offset) > 100.0  # the shift itself is hundreds of metres


def test_bd09_round_trip() -> None:
    """WGS-84 -> BD-09 -> WGS-84 and GCJ-02 -> BD-09 -> GCJ-02 round trips close to millimetres."""
    lon, lat = china_grid(30)
    bx, by = coords.wgs84_to_bd09(lon, lat)
    wx, wy = coords.bd09_to_wgs84(bx, by)
    assert np.max(coords.distance_m(wx, wy, lon, lat)) < 0.01
    gx, gy = coords.wgs84_to_gcj02(lon, lat)
    rx, ry = coords.bd09_to_gcj02(*coords.gcj02_to_bd09(gx, gy), refine=True)
    assert np.max(np.abs(rx - gx)) < 1e-9 and np.max(np.abs(ry - gy)) < 1e-9
    # The closed-form standard BD-09 inverse alone is good to decimetres only.
    sx, sy = coords.bd09_to_gcj02(*coords.gcj02_to_bd09(gx, gy))
    assert np.max(coords.distance_m(sx, sy, gx, gy)) < 1.0


@pytest.mark.parametrize(
    "lon,lat",
    [(-104.9903, 39.7392), (153.0251, -27.4698), (2.3522, 48.8566), (139.69, 35.69), (70.0, 40.0)],
)
def test_outside_china_passes_through(lon: float, lat: float) -> None:
    """GCJ-02 forward and inverse leave points outside the China box unchanged."""
    assert coords.out_of_china(lon, lat)
    assert coords.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert coords.gcj02_to_wgs84(lon, lat) == (lon, lat)
    assert coords.to_wgs84(lon, lat, "gcj02") == (lon, lat)


def test_mixed_inside_and_outside_arrays() -> None:
    """In one array, Chinese points shift and foreign points do not."""
    gx, gy = coords.wgs84_to_gcj02(np.array([116.4, -0.13]), np.array([39.9, 51.5]))
    assert gx[0] != 116.4 and gx[1] == -0.13 and gy[1] == 51.5


# ---------------------------------------------------------------------------------------------
# CRS names
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "crs,expected",
    [
        ("wgs84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("epsg:4326", "wgs84"),
        ("CGCS2000", "cgcs2000"),
        (" EPSG:4490 ", "cgcs2000"),
        ("GCJ02", "gcj02"),
        ("bd09", "bd09"),
    ],
)
def test_normalize_crs_aliases(crs: str, expected: str) -> None:
    """Accepted names and EPSG aliases normalise case-insensitively."""
    assert coords.normalize_crs(crs) == expected


def test_to_wgs84_dispatch() -> None:
    """to_wgs84 is identity for wgs84/cgcs2000 and inverts gcj02 and bd09."""
    w = (116.404, 39.915)
    assert coords.to_wgs84(*w, "EPSG:4490") == w
    assert coords.to_wgs84(*w, "wgs84") == w
    g = coords.wgs84_to_gcj02(*w)
    assert close(coords.to_wgs84(*g, "gcj02"), list(w), 1e-9)
    b = coords.wgs84_to_bd09(*w)
    assert close(coords.to_wgs84(*b, "BD09"), list(w), 1e-9)
    assert close(coords.from_wgs84(*w, "gcj02"), list(g), 0.0)


@pytest.mark.parametrize("crs", ["EPSG:3857", "gcj", "", "baidu", None])
def test_to_wgs84_rejects_unknown_crs(crs: Any) -> None:
    """Unknown CRS names raise ValueError naming the accepted values."""
    with pytest.raises(
        ValueError, match="accepted values are 'wgs84', 'cgcs2000', 'gcj02', 'bd09'"
    ):
        coords.to_wgs84(116.4, 39.9, crs)


# ---------------------------------------------------------------------------------------------
# Validation of a submitted point
# ---------------------------------------------------------------------------------------------


def test_validate_good_points() -> None:
    """Valid pairs come back as floats; text and -0.0 are normalised."""
    assert coords.validate_lonlat(116.404, 39.915) == (116.404, 39.915)
    assert coords.validate_lonlat(-0.0, -0.0) == (0.0, 0.0)
    assert math.copysign(1.0, coords.validate_lonlat(-0.0, 1)[0]) == 1.0
    assert coords.validate_lonlat("116°24'E", " 39.9 ") == (116.4, 39.9)
    assert coords.validate_lonlat(np.float32(116.5), 40) == (116.5, 40.0)
    assert coords.validate_lonlat(-77.01, 38.89) == (-77.01, 38.89)  # outside China is fine


@pytest.mark.parametrize(
    "lon,lat,field,fragment",
    [
        (float("nan"), 39.9, "lon", "not a finite number"),
        (116.4, float("inf"), "lat", "not a finite number"),
        (116.4, 200.0, "lat", "out of range"),
        (100.0, -95.0, "lat", "out of range"),
        (190.0, 30.0, "lon", "out of range"),
        (-181.0, 0.0, "lon", "out of range"),
        (None, 30.0, "lon", "missing"),
        (True, 30.0, "lon", "missing"),
        ("abc", 30.0, "lon", "not a coordinate"),
        ([1], 30.0, "lon", "not a number"),
    ],
)
def test_validate_bad_points(lon: Any, lat: Any, field: str, fragment: str) -> None:
    """Bad values raise CoordinateError naming the field, in English and Chinese."""
    with pytest.raises(CoordinateError) as info:
        coords.validate_lonlat(lon, lat)
    assert info.value.field == field
    assert fragment in info.value.message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in info.value.message)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "lon,lat",
    [(39.915, 116.404), (22.54, 113.91), (45.75, 126.65), (30.0, 95.0), (10.0, -120.0)],
)
def test_swapped_pairs_detected(lon: float, lat: float) -> None:
    """A Chinese point typed lat-first (or a latitude beyond 90 with a small lon) is 'swapped'."""
    assert coords.looks_swapped(lon, lat)
    with pytest.raises(CoordinateError, match="latitude and longitude appear swapped") as info:
        coords.validate_lonlat(lon, lat)
    assert "经纬度似乎填反了" in info.value.message


@pytest.mark.parametrize(
    "lon,lat",
    [(116.404, 39.915), (113.91, 22.54), (-77.0, 38.9), (13.6, 45.2), (1.0, 0.0), (24.0, 23.0)],
)
def test_not_swapped(lon: float, lat: float) -> None:
    """Ordinary points, in and outside China, are not flagged."""
    assert not coords.looks_swapped(lon, lat)
    assert not coords.looks_swapped(float("nan"), 1.0)


# ---------------------------------------------------------------------------------------------
# Metres
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lon,epsg,cm",
    [(75.0, 4534, 75), (113.4, 4547, 114), (135.0, 4554, 135), (60.0, 4534, 75),
     (140.0, 4554, 135), (112.5, 4547, 114), (115.4, 4547, 114), (115.6, 4548, 117)],
)  # fmt: skip
def test_gk_epsg_for_lon(lon: float, epsg: int, cm: int) -> None:
    """Zone codes follow 4534 + (CM - 75) / 3 and match pyproj's central meridian."""
    assert coords.gk_epsg_for_lon(lon) == epsg
    crs = CRS.from_epsg(epsg)
    assert "CGCS2000 / 3-degree Gauss-Kruger CM" in crs.name
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    assert params["Longitude of natural origin"] == cm
    assert params["False easting"] == 500000


def test_gk_epsg_rejects_nan() -> None:
    """A non-finite longitude has no zone."""
    with pytest.raises(ValueError, match="finite"):
        coords.gk_epsg_for_lon(float("nan"))


def test_distance_m() -> None:
    """Geodesic metres: one degree of equator, zero, arrays, and agreement with GK projection."""
    assert coords.distance_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111319.4908, abs=1e-3)
    assert coords.distance_m(116.4, 39.9, 116.4, 39.9) == 0.0
    d = coords.distance_m(np.array([0.0, 116.4]), np.array([0.0, 39.9]), 1.0, np.array([0.0, 40]))
    assert d.shape == (2,) and d[0] == pytest.approx(111319.4908, abs=1e-3)
    lon1, lat1, lon2, lat2 = 113.40, 34.70, 113.41, 34.71
    to_gk = Transformer.from_crs(4490, coords.gk_epsg_for_lon(lon1), always_xy=True)
    (x1, x2), (y1, y2) = to_gk.transform([lon1, lon2], [lat1, lat2])
    assert math.hypot(x2 - x1, y2 - y1) == pytest.approx(
        coords.distance_m(lon1, lat1, lon2, lat2), rel=1e-4
    )


# ---------------------------------------------------------------------------------------------
# Degrees-minutes-seconds text
# ---------------------------------------------------------------------------------------------

DMS = 113 + 25 / 60 + 30.5 / 3600


@pytest.mark.parametrize(
    "text,expected",
    [
        ("113.425", 113.425),
        ("-34.5", -34.5),
        ("+34.5", 34.5),
        ("113°25'30.5\"E", DMS),
        ("113° 25' 30.5\" E", DMS),
        ("113度25分30.5秒", DMS),
        ("东经113度25分30.5秒", DMS),
        ("E113°25′30.5″", DMS),
        ("113 25 30.5", DMS),
        ("113:25:30.5", DMS),
        ("113°25'30.5''", DMS),
        ("１１３°２５′３０．５″Ｅ", DMS),
        ("１１３度２５分３０．５秒", DMS),
        ("N34°12.5'", 34 + 12.5 / 60),
        ("34°12.5'S", -(34 + 12.5 / 60)),
        ("南纬34度30分", -34.5),
        ("西经73.5", -73.5),
        ("W 73° 59' 8\"", -(73 + 59 / 60 + 8 / 3600)),
        ("s 12.5", -12.5),
        ("34º30'", 34.5),
        ("－３４．５", -34.5),
        ("113°", 113.0),
        (" 113.5 ", 113.5),
        (113.5, 113.5),
    ],
)
def test_parse_coordinate(text: str, expected: float) -> None:
    """Decimal, DMS, Chinese units, full-width forms and hemispheres all parse."""
    assert coords.parse_coordinate(text) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("abc", "cannot read"),
        ("113,5", "cannot read"),
        ("113°75'", "minutes must be below 60"),
        ("113°25'70\"", "seconds must be below 60"),
        ("N34 S", "conflicting hemispheres"),
        ("-34 S", "minus sign"),
        ("91N", "exceeds 90"),
        ("181E", "exceeds 180"),
        ("113.5°25'", "fractional degrees"),
        ("1.2.3", "fractional degrees"),
        ("25'30\"", "no degrees"),
        ('113°30"', "seconds without minutes"),
        ("113\"25'", "out of order"),
        (float("inf"), "finite"),
    ],
)
def test_parse_coordinate_errors(text: Any, fragment: str) -> None:
    """Unreadable text raises ValueError with a clear message."""
    with pytest.raises(ValueError, match=fragment):
        coords.parse_coordinate(text)


def test_parse_coordinate_axis() -> None:
    """With an axis, a hemisphere letter of the other axis is refused."""
    assert coords.parse_coordinate("34N", axis="lat") == 34.0
    with pytest.raises(ValueError, match="does not fit a lon"):
        coords.parse_coordinate("34N", axis="lon")
    with pytest.raises(ValueError, match="does not fit a lat"):
        coords.parse_coordinate("113E", axis="lat")
