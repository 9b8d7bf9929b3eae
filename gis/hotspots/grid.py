"""Square and hexagon grids over projected points (metres), and the CGCS2000 Gauss-Krüger helpers.

Grids are anchored at the origin of the projected CRS, so a cell keeps its integer id
``(ix, iy)`` across queries, time steps and data sets as long as the CRS and cell size stay put.

``cell_m`` is the distance between the centres of adjacent cells for both shapes: the side of a
square, the flat-to-flat width of a hexagon. A hexagon then has side ``s = cell_m / √3`` and is
``2·s`` wide across its corners, which is what ArcGIS's Optimized Hot Spot Analysis does
(it divides the fishnet cell size by √3). Flat-topped hexagons (ArcGIS's) have their corners
pointing east and west; pointy-topped ones north and south. Hexagon ids are axial ``(q, r)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from gis.hotspots.errors import HotspotInputError

Shape = Literal["hex", "square"]
Orientation = Literal["flat", "pointy"]

GK_FIRST_EPSG = 4534  # CGCS2000 / 3-degree Gauss-Kruger CM 75E
GK_MIN_CM, GK_MAX_CM = 75, 135  # EPSG:4534 … EPSG:4554
SQRT3 = float(np.sqrt(3.0))
MAX_CANDIDATE_CELLS = 5_000_000


def gk_central_meridian(lon: float) -> int:
    """Central meridian (degrees) of the 3-degree Gauss-Krüger zone holding ``lon``."""
    cm = 3 * int(round(float(lon) / 3.0))
    return int(min(max(cm, GK_MIN_CM), GK_MAX_CM))


def gk_epsg_for_lon(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger CRS (no zone prefix) for a longitude."""
    return GK_FIRST_EPSG + (gk_central_meridian(lon) - GK_MIN_CM) // 3


