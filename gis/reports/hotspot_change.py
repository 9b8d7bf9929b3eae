"""This month's complaint hot spots against last month's, per township, for the township report.

One comparison runs for the county (:func:`gis.hotspots.data.compare_hotspots`, ``by="period"``:
the last complete month against the month before, on one grid and band over the union of the
townships); each township's part is the change class of the cells whose centre lies in it (as
for the report's hot spot cells). It never raises: a county with too few complaints gets the
reason instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import shapely
from sqlalchemy.orm import Session

from gis.hotspots.compare import CHANGES
from gis.reports.county import TownshipInfo

# What a township reader needs first: where complaints newly concentrate, and where they eased.
SHOWN = ("became_hot", "stayed_hot", "cooled", "became_cold")


@dataclass
class CountyChange:
    """The county comparison, or why there is none."""

    available: bool
    reason_zh: str = ""
    reason_en: str = ""
    label_a: str = ""
    label_b: str = ""
    change: list[str] = field(default_factory=list)
    owner: list[str | None] = field(default_factory=list)  # township of each cell's centre
    count_a: list[int] = field(default_factory=list)
    count_b: list[int] = field(default_factory=list)


@dataclass
class TownshipChange:
    """One township's cells by change class, with the complaints counted on each side."""

    available: bool
    reason_zh: str
    reason_en: str
    label_a: str
    label_b: str
    tally: dict[str, int]
    labels: dict[str, tuple[str, str]]
    complaints_a: int
    complaints_b: int


def county_change(session: Session, day: date, townships: list[TownshipInfo]) -> CountyChange:
    """Complaint hot spots of the last complete month against the month before, on ``day``."""
    from gis.hotspots.data import PointFilter, compare_hotspots

    try:
        cmp = compare_hotspots(session, PointFilter(kind="complaints"), today=day, by="period")
    except Exception as exc:  # noqa: BLE001 - e.g. too few complaints; the report still renders
        zh = getattr(exc, "zh", None) or f"比较未能完成：{exc}"
        en = getattr(exc, "en", None) or f"The comparison did not complete: {exc}"
        return CountyChange(False, zh, en)
    res = cmp.result
    owner: list[str | None] = [None] * len(cmp.change)
    for town in sorted(townships, key=lambda t: t.code):
        shapely.prepare(town.geom)
        inside = shapely.contains_xy(town.geom, res.centre_lon, res.centre_lat)
        for k in inside.nonzero()[0]:
            if owner[k] is None:
                owner[k] = town.code
    return CountyChange(
        True,
        label_a=cmp.labels[0],
        label_b=cmp.labels[1],
        change=list(cmp.change),
        owner=owner,
        count_a=[int(v) for v in cmp.a.count],
        count_b=[int(v) for v in cmp.b.count],
    )


def township_change(county: CountyChange, code: str) -> TownshipChange:
    """Township ``code``'s cells by change class."""
    labels = {k: CHANGES[k] for k in SHOWN}
    if not county.available:
        return TownshipChange(
            False, county.reason_zh, county.reason_en, "", "", dict.fromkeys(SHOWN, 0), labels,
            0, 0,
        )
    mine = [k for k, o in enumerate(county.owner) if o == code]
    tally = dict.fromkeys(SHOWN, 0)
    for k in mine:
        if county.change[k] in tally:
            tally[county.change[k]] += 1
    return TownshipChange(
        True, "", "", county.label_a, county.label_b, tally, labels,
        sum(county.count_a[k] for k in mine), sum(county.count_b[k] for k in mine),
    )
