"""Synthetic incident data for the hot spot tests: a 10 km square near 117°E, 36°N."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from shapely.geometry import box

from gis.hotspots.grid import project_lonlat, unproject_xy

EPSG = 4548  # CGCS2000 / 3-degree Gauss-Kruger CM 117E
SIDE = 10_000.0


@dataclass(frozen=True)
class Square:
    """A 10 km study square in EPSG:4548 with helpers to make lon/lat incidents in it."""

    x0: float
    y0: float

    def lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return unproject_xy(self.x0 + x, self.y0 + y, EPSG)

    def local(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = project_lonlat(lon, lat, EPSG)
        return x - self.x0, y - self.y0

    def boundary(self):  # type: ignore[no-untyped-def]
        (w, e), (s, n) = unproject_xy([self.x0, self.x0 + SIDE], [self.y0, self.y0 + SIDE], EPSG)
        return box(w, s, e, n)

    def uniform(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.uniform(0, SIDE, n), rng.uniform(0, SIDE, n)


@pytest.fixture(scope="session")
def square() -> Square:
    x, y = project_lonlat([117.0], [36.0], EPSG)
    return Square(float(x[0]), float(y[0]))