@lru_cache(maxsize=64)
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def project_lonlat(
    lon: ArrayLike, lat: ArrayLike, epsg: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Project EPSG:4326 longitude/latitude arrays to ``epsg`` (x east, y north, metres)."""
    x, y = _transformer(4326, epsg).transform(
        np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    )
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def unproject_xy(
    x: ArrayLike, y: ArrayLike, epsg: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Inverse of :func:`project_lonlat`: ``epsg`` x/y back to EPSG:4326 longitude/latitude."""
    lon, lat = _transformer(epsg, 4326).transform(
        np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    )
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def transform_geometries(geoms: ArrayLike, src: int, dst: int) -> NDArray[np.object_]:
    """Reproject an array of shapely geometries from EPSG ``src`` to EPSG ``dst`` (vectorised)."""
    tr = _transformer(src, dst)

    def _apply(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(np.asarray(geoms, dtype=object), _apply), dtype=object)


def _cube_round(
    qf: NDArray[np.float64], rf: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Round fractional axial hex coordinates to the hexagon that contains them."""
    sf = -qf - rf
    q, r, s = np.rint(qf), np.rint(rf), np.rint(sf)
    dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    q = np.where(fix_q, -r - s, q)
    r = np.where(fix_r, -q - s, r)
    return q.astype(np.int64), r.astype(np.int64)


@dataclass(frozen=True)
class Grid:
    """A square or hexagon lattice of spacing ``cell_m`` metres anchored at the CRS origin."""

    cell_m: float
    shape: Shape = "hex"
    orientation: Orientation = "flat"

    def __post_init__(self) -> None:
        if not np.isfinite(self.cell_m) or self.cell_m <= 0:
            raise HotspotInputError("格网大小必须为正数。", "The cell size must be positive.")
        if self.shape not in ("hex", "square"):
            raise ValueError(f"unknown grid shape {self.shape!r}")
        if self.orientation not in ("flat", "pointy"):
            raise ValueError(f"unknown hexagon orientation {self.orientation!r}")

    @property
    def cell_area(self) -> float:
        """Area of one cell in square metres."""
        c = self.cell_m
        return c * c if self.shape == "square" else c * c * SQRT3 / 2.0

    @property
    def side_m(self) -> float:
        """Side length of a cell (hexagon side ``cell_m/√3``; square side ``cell_m``)."""
        return self.cell_m if self.shape == "square" else self.cell_m / SQRT3

    def cell_of(
        self, x: ArrayLike, y: ArrayLike
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Integer cell ids ``(ix, iy)`` of the cells holding the points (vectorised, O(n))."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        c = self.cell_m
        if self.shape == "square":
            return np.floor(x / c).astype(np.int64), np.floor(y / c).astype(np.int64)
        if self.orientation == "pointy":
            rf = y / (c * SQRT3 / 2.0)
            qf = x / c - rf / 2.0
        else:
            qf = x / (c * SQRT3 / 2.0)
            rf = y / c - qf / 2.0
        return _cube_round(qf, rf)

    def centres(
        self, ix: ArrayLike, iy: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Centre coordinates (metres) of the cells ``(ix, iy)``."""
        i = np.asarray(ix, dtype=float)
        j = np.asarray(iy, dtype=float)
        c = self.cell_m
        if self.shape == "square":
            return (i + 0.5) * c, (j + 0.5) * c
        if self.orientation == "pointy":
            return c * (i + j / 2.0), c * (SQRT3 / 2.0) * j
        return c * (SQRT3 / 2.0) * i, c * (j + i / 2.0)

    def _corner_offsets(self) -> NDArray[np.float64]:
        c = self.cell_m
        if self.shape == "square":
            h = c / 2.0
            return np.array([[-h, -h], [h, -h], [h, h], [-h, h]])
        start = 30.0 if self.orientation == "pointy" else 0.0
        ang = np.deg2rad(start + 60.0 * np.arange(6))
        return np.column_stack([np.cos(ang), np.sin(ang)]) * self.side_m

    def polygons(self, ix: ArrayLike, iy: ArrayLike) -> NDArray[np.object_]:
        """The cells as shapely polygons in the projected CRS (counter-clockwise rings)."""
        cx, cy = self.centres(ix, iy)
        off = self._corner_offsets()
        ring = np.stack([cx[:, None] + off[None, :, 0], cy[:, None] + off[None, :, 1]], axis=-1)
        ring = np.concatenate([ring, ring[:, :1, :]], axis=1)
        return np.asarray(shapely.polygons(ring), dtype=object)

    def candidate_cells(
        self, xmin: float, ymin: float, xmax: float, ymax: float
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Every cell whose centre lies in the box grown by one cell on each side."""
        c = self.cell_m
        xmin, ymin, xmax, ymax = xmin - c, ymin - c, xmax + c, ymax + c
        corners_x = np.array([xmin, xmax, xmin, xmax])
        corners_y = np.array([ymin, ymin, ymax, ymax])
        # Axial/square ids are affine in x and y, so the box corners bound them.
        ci, cj = self.cell_of(corners_x, corners_y)
        i_lo, i_hi = int(ci.min()) - 1, int(ci.max()) + 1
        j_lo, j_hi = int(cj.min()) - 1, int(cj.max()) + 1
        n_cand = (i_hi - i_lo + 1) * (j_hi - j_lo + 1)
        if n_cand > MAX_CANDIDATE_CELLS:
            raise HotspotInputError(
                f"格网过细：研究区需要约 {n_cand} 个候选格网，请增大格网大小。",
                f"The grid is too fine: the study area needs about {n_cand} candidate cells; "
                "use a larger cell size.",
            )
        ii, jj = np.meshgrid(
            np.arange(i_lo, i_hi + 1, dtype=np.int64), np.arange(j_lo, j_hi + 1, dtype=np.int64)
        )
        ii, jj = ii.ravel(), jj.ravel()
        cx, cy = self.centres(ii, jj)
        keep = (cx >= xmin) & (cx <= xmax) & (cy >= ymin) & (cy <= ymax)
        return ii[keep], jj[keep]

    def cells_with_centre_in(
        self, area: BaseGeometry
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Cells whose centre lies inside (or on the edge of) a projected polygon."""
        ii, jj = self.candidate_cells(*area.bounds)
        cx, cy = self.centres(ii, jj)
        shapely.prepare(area)
        inside = shapely.intersects_xy(area, cx, cy)
        return ii[inside], jj[inside]


@dataclass(frozen=True)
class CellCounts:
    """Occupied cells (sorted by id) with their counts, and each point's row in those arrays."""

    ix: NDArray[np.int64]
    iy: NDArray[np.int64]
    count: NDArray[np.int64]
    point_cell: NDArray[np.int64]


def _dense_or_unique(
    ix: NDArray[np.int64], iy: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    n = ix.size
    i0, j0 = int(ix.min()), int(iy.min())
    ni = int(ix.max()) - i0 + 1
    nj = int(iy.max()) - j0 + 1
    if ni * nj <= max(8 * n, 1_000_000):
        # O(n + span): a bincount over the dense bounding lattice.
        key = (iy - j0) * ni + (ix - i0)
        counts = np.bincount(key, minlength=ni * nj)
        occupied = np.flatnonzero(counts)
        row_of_key = np.full(ni * nj, -1, dtype=np.int64)
        row_of_key[occupied] = np.arange(occupied.size)
        return (
            occupied % ni + i0,
            occupied // ni + j0,
            counts[occupied].astype(np.int64),
            row_of_key[key],
        )
    # Sparse fallback (very large spans): O(n log n).
    key = (iy - j0).astype(np.int64) * ni + (ix - i0)
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return uniq % ni + i0, uniq // ni + j0, counts.astype(np.int64), inverse.ravel()


def count_points(grid: Grid, x: ArrayLike, y: ArrayLike) -> CellCounts:
    """Count projected points per cell; only occupied cells are returned."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x and y must be 1-D arrays of the same length")
    if x.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return CellCounts(empty, empty, empty, empty)
    ix, iy = grid.cell_of(x, y)
    cix, ciy, cnt, row = _dense_or_unique(ix, iy)
    return CellCounts(cix, ciy, cnt, row)
