"""Quartic-kernel density surfaces with ArcGIS Kernel Density's defaults.

Kernel (Silverman 1986, eq. 4.5, as ArcGIS uses it): a point of weight w at distance d < r adds
``w · 3/(π r²) · (1 − (d/r)²)²`` per square metre; the kernel integrates to w over its disc.

Default search radius (ArcGIS 10.2.1+, a spatial Silverman's rule)::

    r = 0.9 · min(SD, sqrt(1/ln 2) · Dm) · n^(−0.2)

SD is the (weighted) standard distance, Dm the (weighted) median distance to the (weighted) mean
centre and n the number of points, or the sum of the weights when weights are given.
Default cell size: the shorter side of the points' extent divided by 250.

Unlike ArcGIS (whose output extent defaults to the input extent), the surface is padded by one
radius on each side by default so that it holds the whole mass: ``total()`` ≈ Σw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gis.hotspots.errors import HotspotInputError
from gis.hotspots.grid import gk_epsg_for_lon, project_lonlat, unproject_xy

CELLS_ON_SHORT_SIDE = 250
MAX_SURFACE_CELLS = 25_000_000
CHUNK = 2_000_000  # (point, offset) pairs per vectorised step


def _weights(n: int, weights: ArrayLike | None) -> NDArray[np.float64]:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise HotspotInputError(
            "权重必须是与点数相同的非负数。", "Weights must be one non-negative number per point."
        )
    return w


def weighted_median(values: ArrayLike, weights: ArrayLike) -> float:
    """Weighted median (equal weights give ``numpy.median``)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    if np.allclose(w, w[0]):
        return float(np.median(v))
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cum = np.cumsum(w)
    half = cum[-1] / 2.0
    k = int(np.searchsorted(cum, half))
    if math.isclose(cum[k], half) and k + 1 < v.size:
        return float((v[k] + v[k + 1]) / 2.0)
    return float(v[k])


def default_radius(x: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None) -> float:
    """ArcGIS's default search radius 0.9·min(SD, √(1/ln2)·Dm)·n^−0.2 (weighted if given)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = _weights(x.size, weights)
    total = float(w.sum())
    if x.size < 2 or total <= 0:
        raise HotspotInputError("点太少，无法估计核密度半径。", "Too few points for a KDE radius.")
    mx, my = float((w * x).sum() / total), float((w * y).sum() / total)
    sd = math.sqrt(float((w * ((x - mx) ** 2 + (y - my) ** 2)).sum()) / total)
    dm = weighted_median(np.hypot(x - mx, y - my), w)
    radius = 0.9 * min(sd, math.sqrt(1.0 / math.log(2.0)) * dm) * total**-0.2
    if not radius > 0:
        raise HotspotInputError(
            "所有点重合，无法估计核密度半径，请手动指定。",
            "All points coincide; give the KDE radius explicitly.",
        )
    return radius


def default_cell(x: ArrayLike, y: ArrayLike) -> float:
    """ArcGIS's default cell size: the shorter side of the extent divided by 250."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    short = min(float(np.ptp(x)), float(np.ptp(y)))
    if short <= 0:
        short = max(float(np.ptp(x)), float(np.ptp(y)))
    if short <= 0:
        raise HotspotInputError("点的范围为零，无法确定像元大小。", "The points have no extent.")
    return short / CELLS_ON_SHORT_SIDE


