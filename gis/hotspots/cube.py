"""The space-time cube as a netCDF file, laid out like ArcGIS's *Create Space Time Cube* output.

What is matched, and how sure it is (see ``docs/hotspots.md``, "Space-time cube file"):

* **Layout** (Esri documents it): one netCDF file, bins indexed by location and time step,
  every location present at every step (empty bins as 0), locations numbered by an integer
  ``LOCATION_ID`` and steps by ``time_step_ID``; the analysis results (Gi* per bin, trends per
  location, the emerging hot spot category) are written back into the same cube.
* **Names**: ``COUNT`` for the aggregated incidents and ``LOCATION`` / ``CATEGORY`` (integer,
  Esri's −8…8 codes) / ``PATTERN`` (text) per location follow Esri's documentation. The Gi* and
  trend names (``GI_Z`` / ``GI_P`` / ``GI_BIN``, ``TREND_Z`` / ``TREND_P`` / ``TREND_BIN``,
  ``GI_TREND_*``), the dimension names and the attributes are ours in Esri's style: the
  variable names *inside* Esri's netCDF are written by an unpublished tool and could not be
  checked against a real Esri cube, so ArcGIS's space-time pattern tools may not accept this
  file as an input cube. It is a plain CF-1.6 netCDF-4 file; the tests read it back with xarray.
* **Coordinates**: cell centres in the Gauss-Krüger CRS (``x``, ``y``, metres) and in EPSG:4326
  (``lon``, ``lat``) per location, a CF ``crs`` grid-mapping variable with the CRS's WKT, and
  the start of each time step as ``time`` (days since 1970-01-01, CF calendar ``standard``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gis.hotspots.periods import Window, period_label, period_start
from gis.hotspots.trends import CATEGORIES

CONVENTIONS = "CF-1.6"
ENGINE = "h5netcdf"


@dataclass(frozen=True)
class CubeData:
    """Everything the cube file holds; arrays are (locations,) or (locations, steps)."""

    window: Window
    cell_ids: list[str]
    cell_ix: NDArray[np.int64]
    cell_iy: NDArray[np.int64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    counts: NDArray[np.int64]
    gi_z: NDArray[np.float64]
    gi_p: NDArray[np.float64]
    gi_bin: NDArray[np.int8]
    trend_z: NDArray[np.float64]  # Mann-Kendall on the counts
    trend_p: NDArray[np.float64]
    gi_trend_z: NDArray[np.float64]  # Mann-Kendall on the Gi* z series
    gi_trend_p: NDArray[np.float64]
    pattern: list[str]  # CATEGORIES keys
    epsg: int
    cell_m: float
    band_m: float
    shape: str
    attrs: dict[str, Any] = field(default_factory=dict)


def _trend_bin(z: NDArray[np.float64], p: NDArray[np.float64]) -> NDArray[np.int8]:
    level = np.zeros(z.shape, dtype=np.int8)
    for lvl, alpha in enumerate((0.10, 0.05, 0.01), start=1):
        level[p <= alpha] = lvl
    return (np.sign(z).astype(np.int8) * level).astype(np.int8)


def cube_dataset(data: CubeData) -> Any:
    """The cube as an :class:`xarray.Dataset` (dimensions ``location`` and ``time``)."""
    import xarray as xr
    from pyproj import CRS

    w = data.window
    n_loc, n_t = data.counts.shape
    starts = [period_start(k, w.step) for k in range(w.first, w.last + 1)]
    days = np.asarray([(d - date(1970, 1, 1)).days for d in starts], dtype=np.int32)
    codes = np.asarray([CATEGORIES[k][0] for k in data.pattern], dtype=np.int8)
    names = np.asarray([CATEGORIES[k][1] for k in data.pattern], dtype=object)
    names_zh = np.asarray([CATEGORIES[k][2] for k in data.pattern], dtype=object)
    loc = ("location",)
    bins = ("location", "time")
    grid = {"grid_mapping": "crs", "coordinates": "x y lon lat"}
    ds = xr.Dataset(
        data_vars={
            "COUNT": (bins, data.counts.astype(np.int32),
                      {"long_name": "incidents per bin", "units": "1", **grid}),
            "GI_Z": (bins, data.gi_z, {"long_name": "space-time Gi* z-score", **grid}),
            "GI_P": (bins, data.gi_p, {"long_name": "space-time Gi* p-value (two-sided)", **grid}),
            "GI_BIN": (bins, data.gi_bin.astype(np.int8),
                       {"long_name": "Gi_Bin, FDR-corrected: ±3/±2/±1 = 99/95/90 %", **grid}),
            "TREND_Z": (loc, data.trend_z, {"long_name": "Mann-Kendall z of the counts"}),
            "TREND_P": (loc, data.trend_p, {"long_name": "Mann-Kendall p of the counts"}),
            "TREND_BIN": (loc, _trend_bin(data.trend_z, data.trend_p),
                          {"long_name": "count trend bin: ±3/±2/±1 = 99/95/90 %"}),
            "GI_TREND_Z": (loc, data.gi_trend_z,
                           {"long_name": "Mann-Kendall z of the Gi* z series"}),
            "GI_TREND_P": (loc, data.gi_trend_p,
                           {"long_name": "Mann-Kendall p of the Gi* z series"}),
            "CATEGORY": (loc, codes, {"long_name": "emerging hot spot category (Esri codes)",
                                      "flag_values": np.asarray(
                                          sorted({c for c, _, _ in CATEGORIES.values()}),
                                          dtype=np.int8)}),
            "PATTERN": (loc, names, {"long_name": "emerging hot spot pattern (English)"}),
            "PATTERN_ZH": (loc, names_zh, {"long_name": "emerging hot spot pattern (Chinese)"}),
            "crs": ((), np.int32(0), {
                "grid_mapping_name": "transverse_mercator",
                "spatial_ref": CRS.from_epsg(data.epsg).to_wkt(),
                "crs_wkt": CRS.from_epsg(data.epsg).to_wkt(),
                "epsg_code": f"EPSG:{data.epsg}",
            }),
        },
        coords={
            "location": ("location", np.arange(n_loc, dtype=np.int32),
                         {"long_name": "LOCATION_ID"}),
            "time": ("time", days, {"units": "days since 1970-01-01", "calendar": "standard",
                                    "long_name": "start of the time step",
                                    "axis": "T", "standard_name": "time"}),
            "time_step_ID": ("time", np.arange(1, n_t + 1, dtype=np.int32),
                             {"long_name": "time step number, 1 = oldest"}),
            "time_step_label": ("time", np.asarray(w.labels(), dtype=object)),
            "x": (loc, data.x, {"units": "m", "standard_name": "projection_x_coordinate"}),
            "y": (loc, data.y, {"units": "m", "standard_name": "projection_y_coordinate"}),
            "lon": (loc, data.lon, {"units": "degrees_east", "standard_name": "longitude"}),
            "lat": (loc, data.lat, {"units": "degrees_north", "standard_name": "latitude"}),
            "LOCATION": (loc, np.asarray(data.cell_ids, dtype=object),
                         {"long_name": "cell id <shape>:<ix>:<iy>"}),
            "cell_ix": (loc, data.cell_ix.astype(np.int64)),
            "cell_iy": (loc, data.cell_iy.astype(np.int64)),
        },
        attrs={
            "Conventions": CONVENTIONS,
            "title": "Lookback space-time cube: incidents per cell and time step",
            "source": "Lookback emerging hot spot analysis",
            "aggregation_shape_type": "HEXAGON_GRID" if data.shape == "hex" else "FISHNET_GRID",
            "distance_interval_m": float(data.cell_m),
            "neighborhood_distance_m": float(data.band_m),
            "neighborhood_time_step": 1,
            "time_step_interval": f"1 {w.step}",
            "time_step_alignment": "complete periods; the final step is the last complete one",
            "first_time_step": period_label(w.first, w.step),
            "last_time_step": period_label(w.last, w.step),
            "excluded_current_period": period_label(w.current, w.step),
            "start_date": w.start.isoformat(),
            "end_date": w.end.isoformat(),
            "epsg": int(data.epsg),
            **data.attrs,
        },
    )
    return ds


def write_cube(data: CubeData, path: str | Path) -> Path:
    """Write the cube to a netCDF-4 file (h5netcdf); returns the path."""
    out = Path(path)
    cube_dataset(data).to_netcdf(out, engine=ENGINE, encoding=_encoding(data))
    return out


def cube_bytes(data: CubeData) -> bytes:
    """The netCDF-4 file as bytes (for an HTTP response)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = write_cube(data, Path(tmp) / "cube.nc")
        return path.read_bytes()


def _encoding(data: CubeData) -> dict[str, dict[str, Any]]:
    enc: dict[str, dict[str, Any]] = {
        name: {"zlib": True, "complevel": 4}
        for name in ("COUNT", "GI_Z", "GI_P", "GI_BIN")
    }
    enc["time"] = {"dtype": "int32"}
    return enc
