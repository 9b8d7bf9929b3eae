"""What an import reports: the error for a file that is not a ledger, each row's outcome, the whole
report, and one exported row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from gis import vocab
from gis.io.excel.vocabulary import (
    OUTCOMES,
)
from gis.ledger.writes import (
    LedgerError,
)


class ExcelLedgerError(LedgerError):
    """The file cannot be read as a ledger (not .xlsx, no header row…)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


@dataclass
class RowOutcome:
    """What became of one spreadsheet row (by its Excel row number)."""

    row: int
    outcome: str
    code: str | None = None
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


@dataclass
class LedgerImportReport:
    """The result of an import: every row's outcome, the columns found, and whether it was kept."""

    filename: str
    sheet: str
    header_row: int
    columns: dict[str, str]
    rows: list[RowOutcome] = field(default_factory=list)
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        """How many rows had each outcome."""
        counts = dict.fromkeys(OUTCOMES, 0)
        for r in self.rows:
            counts[r.outcome] += 1
        return counts

    def by_row(self) -> dict[int, RowOutcome]:
        """The outcomes keyed by Excel row number."""
        return {r.row: r for r in self.rows}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form of the report."""
        return {
            "filename": self.filename,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "columns": self.columns,
            "dry_run": self.dry_run,
            "counts": self.counts(),
            "rows": [asdict(r) for r in self.rows],
        }


@dataclass
class LedgerRow:
    """One problem as the spreadsheet shows it (stored values; labels come at writing)."""

    code: str
    source: str
    category: str
    township_code: str | None
    township_name: str | None
    description: str = ""
    responsible_unit: str = ""
    responsible_person: str = ""
    supervising_leader: str = ""
    target: str = ""
    measures: str = ""
    progress: str = ""
    deadline_kind: str = vocab.DeadlineKind.DATED.value
    deadline: date | None = None
    status: str = vocab.Status.REPORTED.value
    geometry: BaseGeometry | None = None
    due_date: date | None = None
    overdue: bool = False
    warning: str = "none"
    days_overdue: int = 0
    rebound_count: int = 0

    def point(self) -> tuple[float, float] | None:
        """The (lon, lat) the template shows: the point, or a point on a line or polygon."""
        if self.geometry is None or self.geometry.is_empty:
            return None
        p = self.geometry if self.geometry.geom_type == "Point" else representative(self.geometry)
        return p.x, p.y


def _cell_safe(value: Any) -> Any:
    """Text without the control characters a worksheet cannot hold; other values unchanged."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def representative(geom: BaseGeometry) -> Point:
    """The point the template shows for a line or polygon (shapely's point on surface)."""
    return geom.point_on_surface()
