"""Comparison: this period against the last, one category against another, on one grid."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

import numpy as np
import shapely
from shapely.geometry import shape as geojson_shape
from sqlalchemy.orm import Session

from gis import vocab
from gis.hotspots import HotspotResult
from gis.hotspots.compare import (
    CHANGES,
    SideGi,
    change_class,
    counts_on_cells,
    gi_on_cells,
    versus_class,
    versus_labels,
)
from gis.hotspots.data.clusters import (
    Clusters,
    dbscan_clusters,
    dbscan_lonlat,
)
from gis.hotspots.data.emerging import (
    TrendRun,
    emerging_trends,
)
from gis.hotspots.data.local_moran import (
    analyse_lisa,
)
from gis.hotspots.data.points import (
    BIN_STYLE,
    INPUT_KINDS,
    KIND_LABELS,
    HotspotRun,
    IncidentPoints,
    InputKind,
    PointFilter,
    StudyArea,
    _plain,
    analyse_hotspots,
    explanation_dict,
    hotspot_collection,
    load_points,
    study_area,
)
from gis.hotspots.errors import Explanation, HotspotInputError
from gis.hotspots.grid import (
    Grid,
    Shape,
    project_lonlat,
)
from gis.hotspots.periods import (
    Step,
    complete_window,
    period_end,
    period_label,
    period_start,
    step_indices,
)

CompareBy = Literal["period", "category"]


@dataclass(frozen=True)
class Comparison:
    """Two Gi* maps on the same cells and band, and each cell's change class."""

    by: str
    labels: tuple[str, str]
    result: HotspotResult  # the shared grid (run on both sides together)
    a: SideGi
    b: SideGi
    change: list[str]
    explanations: list[Explanation]
    period: dict[str, Any] | None = None
    # class → (Chinese, English): CHANGES for periods, VERSUS named for the two categories
    classes: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(CHANGES))

    def tally(self) -> dict[str, int]:
        """Cells per change class, every class listed."""
        return {k: self.change.count(k) for k in self.classes}

    def to_geojson(self) -> dict[str, Any]:
        """One Polygon per cell with both sides' count, z, bin and the change class."""
        base = self.result.to_geojson()
        for k, f in enumerate(base["features"]):
            zh, en = self.classes[self.change[k]]
            f["properties"] = {
                "cell": f["properties"]["cell"],
                "count_a": int(self.a.count[k]),
                "count_b": int(self.b.count[k]),
                "z_a": _plain(float(self.a.z[k])),
                "z_b": _plain(float(self.b.z[k])),
                "bin_a": int(self.a.bin[k]),
                "bin_b": int(self.b.bin[k]),
                "bin": int(self.b.bin[k]),
                "change": self.change[k],
                "change_zh": zh,
                "change_en": en,
            }
        base.update(
            by=self.by,
            a=self.labels[0],
            b=self.labels[1],
            cell_m=self.result.cell_m,
            band_m=self.result.band_m,
            shape=self.result.shape,
            epsg=self.result.epsg,
            tally=self.tally(),
            changes=[{"change": k, "zh": zh, "en": en} for k, (zh, en) in self.classes.items()],
            explanations=[explanation_dict(e) for e in self.explanations],
        )
        if self.period is not None:
            base["period"] = self.period
        return base


