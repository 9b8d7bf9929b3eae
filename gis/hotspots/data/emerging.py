"""Emerging hot spots over complete periods: the space-time cube of the last N complete months,
weeks or days and Esri's categories per cell."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import mapping
from shapely.geometry import shape as geojson_shape
from sqlalchemy.orm import Session

from gis.hotspots.cube import CubeData
from gis.hotspots.data.clusters import (
    _rounded,
)
from gis.hotspots.data.points import (
    DEFAULT_MONTHS,
    PointFilter,
    _plain,
    analyse_hotspots,
    explanation_dict,
)
from gis.hotspots.errors import Explanation, HotspotInputError
from gis.hotspots.grid import (
    Grid,
    Shape,
    project_lonlat,
    transform_geometries,
    unproject_xy,
)
from gis.hotspots.periods import (
    STEP_WORDS,
    Step,
    Window,
    complete_window,
    period_label,
    step_indices,
)
from gis.hotspots.trends import (
    CATEGORIES,
    MIN_STEPS,
    EmergingResult,
    emerging_hotspots,
    space_time_cube,
)


@dataclass(frozen=True)
class TrendRun:
    """Emerging hot spot categories per cell over complete monthly, weekly or daily steps."""

    window: Window
    cells: list[str]
    polygons: NDArray[np.object_]
    counts: NDArray[np.int64]  # (cells, steps)
    pattern: list[str]
    trend_z: NDArray[np.float64]
    trend_p: NDArray[np.float64]
    count_trend: list[str]
    final_bin: NDArray[np.int8]
    cell_m: float
    band_m: float
    explanations: list[Explanation]
    epsg: int = 0  # the Gauss-Krüger zone of the grid
    shape: str = "hex"
    cell_ix: NDArray[np.int64] | None = None
    cell_iy: NDArray[np.int64] | None = None
    xy: NDArray[np.float64] | None = None  # cell centres, metres in EPSG:epsg
    emerging: EmergingResult | None = None  # per-bin Gi* and both Mann-Kendall tests

    def to_cube(self) -> CubeData:
        """The cube (counts, Gi* per bin, trends, categories) for :mod:`gis.hotspots.cube`."""
        if self.emerging is None or self.xy is None or self.cell_ix is None:
            raise ValueError("this run holds no cube")
        assert self.cell_iy is not None
        e = self.emerging
        lon, lat = unproject_xy(self.xy[:, 0], self.xy[:, 1], self.epsg)
        return CubeData(
            window=self.window,
            cell_ids=self.cells,
            cell_ix=self.cell_ix,
            cell_iy=self.cell_iy,
            x=self.xy[:, 0],
            y=self.xy[:, 1],
            lon=lon,
            lat=lat,
            counts=self.counts,
            gi_z=e.z,
            gi_p=e.p,
            gi_bin=e.bins,
            trend_z=e.trend_counts.z,
            trend_p=e.trend_counts.p,
            gi_trend_z=e.trend_z.z,
            gi_trend_p=e.trend_z.p,
            pattern=self.pattern,
            epsg=self.epsg,
            cell_m=self.cell_m,
            band_m=self.band_m,
            shape=self.shape,
        )

    @property
    def steps(self) -> list[str]:
        """One label per time step, oldest first; the last is the last complete period."""
        return self.window.labels()

    @property
    def months(self) -> list[str]:
        """The step labels (``YYYY-MM`` for monthly steps)."""
        return self.steps

    def tally(self) -> dict[str, int]:
        """Cells per category key."""
        return dict(Counter(self.pattern))

    def period(self) -> dict[str, Any]:
        """The window: step kind, first and last day, the last complete and the left-out period."""
        w = self.window
        return {
            "step": w.step,
            "n_steps": w.n_steps,
            "start": w.start.isoformat(),
            "end": w.end.isoformat(),
            "last_complete": period_label(w.last, w.step),
            "excluded": period_label(w.current, w.step),
            "today": w.today.isoformat(),
        }

    def to_geojson(self) -> dict[str, Any]:
        """One Polygon per cell with CATEGORY, PATTERN (zh/en), counts per step and MK trends."""
        features = []
        for k, cell in enumerate(self.cells):
            code, en, zh = CATEGORIES[self.pattern[k]]
            features.append(
                {
                    "type": "Feature",
                    "id": cell,
                    "geometry": _rounded(mapping(self.polygons[k])),
                    "properties": {
                        "cell": cell,
                        "category": code,
                        "pattern": self.pattern[k],
                        "pattern_en": en,
                        "pattern_zh": zh,
                        "count": int(self.counts[k].sum()),
                        "counts": self.counts[k].tolist(),
                        "final_bin": int(self.final_bin[k]),
                        "trend_z": _plain(float(self.trend_z[k])),
                        "trend_p": _plain(float(self.trend_p[k])),
                        "count_trend": self.count_trend[k],
                    },
                }
            )
        out: dict[str, Any] = {
            "type": "FeatureCollection",
            "features": features,
            "step": self.window.step,
            "steps": self.steps,
            "period": self.period(),
            "cell_m": self.cell_m,
            "band_m": self.band_m,
            "epsg": self.epsg,
            "tally": self.tally(),
            "categories": [
                {"key": key, "category": c, "en": en, "zh": zh}
                for key, (c, en, zh) in CATEGORIES.items()
            ],
            "explanations": [explanation_dict(e) for e in self.explanations],
        }
        if self.window.step == "month":
            out["months"] = self.steps
        return out


def _period_explanation(w: Window) -> Explanation:
    """Which periods the cube holds, and that the unfinished current one is left out."""
    zh_unit, en_unit = STEP_WORDS[w.step]
    first, last = period_label(w.first, w.step), period_label(w.last, w.step)
    current = period_label(w.current, w.step)
    return Explanation(
        "period",
        f"时间步为完整的{zh_unit}：{first} 至 {last}，共 {w.n_steps} 个（{w.start} 至 {w.end}）。"
        f"最后一个时间步是最后一个完整的{zh_unit}（{last}）；当前未结束的{zh_unit}（{current}，"
        f"截至 {w.today}）不计入，否则其偏少的事件数会造成虚假的历史热点和新增冷点。",
        f"Time steps are complete {en_unit}s: {first} to {last}, {w.n_steps} in all "
        f"({w.start} to {w.end}). The final step is the last complete {en_unit} ({last}); the "
        f"unfinished current {en_unit} ({current}, as of {w.today}) is left out, since its "
        "incomplete counts would show spurious historical hot spots and new cold spots.",
        period_label(w.last, w.step),
        {"start": w.start.isoformat(), "end": w.end.isoformat(), "excluded": current},
    )


def emerging_trends(
    session: Session,
    flt: PointFilter,
    *,
    today: date,
    months: int = DEFAULT_MONTHS,
    step: Step = "month",
    cell_m: float | None = None,
    band_m: float | None = None,
    shape: Shape = "hex",
) -> TrendRun:
    """Emerging hot spot category per cell over the last ``months`` complete ``step`` periods."""
    # ``months`` is the number of time steps (of kind ``step``); the window ends with the last
    # complete period before ``today``, so the current, unfinished one never counts.
    if months < MIN_STEPS:
        raise HotspotInputError(
            f"新兴热点分析至少需要 {MIN_STEPS} 个时间步。",
            f"Emerging hot spot analysis needs at least {MIN_STEPS} time steps.",
        )
    w = complete_window(today, months, step)
    since, until = w.start, w.end
    if flt.since and flt.since > since:
        since = flt.since
    window = replace(flt, since=since, until=min(flt.until or until, until))
    run = analyse_hotspots(session, window, today=today, cell_m=cell_m, band_m=band_m, shape=shape)
    result, pts = run.result, run.points
    keep = np.ones(len(pts), dtype=bool)
    if run.boundary is not None:
        area = shapely.make_valid(geojson_shape(run.boundary))
        shapely.prepare(area)
        keep = shapely.intersects_xy(area, pts.lon, pts.lat)
    x, y = project_lonlat(pts.lon[keep], pts.lat[keep], result.epsg)
    grid = Grid(result.cell_m, result.shape, result.orientation)
    t = step_indices(pts.day[keep], step) - w.first
    # With a study area the cube holds every analysed cell (all cells inside the boundary, zeros
    # included, as Esri's cube does); without one only the cells holding incidents.
    cells = (result.cell_ix, result.cell_iy) if run.boundary is not None else None
    cube = space_time_cube(grid, x, y, t, w.n_steps, cells=cells)
    emerging = emerging_hotspots(cube.counts, cube.xy, result.band_m)
    tag = "sq" if result.shape == "square" else f"hex{result.orientation[0]}"
    ids = [f"{tag}:{i}:{j}" for i, j in zip(cube.ix.tolist(), cube.iy.tolist(), strict=True)]
    polys = transform_geometries(grid.polygons(cube.ix, cube.iy), result.epsg, 4326)
    labels = w.labels()
    tally = Counter(emerging.pattern)
    hot = sum(v for k, v in tally.items() if k.endswith("_hot"))
    cold = sum(v for k, v in tally.items() if k.endswith("_cold"))
    notes = [
        e
        for e in result.explanations
        if e.key in ("input", "study_area", "cell_size", "distance_band")
    ]
    notes.append(_period_explanation(w))
    zh_unit, en_unit = STEP_WORDS[step]
    notes.append(
        Explanation(
            "emerging",
            f"按{zh_unit}构建时空立方体：{labels[0]} 至 {labels[-1]} 共 {w.n_steps} 个{zh_unit}、"
            f"{len(ids)} 个格网；时空 Gi*（时间邻域 1 个{zh_unit}，FDR 校正）与 Mann-Kendall "
            f"趋势检验后，{hot} 个格网为各类热点，{cold} 个为各类冷点。",
            f"Space-time cube by {en_unit} from {labels[0]} to {labels[-1]} ({w.n_steps} "
            f"{en_unit}s, {len(ids)} cells); after space-time Gi* (one-{en_unit} time window, "
            f"FDR) and Mann-Kendall trend tests, {hot} cells show a hot-spot pattern and {cold} "
            "a cold-spot pattern.",
            w.n_steps,
            dict(tally),
        )
    )
    return TrendRun(
        window=w,
        cells=ids,
        polygons=polys,
        counts=cube.counts,
        pattern=emerging.pattern,
        trend_z=emerging.trend_z.z,
        trend_p=emerging.trend_z.p,
        count_trend=[str(t) for t in emerging.trend_counts.trend],
        final_bin=emerging.bins[:, -1],
        cell_m=result.cell_m,
        band_m=result.band_m,
        explanations=notes,
        epsg=result.epsg,
        shape=result.shape,
        cell_ix=cube.ix,
        cell_iy=cube.iy,
        xy=cube.xy,
        emerging=emerging,
    )
