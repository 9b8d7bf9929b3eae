"""DBSCAN in PostGIS: ST_ClusterDBSCAN on the points in their CGCS2000 Gauss-Krüger zone (metres),
ordered so that border points and cluster numbers are stable."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import mapping
from shapely.geometry import shape as geojson_shape
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.hotspots.data.points import (
    DEFAULT_EPS_M,
    DEFAULT_MIN_POINTS,
    MAX_DBSCAN_POINTS,
    PointFilter,
    explanation_dict,
    points_sql,
)
from gis.hotspots.errors import Explanation, HotspotInputError
from gis.hotspots.grid import (
    gk_epsg_for_lon,
)


def _dbscan_sql(points: str) -> str:
    """Cluster numbers for a ``points`` subquery with columns id, code, g (EPSG:4490 points)."""
    return f"""
        SELECT id, code, ST_X(g) AS lon, ST_Y(g) AS lat,
               ST_ClusterDBSCAN(ST_Transform(g, CAST(:epsg AS integer)),
                                eps => :eps, minpoints => :minpoints)
                   OVER (ORDER BY id) AS cluster
        FROM ({points}) q ORDER BY id
    """


@dataclass(frozen=True)
class Clusters:
    """DBSCAN labels per point (−1 for noise), with the parameters and the metric CRS."""

    ids: NDArray[np.int64]
    codes: list[str]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    label: NDArray[np.int64]
    eps_m: float
    min_points: int
    epsg: int

    @property
    def n_clusters(self) -> int:
        """How many clusters were found."""
        return int(np.unique(self.label[self.label >= 0]).size)

    def members(self) -> list[NDArray[np.int64]]:
        """Row indices of each cluster's points (in input order), cluster-number order; O(n)."""
        label = np.asarray(self.label)
        rows = np.flatnonzero(label >= 0)
        if rows.size == 0:
            return []
        labs = label[rows]
        order = np.argsort(labs, kind="stable")  # stable: members stay in input (id) order
        rows, labs = rows[order], labs[order]
        cuts = np.flatnonzero(np.diff(labs)) + 1
        return list(np.split(rows, cuts))

    def groups(self) -> list[frozenset[int]]:
        """The clusters as sets of point ids, in cluster-number order."""
        return [frozenset(self.ids[m].tolist()) for m in self.members()]

    def explanations(self) -> list[Explanation]:
        """The parameters and the outcome in Chinese and English."""
        noise = int((self.label < 0).sum())
        return [
            Explanation(
                "dbscan",
                f"DBSCAN 聚类（PostGIS ST_ClusterDBSCAN）：邻域半径 {self.eps_m:g} 米，"
                f"核心点最少 {self.min_points} 个点（含自身），在 EPSG:{self.epsg} 高斯-克吕格"
                "投影下按米计算；按记录编号排序，结果可重复。",
                f"DBSCAN clustering (PostGIS ST_ClusterDBSCAN): eps {self.eps_m:g} m, at least "
                f"{self.min_points} points (itself included) for a core point, distances in "
                f"metres in the Gauss-Krüger zone EPSG:{self.epsg}; ordered by id so results "
                "repeat.",
                self.eps_m,
            ),
            Explanation(
                "clusters",
                f"共 {len(self.ids)} 个点，形成 {self.n_clusters} 个聚类，{noise} 个为噪声点。",
                f"{len(self.ids)} points form {self.n_clusters} cluster(s); {noise} are noise.",
                self.n_clusters,
            ),
        ]

    def to_geojson(self) -> dict[str, Any]:
        """One feature per cluster: the convex hull of its members, with count and codes."""
        # One stable sort groups the points by cluster: O(n log n) once instead of a pass over
        # all n points for each of the K clusters.
        features = []
        codes_all = self.codes
        for member in self.members():
            k = int(self.label[member[0]])
            pts = shapely.multipoints(np.column_stack([self.lon[member], self.lat[member]]))
            hull = shapely.convex_hull(pts)
            codes = [codes_all[i] for i in member.tolist()]
            features.append(
                {
                    "type": "Feature",
                    "id": f"cluster:{k}",
                    "geometry": _rounded(mapping(hull)),
                    "properties": {
                        "cluster": k,
                        "count": int(member.size),
                        "codes": codes,
                        "eps_m": self.eps_m,
                        "min_points": self.min_points,
                    },
                }
            )
        return {
            "type": "FeatureCollection",
            "features": features,
            "n_points": int(self.ids.size),
            "n_clusters": self.n_clusters,
            "n_noise": int((self.label < 0).sum()),
            "eps_m": self.eps_m,
            "min_points": self.min_points,
            "epsg": self.epsg,
            "explanations": [explanation_dict(e) for e in self.explanations()],
        }


