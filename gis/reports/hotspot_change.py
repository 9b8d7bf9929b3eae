"""This month's complaint hot spots against last month's, per township, for the township report.

The comparison is :func:`gis.hotspots.change.county_change_map` (complaints, the last complete
month against the month before, one county-wide grid and band), the same function the wall's
change view calls through ``/api/hotspots/change.geojson``; each township's part is the change
class of the cells whose centre lies in it. It never raises: a county with too few complaints
gets the reason instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from gis.hotspots.compare import CHANGES

if TYPE_CHECKING:
    from gis.hotspots.change import ChangeMap

# What a township reader needs first: where complaints newly concentrate, and where they eased.
SHOWN = ("became_hot", "stayed_hot", "cooled", "became_cold")


@dataclass
class CountyChange:
    """The county comparison, or why there is none."""

    available: bool
    reason_zh: str = ""
    reason_en: str = ""
    map: ChangeMap | None = None

    @property
    def label_a(self) -> str:
        """The earlier month (``YYYY-MM``)."""
        return self.map.labels[0] if self.map else ""

    @property
    def label_b(self) -> str:
        """The later month, the last complete one."""
        return self.map.labels[1] if self.map else ""


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


def county_change(session: Session, day: date) -> CountyChange:
    """Complaint hot spots of the last complete month against the month before, on ``day``."""
    from gis.hotspots.change import county_change_map
    from gis.hotspots.data import PointFilter

    try:
        cmp = county_change_map(session, PointFilter(kind="complaints"), today=day)
    except Exception as exc:  # noqa: BLE001 - e.g. too few complaints; the report still renders
        zh = getattr(exc, "zh", None) or f"比较未能完成：{exc}"
        en = getattr(exc, "en", None) or f"The comparison did not complete: {exc}"
        return CountyChange(False, zh, en)
    return CountyChange(True, map=cmp)


def township_change(county: CountyChange, code: str) -> TownshipChange:
    """Township ``code``'s cells by change class."""
    labels = {k: CHANGES[k] for k in SHOWN}
    if not county.available or county.map is None:
        return TownshipChange(
            False, county.reason_zh, county.reason_en, "", "", dict.fromkeys(SHOWN, 0), labels,
            0, 0,
        )
    tally = county.map.tally((code,))
    a, b = county.map.incidents((code,))
    return TownshipChange(
        True, "", "", county.label_a, county.label_b, {k: tally[k] for k in SHOWN}, labels, a, b
    )
