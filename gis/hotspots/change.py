"""County hot spots this period against the last, or one category against another, by township.

One comparison (:func:`gis.hotspots.data.compare_hotspots`) runs on the whole county: its study
area is the union of every township, so the grid, the band and both sides' Gi* are the county's,
whoever asks. Each cell then belongs to the township holding its centre (the first by code when
a centre lies on a shared edge), and a township's view is its cells of that one analysis. A
township alone rarely holds the 30 incidents Gi* needs over two months, and a hot spot means
"more than the county around it", as in the township report's hot spot cells.

The township report (:mod:`gis.reports.hotspot_change`) and ``/api/hotspots/change.geojson``
(the wall's change view) both call :func:`county_change_map`, so a township's cells, classes and
counts are the same on paper and on the wall.

* ``versus=None``: the last complete period (month, ISO week or day) against the one before it,
  with the change classes of :data:`gis.hotspots.compare.CHANGES`.
* ``versus=category``: the filter's one category (A) against ``versus`` (B), over the filter's
  dates (all records when none are given), with the classes of
  :data:`gis.hotspots.compare.VERSUS`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import shapely
from sqlalchemy.orm import Session

from gis import palette, vocab
from gis.hotspots.compare import QUIET, side_class
from gis.hotspots.data import (
    Comparison,
    PointFilter,
    compare_hotspots,
    explanation_dict,
    township_units,
)
from gis.hotspots.data.points import _plain
from gis.hotspots.errors import HotspotInputError
from gis.hotspots.periods import Step


@dataclass(frozen=True)
class ChangeMap:
    """The county comparison, each cell's class and the township holding its centre."""

    comparison: Comparison
    change: list[str]  # per cell: a CHANGES key (periods) or a VERSUS key (categories)
    owner: list[str | None]  # per cell: the township code holding its centre, or None
    classes: dict[str, tuple[str, str]]  # class → (Chinese, English), in legend order
    colours: dict[str, str]  # class → colour (gis.palette)
    categories: tuple[str, str] | None = None  # (A, B) for a category comparison
    dates: tuple[date | None, date | None] = (None, None)  # a category comparison's since, until

    @property
    def by(self) -> str:
        """``period`` or ``category``."""
        return self.comparison.by

    @property
    def labels(self) -> tuple[str, str]:
        """Side A's and side B's label: periods (``2026-09``, ``2026-10``) or categories."""
        return self.comparison.labels

    def cells(self, townships: tuple[str, ...] | None = None) -> list[int]:
        """Indices of the cells whose centre lies in ``townships`` (None: every cell)."""
        if townships is None:
            return list(range(len(self.change)))
        keep = set(townships)
        return [k for k, o in enumerate(self.owner) if o in keep]

    def tally(self, townships: tuple[str, ...] | None = None) -> dict[str, int]:
        """Cells per class in ``townships``, every class listed."""
        out = dict.fromkeys(self.classes, 0)
        for k in self.cells(townships):
            out[self.change[k]] += 1
        return out

    def incidents(self, townships: tuple[str, ...] | None = None) -> tuple[int, int]:
        """Incidents counted on side A and on side B in the cells of ``townships``."""
        ks = self.cells(townships)
        cmp = self.comparison
        return int(sum(int(cmp.a.count[k]) for k in ks)), int(sum(int(cmp.b.count[k]) for k in ks))

    def legend(self) -> list[dict[str, str]]:
        """Each class with its colour and names, in order; ``quiet``: nothing significant."""
        return [
            {"change": k, "colour": self.colours[k], "zh": zh, "en": en, "quiet": k in QUIET}
            for k, (zh, en) in self.classes.items()
        ]

    def to_geojson(self, townships: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The cells of ``townships`` (None: all) with both sides and the class, as GeoJSON."""
        cmp = self.comparison
        base = cmp.result.to_geojson()
        ks = self.cells(townships)
        features = []
        for k in ks:
            f = base["features"][k]
            cls_a, conf_a = side_class(int(cmp.a.bin[k]))
            cls_b, conf_b = side_class(int(cmp.b.bin[k]))
            zh, en = self.classes[self.change[k]]
            f["properties"] = {
                "cell": f["properties"]["cell"],
                "township": self.owner[k],
                "count_a": int(cmp.a.count[k]),
                "count_b": int(cmp.b.count[k]),
                "z_a": _plain(float(cmp.a.z[k])),
                "z_b": _plain(float(cmp.b.z[k])),
                "bin_a": int(cmp.a.bin[k]),
                "bin_b": int(cmp.b.bin[k]),
                "class_a": cls_a,
                "confidence_a": conf_a,
                "class_b": cls_b,
                "confidence_b": conf_b,
                "change": self.change[k],
                "change_zh": zh,
                "change_en": en,
            }
            features.append(f)
        a, b = self.incidents(townships)
        out: dict[str, Any] = {
            "type": "FeatureCollection",
            "features": features,
            "by": self.by,
            "a": self.labels[0],
            "b": self.labels[1],
            "townships": list(townships) if townships is not None else None,
            "incidents_a": a,
            "incidents_b": b,
            "cell_m": cmp.result.cell_m,
            "band_m": cmp.result.band_m,
            "shape": cmp.result.shape,
            "epsg": cmp.result.epsg,
            "tally": self.tally(townships),
            "legend": self.legend(),
            "explanations": [explanation_dict(e) for e in cmp.explanations],
        }
        if cmp.period is not None:
            out["period"] = cmp.period
        if self.categories is not None:
            out["dates"] = {
                "since": self.dates[0].isoformat() if self.dates[0] else None,
                "until": self.dates[1].isoformat() if self.dates[1] else None,
            }
            out["categories"] = {
                side: {"value": c, "zh": vocab.Category(c).zh, "en": vocab.Category(c).en}
                for side, c in zip(("a", "b"), self.categories, strict=True)
            }
        return out


def _owners(session: Session, lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
    """The township (by code order, first wins) holding each point."""
    towns = township_units(session)
    owner: list[str | None] = [None] * len(lon)
    for code, poly in zip(towns.codes, towns.polygons, strict=True):
        shapely.prepare(poly)
        for k in shapely.contains_xy(poly, lon, lat).nonzero()[0]:
            if owner[k] is None:
                owner[k] = code
    return owner


def county_change_map(
    session: Session,
    flt: PointFilter,
    *,
    today: date,
    step: Step = "month",
    versus: str | None = None,
) -> ChangeMap:
    """The county's comparison on ``today``: the last complete ``step`` against the one before
    (``versus=None``), or the filter's category against ``versus``.

    The filter's townships and scope do not narrow the analysis (it is the county's); pass them
    to :meth:`ChangeMap.to_geojson`, :meth:`ChangeMap.tally` or :meth:`ChangeMap.incidents`.
    """
    county = replace(flt, township_codes=None, scope=None)
    cats = None
    if versus is None:
        cmp = compare_hotspots(
            session, replace(county, since=None, until=None), today=today, by="period",
            months=1, step=step,
        )
        colours = palette.HOTSPOT_CHANGE_COLOURS
    else:
        if not county.categories or len(county.categories) != 1:
            raise HotspotInputError(
                "按类别比较需要一个类别（category）和一个对比类别（versus）。",
                "Comparing categories needs one category and one to compare it with (versus).",
            )
        cats = (county.categories[0], versus)
        cmp = compare_hotspots(
            session, replace(county, categories=None), today=today, by="category",
            categories=cats,
        )
        colours = palette.HOTSPOT_VERSUS_COLOURS
    res = cmp.result
    owner = _owners(session, np.asarray(res.centre_lon), np.asarray(res.centre_lat))
    return ChangeMap(
        cmp, list(cmp.change), owner, dict(cmp.classes), colours, cats,
        (county.since, county.until),
    )


__all__ = ["ChangeMap", "county_change_map"]