def _rounded(geometry: dict[str, Any], digits: int = 7) -> dict[str, Any]:
    """A GeoJSON Point, LineString or Polygon with coordinates rounded to ``digits``."""
    coords = np.round(np.asarray(shapely.get_coordinates(geojson_shape(geometry))), digits)
    out = json.loads(json.dumps(geometry))
    if geometry["type"] == "Point":
        out["coordinates"] = coords[0].tolist()
    elif geometry["type"] == "LineString":
        out["coordinates"] = coords.tolist()
    elif geometry["type"] == "Polygon":
        out["coordinates"] = [coords.tolist()]
    return out


def _check_dbscan(eps_m: float, min_points: int) -> None:
    """Refuse a non-positive eps or a min_points below 1."""
    if not (math.isfinite(eps_m) and eps_m > 0):
        raise HotspotInputError("邻域半径必须为正数。", "eps must be a positive number of metres.")
    if min_points < 1:
        raise HotspotInputError("最少点数必须至少为 1。", "min_points must be at least 1.")


def _run_dbscan(
    session: Session,
    points: str,
    params: dict[str, Any],
    eps_m: float,
    min_points: int,
    epsg: int,
) -> Clusters:
    """Run ST_ClusterDBSCAN over a points subquery; clusters numbered by first id."""
    rows = session.execute(
        text(_dbscan_sql(points)),
        {**params, "eps": float(eps_m), "minpoints": int(min_points), "epsg": int(epsg)},
    ).all()
    ids = np.asarray([r.id for r in rows], dtype=np.int64)
    label = np.asarray([-1 if r.cluster is None else r.cluster for r in rows], dtype=np.int64)
    # Number clusters by their first member (lowest id), so numbering never depends on plans.
    order: dict[int, int] = {}
    for lab in label.tolist():
        if lab >= 0 and lab not in order:
            order[lab] = len(order)
    label = np.asarray([order.get(v, -1) for v in label.tolist()], dtype=np.int64)
    return Clusters(
        ids,
        [str(r.code) for r in rows],
        np.asarray([r.lon for r in rows], dtype=float),
        np.asarray([r.lat for r in rows], dtype=float),
        label,
        float(eps_m),
        int(min_points),
        int(epsg),
    )


def dbscan_lonlat(
    session: Session,
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    eps_m: float,
    min_points: int = DEFAULT_MIN_POINTS,
    epsg: int | None = None,
) -> Clusters:
    """DBSCAN of lon/lat points in PostGIS (ids 0…n−1 in input order)."""
    _check_dbscan(eps_m, min_points)
    x = np.asarray(lon, dtype=float).ravel()
    y = np.asarray(lat, dtype=float).ravel()
    epsg = epsg or gk_epsg_for_lon(float(np.median(x)) if x.size else 120.0)
    points = (
        "SELECT (ord - 1)::bigint AS id, (ord - 1)::text AS code,"
        " ST_SetSRID(ST_MakePoint(x, y), 4490) AS g"
        " FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS u(x, y, ord)"
    )
    return _run_dbscan(
        session, points, {"xs": x.tolist(), "ys": y.tolist()}, eps_m, min_points, epsg
    )


def dbscan_clusters(
    session: Session,
    flt: PointFilter,
    *,
    today: date,
    eps_m: float = DEFAULT_EPS_M,
    min_points: int = DEFAULT_MIN_POINTS,
) -> Clusters:
    """DBSCAN clusters of the filtered incidents, computed by PostGIS in metres."""
    _check_dbscan(eps_m, min_points)
    sql, params = points_sql(flt)
    params["today"] = today
    count = session.execute(text(f"SELECT count(*), avg(ST_X(g)) FROM ({sql}) q"), params).one()
    if count[0] > MAX_DBSCAN_POINTS:
        raise HotspotInputError(
            f"点数过多（{count[0]}），请缩小筛选范围。",
            f"Too many points ({count[0]}) for clustering; narrow the filter.",
        )
    epsg = gk_epsg_for_lon(float(count[1]) if count[1] is not None else 120.0)
    return _run_dbscan(session, sql, params, eps_m, min_points, epsg)