@dataclass(frozen=True)
class KdeSurface:
    """A density raster: ``density[row, col]`` per m², row 0 at the top (north)."""

    density: NDArray[np.float64]
    x0: float  # west edge (metres)
    y0: float  # north edge (metres)
    cell: float
    radius: float
    epsg: int | None = None

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """Affine (a, b, c, d, e, f), rasterio order: x = a·col + c, y = e·row + f (edges)."""
        return (self.cell, 0.0, self.x0, 0.0, -self.cell, self.y0)

    def centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Cell-centre coordinate grids (x, y), each shaped like ``density``."""
        rows, cols = self.density.shape
        xs = self.x0 + (np.arange(cols) + 0.5) * self.cell
        ys = self.y0 - (np.arange(rows) + 0.5) * self.cell
        return np.meshgrid(xs, ys)

    def total(self) -> float:
        """Integral of the surface (≈ number of points, or sum of weights, when padded)."""
        return float(self.density.sum() * self.cell * self.cell)

    def per_km2(self) -> NDArray[np.float64]:
        """The density in points (or weight units) per square kilometre."""
        return self.density * 1e6


def kde_surface(
    x: ArrayLike,
    y: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    radius: float | None = None,
    cell: float | None = None,
    pad: bool = True,
    epsg: int | None = None,
) -> KdeSurface:
    """Quartic KDE of projected points (metres) on a regular grid; defaults as ArcGIS."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise HotspotInputError("没有可用的点。", "No points to estimate a density from.")
    w = _weights(x.size, weights)
    if radius is None:
        r = default_radius(x, y, w if weights is not None else None)
    else:
        r = float(radius)
    c = float(cell) if cell is not None else default_cell(x, y)
    if not (r > 0 and c > 0):
        raise HotspotInputError(
            "半径与像元大小必须为正数。", "The radius and the cell size must be positive."
        )
    margin = r if pad else 0.0
    west = float(x.min()) - margin
    north = float(y.max()) + margin
    cols = max(1, int(math.ceil((float(x.max()) + margin - west) / c)))
    rows = max(1, int(math.ceil((north - (float(y.min()) - margin)) / c)))
    if rows * cols > MAX_SURFACE_CELLS:
        raise HotspotInputError(
            f"密度面过大（{rows}×{cols} 像元），请增大像元大小。",
            f"The surface is too large ({rows}×{cols} cells); use a larger cell size.",
        )
    density = np.zeros(rows * cols)
    # Each point reaches the cells whose centres lie within r: a window of ±reach cells.
    col_f = (x - west) / c - 0.5
    row_f = (north - y) / c - 0.5
    reach = int(math.ceil(r / c)) + 1
    offs = np.arange(-reach, reach + 1)
    dr, dc = np.meshgrid(offs, offs, indexing="ij")
    dr, dc = dr.ravel(), dc.ravel()
    close = np.hypot(np.maximum(np.abs(dr) - 1, 0), np.maximum(np.abs(dc) - 1, 0)) * c <= r
    dr, dc = dr[close], dc[close]
    base_r = np.rint(row_f).astype(np.int64)
    base_c = np.rint(col_f).astype(np.int64)
    norm = 3.0 / (math.pi * r * r)
    step = max(1, CHUNK // max(dr.size, 1))
    for s in range(0, x.size, step):
        br, bc = base_r[s : s + step, None] + dr[None, :], base_c[s : s + step, None] + dc[None, :]
        d2 = ((bc - col_f[s : s + step, None]) ** 2 + (br - row_f[s : s + step, None]) ** 2) * c * c
        inside = (d2 < r * r) & (br >= 0) & (br < rows) & (bc >= 0) & (bc < cols)
        k = (1.0 - d2 / (r * r)) ** 2 * norm * w[s : s + step, None]
        density += np.bincount((br * cols + bc)[inside], weights=k[inside], minlength=rows * cols)
    return KdeSurface(density.reshape(rows, cols), west, north, c, r, epsg)


def kde_from_lonlat(
    lon: ArrayLike,
    lat: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    radius: float | None = None,
    cell: float | None = None,
    pad: bool = True,
    epsg: int | None = None,
) -> KdeSurface:
    """KDE of EPSG:4326 points, computed in their CGCS2000 Gauss-Krüger zone (metres)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if epsg is None:
        epsg = gk_epsg_for_lon(float(np.median(lon)) if lon.size else 120.0)
    x, y = project_lonlat(lon, lat, epsg)
    return kde_surface(x, y, weights, radius=radius, cell=cell, pad=pad, epsg=epsg)


def heat_points(
    surface: KdeSurface, *, min_relative: float = 0.01
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Cell centres as (lon, lat, weight 0…1) for a heat layer, dropping cells below the floor."""
    if surface.epsg is None:
        raise ValueError("the surface has no CRS; build it with kde_from_lonlat or pass epsg")
    peak = float(surface.density.max())
    if peak <= 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    rel = surface.density / peak
    keep = rel >= min_relative
    cx, cy = surface.centres()
    lon, lat = unproject_xy(cx[keep], cy[keep], surface.epsg)
    return lon, lat, rel[keep]
