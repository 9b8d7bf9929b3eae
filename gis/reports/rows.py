"""Rows of the report and bulletin tables: one problem with the fields a leader reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from shapely.geometry import shape

from gis import vocab


@dataclass(frozen=True)
class ProblemRow:
    """A problem as a table row: number, point, unit, person, deadline, days overdue, warning."""

    code: str
    township_code: str | None
    township_name: str | None
    category: str
    category_label: str
    status: str
    status_label: str
    description: str
    responsible_unit: str
    responsible_person: str
    deadline_kind: str
    deadline_kind_label: str
    due_date: date | None
    days_overdue: int
    warning: str
    warning_label: str
    rebound_count: int
    lon: float | None
    lat: float | None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ProblemRow:
        """Build a row from a :func:`gis.ledger.query.list_problems` item (geometry optional)."""
        lon = lat = None
        geometry = item.get("geometry")
        if geometry:
            if geometry.get("type") == "Point":
                lon, lat = geometry["coordinates"][:2]
            else:
                point = shape(geometry).representative_point()
                lon, lat = point.x, point.y
        due = item.get("due_date")
        kind = item.get("deadline_kind") or ""
        warning = item.get("warning") or "none"
        return cls(
            code=item["code"],
            township_code=item.get("township_code"),
            township_name=item.get("township_name"),
            category=item["category"],
            category_label=item.get("category_label") or item["category"],
            status=item["status"],
            status_label=item.get("status_label") or item["status"],
            description=item.get("description") or "",
            responsible_unit=item.get("responsible_unit") or "",
            responsible_person=item.get("responsible_person") or "",
            deadline_kind=kind,
            deadline_kind_label=vocab.DeadlineKind(kind).zh if kind else "",
            due_date=date.fromisoformat(str(due)[:10]) if due else None,
            days_overdue=int(item.get("days_overdue") or 0),
            warning=warning,
            warning_label=vocab.Warning(warning).zh,
            rebound_count=int(item.get("rebound_count") or 0),
            lon=float(lon) if lon is not None else None,
            lat=float(lat) if lat is not None else None,
        )

    @property
    def point_text(self) -> str:
        """``lon, lat`` to five decimals (about a metre), or empty without a geometry."""
        if self.lon is None or self.lat is None:
            return ""
        return f"{self.lon:.5f}, {self.lat:.5f}"


@dataclass(frozen=True)
class ProblemTable:
    """A titled table of problems; ``total`` may exceed the rows shown."""

    key: str
    title_zh: str
    title_en: str
    rows: list[ProblemRow]
    total: int

    @property
    def truncated(self) -> bool:
        """True when more problems matched than the table shows."""
        return self.total > len(self.rows)