def compare_hotspots(
    session: Session,
    flt: PointFilter,
    *,
    today: date,
    by: CompareBy = "period",
    months: int = 1,
    step: Step = "month",
    categories: tuple[str, str] | None = None,
    cell_m: float | None = None,
    band_m: float | None = None,
    shape: Shape = "hex",
    area: StudyArea = "townships",
) -> Comparison:
    """Gi* of two sides on one grid: the last ``months`` complete steps against the ``months``
    before them (``by="period"``), or category A against category B (``by="category"``)."""
    period = None
    if by == "period":
        if months < 1:
            raise HotspotInputError("时段长度至少为 1。", "The period must be at least 1 step.")
        w = complete_window(today, 2 * months, step)
        both = replace(flt, since=max(flt.since or w.start, w.start), until=w.end)
        run = analyse_hotspots(
            session, both, today=today, cell_m=cell_m, band_m=band_m, shape=shape, area=area
        )
        split = w.first + months
        t = step_indices(run.points.day, step)
        side_b = t >= split
        lab_a = f"{period_label(w.first, step)}…{period_label(split - 1, step)}"
        lab_b = f"{period_label(split, step)}…{period_label(w.last, step)}"
        if months == 1:
            lab_a, lab_b = period_label(w.first, step), period_label(w.last, step)
        lon_lat = [
            (run.points.lon[~side_b], run.points.lat[~side_b]),
            (run.points.lon[side_b], run.points.lat[side_b]),
        ]
        period = {
            "step": step,
            "a": lab_a,
            "b": lab_b,
            "start": w.start.isoformat(),
            "end": w.end.isoformat(),
            "excluded": period_label(w.current, step),
            "a_start": w.start.isoformat(),
            "a_end": period_end(split - 1, step).isoformat(),
            "b_start": period_start(split, step).isoformat(),
            "b_end": w.end.isoformat(),
        }
    elif by == "category":
        if not categories or len(categories) != 2 or categories[0] == categories[1]:
            raise HotspotInputError(
                "按类别比较需要两个不同的类别。", "Comparing categories needs two different ones."
            )
        both = replace(flt, categories=tuple(categories))
        both.validated()
        run = analyse_hotspots(
            session, both, today=today, cell_m=cell_m, band_m=band_m, shape=shape, area=area
        )
        lon_lat = []
        for cat in categories:
            pts = load_points(session, replace(both, categories=(cat,)), today=today)
            lon_lat.append((pts.lon, pts.lat))
        lab_a, lab_b = categories
    else:
        raise HotspotInputError(
            f"未知的比较方式 {by!r}，应为 period 或 category。",
            f"Unknown comparison {by!r}; use period or category.",
        )
    res = run.result
    grid = Grid(res.cell_m, res.shape, res.orientation)
    cx, cy = grid.centres(res.cell_ix, res.cell_iy)
    centres = np.column_stack([cx, cy])
    area_geom = None
    if run.boundary is not None:
        area_geom = shapely.make_valid(geojson_shape(run.boundary))
        shapely.prepare(area_geom)
    sides = []
    for lon, lat in lon_lat:
        if area_geom is not None:
            inside = shapely.intersects_xy(area_geom, lon, lat)
            lon, lat = lon[inside], lat[inside]
        x, y = project_lonlat(lon, lat, res.epsg)
        sides.append(
            gi_on_cells(centres, counts_on_cells(grid, res.cell_ix, res.cell_iy, x, y), res.band_m)
        )
    notes = [
        e
        for e in res.explanations
        if e.key in ("input", "study_area", "cell_size", "cells", "distance_band")
    ]
    n_a, n_b = int(sides[0].count.sum()), int(sides[1].count.sum())
    if by == "period":
        change, classes = change_class(sides[0].bin, sides[1].bin), dict(CHANGES)
        tally = Counter(change)
        notes.append(
            Explanation(
                "compare",
                f"按时段比较：A = {lab_a}（{n_a} 个事件），B = {lab_b}（{n_b} 个事件），两者使用"
                f"同一格网与距离阈值，各自计算 Gi* 与 FDR 分级。新成为热点 {tally['became_hot']} "
                f"个、持续为热点 {tally['stayed_hot']} 个、热点消退 {tally['cooled']} 个。",
                f"Comparison by period: A = {lab_a} ({n_a} incidents), B = {lab_b} ({n_b} "
                "incidents), on the same grid and band, each with its own Gi* and FDR bins. "
                f"Became hot {tally['became_hot']}, stayed hot {tally['stayed_hot']}, cooled "
                f"{tally['cooled']}.",
                tally["became_hot"],
            )
        )
    else:
        a, b = (vocab.Category(c) for c in (lab_a, lab_b))
        change, classes = (
            versus_class(sides[0].bin, sides[1].bin),
            versus_labels((a.zh, a.en), (b.zh, b.en)),
        )
        tally = Counter(change)
        notes.append(
            Explanation(
                "compare",
                f"按类别比较：A = {a.zh}（{n_a} 个事件），B = {b.zh}（{n_b} 个事件），两者使用"
                f"同一格网与距离阈值，各自计算 Gi* 与 FDR 分级。两类均为热点 "
                f"{tally['hot_both']} 个、仅{a.zh}为热点 {tally['hot_a_only']} 个、"
                f"仅{b.zh}为热点 {tally['hot_b_only']} 个。",
                f"Comparison by category: A = {a.en} ({n_a} incidents), B = {b.en} ({n_b} "
                "incidents), on the same grid and band, each with its own Gi* and FDR bins. "
                f"Hot for both {tally['hot_both']}, for {a.en} only {tally['hot_a_only']}, for "
                f"{b.en} only {tally['hot_b_only']}.",
                tally["hot_both"],
            )
        )
    return Comparison(by, (lab_a, lab_b), res, sides[0], sides[1], change, notes, period, classes)


__all__ = [
    "BIN_STYLE",
    "INPUT_KINDS",
    "KIND_LABELS",
    "Clusters",
    "HotspotRun",
    "IncidentPoints",
    "InputKind",
    "PointFilter",
    "TrendRun",
    "analyse_hotspots",
    "analyse_lisa",
    "compare_hotspots",
    "dbscan_clusters",
    "dbscan_lonlat",
    "emerging_trends",
    "hotspot_collection",
    "load_points",
    "study_area",
]
