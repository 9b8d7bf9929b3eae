"""The space-time cube netCDF file, written with h5netcdf and read back with xarray."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from gis.hotspots.cube import CubeData, write_cube
from gis.hotspots.grid import Grid, unproject_xy
from gis.hotspots.periods import complete_window
from gis.hotspots.trends import CATEGORIES, emerging_hotspots

xr = pytest.importorskip("xarray")


def _cube() -> CubeData:
    rng = np.random.default_rng(2)
    grid = Grid(500.0, "hex")
    ii, jj = np.meshgrid(np.arange(12), np.arange(12))
    ix, iy = ii.ravel(), jj.ravel()
    cx, cy = grid.centres(ix, iy)
    cx, cy = cx + 500_000.0, cy + 3_980_000.0
    counts = rng.poisson(1.5, (ix.size, 12))
    counts[:5, -3:] += 9  # something emerging
    counts[7] = 0  # an empty cell of the study area
    e = emerging_hotspots(counts, np.column_stack([cx, cy]), 1000.0)
    lon, lat = unproject_xy(cx, cy, 4548)
    w = complete_window(date(2026, 12, 3), 12, "month")
    return CubeData(
        window=w, cell_ids=[f"hexf:{i}:{j}" for i, j in zip(ix, iy, strict=True)],
        cell_ix=ix, cell_iy=iy, x=cx, y=cy, lon=lon, lat=lat, counts=counts,
        gi_z=e.z, gi_p=e.p, gi_bin=e.bins, trend_z=e.trend_counts.z, trend_p=e.trend_counts.p,
        gi_trend_z=e.trend_z.z, gi_trend_p=e.trend_z.p, pattern=e.pattern, epsg=4548,
        cell_m=500.0, band_m=1000.0, shape="hex",
    )


def test_the_cube_file_reads_back_with_xarray(tmp_path: Path) -> None:
    data = _cube()
    path = write_cube(data, tmp_path / "cube.nc")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert dict(ds.sizes) == {"location": 144, "time": 12}
        assert ds["COUNT"].dims == ("location", "time")
        np.testing.assert_array_equal(ds["COUNT"].values, data.counts)
        assert int(ds["COUNT"].isel(location=7).sum()) == 0  # the empty cell is there
        np.testing.assert_allclose(ds["GI_Z"].values, data.gi_z)
        np.testing.assert_allclose(ds["GI_P"].values, data.gi_p)
        np.testing.assert_array_equal(ds["GI_BIN"].values, data.gi_bin)
        np.testing.assert_allclose(ds["TREND_Z"].values, data.trend_z)
        np.testing.assert_allclose(ds["GI_TREND_P"].values, data.gi_trend_p)
        codes = [CATEGORIES[k][0] for k in data.pattern]
        np.testing.assert_array_equal(ds["CATEGORY"].values, codes)
        assert list(ds["PATTERN"].values) == [CATEGORIES[k][1] for k in data.pattern]
        assert list(ds["LOCATION"].values) == data.cell_ids
        assert ds["time"].values[0] == np.datetime64("2025-12-01")
        assert ds["time"].values[-1] == np.datetime64("2026-11-01")
        assert ds["time_step_ID"].values.tolist() == list(range(1, 13))
        assert ds.attrs["last_time_step"] == "2026-11"
        assert ds.attrs["excluded_current_period"] == "2026-12"
        assert ds.attrs["Conventions"] == "CF-1.6" and ds.attrs["epsg"] == 4548
        assert "Gauss-Kruger" in ds["crs"].attrs["crs_wkt"]
        np.testing.assert_allclose(ds["lon"].values, data.lon)
        # Trend bins follow the count trend's sign and level.
        tb = ds["TREND_BIN"].values
        assert np.all(np.sign(tb[tb != 0]) == np.sign(data.trend_z[tb != 0]))
        assert np.all(data.trend_p[np.abs(tb) == 3] <= 0.01)
    emerging = [k for k in data.pattern if k != "no_pattern"]
    assert emerging  # the planted rise shows up in the file's CATEGORY
