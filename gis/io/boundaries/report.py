"""What a boundary import reports, and the words it recognises: code, name and zone-level hints,
rejections, overlaps, gaps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gis.errors import LookbackError

CODE_PATTERN = re.compile(r"^\d{12}$")
CODE_HINTS = ("code", "xzqdm", "xzq_dm", "dm", "qhdm", "tjdm", "adcode", "gb", "区划代码", "代码")
NAME_HINTS = ("name", "xzqmc", "xzq_mc", "mc", "qhmc", "名称", "乡镇", "乡镇名称", "xmmc")
LEVEL_HINTS = ("level", "zone_level", "jb", "bhqjb", "级别", "等级")
TOWNSHIP_NAME = re.compile(r"(乡|镇|街道|街道办事处|办事处|开发区|管委会|农场|林场)$")
CHINA_LONLAT = (73.0, 3.0, 136.0, 54.0)
ZONE_LEVELS = {
    "1": "1",
    "一级": "1",
    "一级保护区": "1",
    "一级区": "1",
    "i": "1",
    "level1": "1",
    "level 1": "1",
    "2": "2",
    "二级": "2",
    "二级保护区": "2",
    "二级区": "2",
    "ii": "2",
    "level2": "2",
    "level 2": "2",
    "quasi": "quasi",
    "准": "quasi",
    "准保护区": "quasi",
    "准保护": "quasi",
}


class BoundaryImportError(LookbackError, ValueError):
    """The file as a whole cannot be imported (unreadable, no usable fields, unknown CRS…)."""


@dataclass(frozen=True)
class Rejection:
    """A row that was not imported, and why."""

    row: int
    identifier: str
    reason: str


@dataclass(frozen=True)
class Overlap:
    """Two townships covering the same ground."""

    a: str
    b: str
    area_m2: float


@dataclass(frozen=True)
class Gap:
    """Ground enclosed by townships but in none of them."""

    area_m2: float
    lon: float
    lat: float
    neighbours: tuple[str, ...]


@dataclass
class ImportReport:
    """What an import did: rows imported and updated, rejected with reasons, warnings."""

    kind: str
    source: str
    source_crs: str = ""
    rows_read: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    imported: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    overlaps: list[Overlap] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    merged_rows: int = 0

    @property
    def accounted(self) -> bool:
        """Every row read was imported, updated, rejected or merged into another row."""
        done = len(self.imported) + len(self.updated) + len(self.rejected) + self.merged_rows
        return done == self.rows_read
