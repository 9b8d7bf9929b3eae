"""The Excel ledger (整改台账): import the spreadsheets offices keep, and write them back.

Offices keep their ledgers in Excel with Chinese headers, title and note rows, merged cells, and
coordinates and dates typed every which way. :func:`import_ledger` finds the header row, reads each
row into the ledger's values (see ``docs/excel.md`` for the tables), and creates or updates
problems through :mod:`gis.ledger.writes`, so every change writes events. Problems are matched by
问题编号: importing the same file again changes nothing. :func:`write_ledger_xlsx` writes the
template back.
"""

from __future__ import annotations

import calendar
import io
import logging
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from geoalchemy2.shape import to_shape
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.cell_range import CellRange
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from gis import vocab
from gis.config import get_settings
from gis.db.models import Closure, Problem
from gis.geo.coords import CHINA_LAT_RANGE, CHINA_LON_RANGE, looks_swapped, parse_coordinate
from gis.geo.townships import township_for_wkt
from gis.ledger.writes import (
    Conflict,
    LedgerError,
    ProblemInput,
    create_problem,
    record_event,
    update_problem,
)

log = logging.getLogger("lookback.excel")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OUTCOMES = ("imported", "updated", "unchanged", "merged", "skipped", "rejected")
HEADER_SCAN_ROWS = 30
# What an uploaded workbook may hold (see docs/excel.md): a ledger is a few thousand rows.
MAX_SHEET_ROWS = 20_000
MAX_SHEET_COLUMNS = 200
MAX_ZIP_MEMBERS = 2_000
MAX_MEMBER_BYTES = 300_000_000  # uncompressed, per part and in all
MAX_EXPANSION_RATIO = 100  # uncompressed / compressed, for parts over RATIO_FLOOR_BYTES
RATIO_FLOOR_BYTES = 5_000_000
MERGE_TAG = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}mergeCell"
COORD_TOLERANCE_DEG = 1e-7  # about 1 cm: Excel keeps 15-16 significant digits

# Header words by ledger field, compared after normalisation (NFKC, no spaces, no line breaks);
# a header is also tried with its bracketed part removed (所属乡镇（街道） → 所属乡镇).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "seq": ("序号",),
    "code": ("问题编号", "编号", "台账编号", "交办编号", "问题代码", "案件编号"),
    "source": ("问题来源", "来源", "交办来源", "反馈来源"),
    "township": (
        "所属乡镇",
        "乡镇",
        "属地",
        "乡镇街道",
        "所在乡镇",
        "责任乡镇",
        "属地乡镇",
        "乡",
        "所属区域",
    ),
    "category": ("问题类别", "类别", "问题类型", "类型", "问题分类", "污染类型"),
    "description": (
        "问题描述",
        "具体问题",
        "问题内容",
        "问题",
        "问题概况",
        "反馈问题",
        "存在问题",
        "主要问题",
        "问题情况",
    ),
    "lon": ("经度", "东经"),
    "lat": ("纬度", "北纬"),
    "lonlat": ("经纬度", "坐标", "位置坐标", "点位坐标", "地理坐标"),
    "responsible_unit": (
        "责任单位",
        "牵头单位",
        "主体责任单位",
        "责任主体",
        "整改责任单位",
        "牵头责任单位",
    ),
    "responsible_person": ("责任人", "具体责任人", "整改责任人", "主体责任人"),
    "supervising_leader": ("责任领导", "包案领导", "分管领导", "督导领导", "牵头领导"),
    "target": ("整改目标", "整改要求", "目标"),
    "measures": ("整改措施", "措施", "主要措施"),
    "deadline": (
        "整改时限",
        "完成时限",
        "整改期限",
        "时限",
        "办结时限",
        "整改完成时限",
        "计划完成时间",
        "完成期限",
    ),
    "progress": (
        "整改进展",
        "进展情况",
        "整改情况",
        "整改进度",
        "进展",
        "整改进展情况",
        "推进情况",
    ),
    "status": ("整改状态", "完成情况", "状态", "办结情况", "是否完成", "整改完成情况", "销号情况"),
    "closed_on": ("销号时间", "销号日期", "办结时间", "办结日期", "实际完成时间", "销号完成时间"),
    "remark": ("备注",),
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}
TEXT_FIELDS = (
    "description",
    "responsible_unit",
    "responsible_person",
    "supervising_leader",
    "target",
    "measures",
    "progress",
)

# Cell words, tried in order as substrings after exact matches on values and Chinese labels.
CATEGORY_WORDS: tuple[tuple[str, str], ...] = (
    ("黑臭", "black_odorous_water"),
    ("排污口", "river_outfall"),
    ("排口", "river_outfall"),
    ("管网", "sewage_network"),
    ("雨污", "sewage_network"),
    ("污水收集", "sewage_network"),
    ("污水处理", "sewage_plant"),
    ("污水厂", "sewage_plant"),
    ("采砂", "sand_gravel"),
    ("砂石", "sand_gravel"),
    ("饮用水", "water_source"),
    ("水源", "water_source"),
    ("扬尘", "dust"),
    ("垃圾", "landfill"),
    ("填埋", "landfill"),
    ("秸秆", "straw_burning"),
    ("油烟", "restaurant_fumes"),
    ("餐饮", "restaurant_fumes"),
    ("工业", "industrial"),
    ("企业", "industrial"),
    ("其他", "other"),
    ("其它", "other"),
)
STATUS_WORDS: tuple[tuple[str, str], ...] = (
    ("反弹", "rebounded"),
    ("申请销号", "awaiting_verification"),
    ("待验收", "awaiting_verification"),
    ("待销号", "awaiting_verification"),
    ("申请验收", "awaiting_verification"),
    ("验收中", "awaiting_verification"),
    ("未销号", "rectifying"),
    ("已销号", "closed"),
    ("未完成", "rectifying"),
    ("阶段性完成", "rectifying"),
    ("基本完成", "rectifying"),
    ("整改中", "rectifying"),
    ("正在", "rectifying"),
    ("推进", "rectifying"),
    ("持续", "rectifying"),
    ("长期坚持", "rectifying"),
    ("未交办", "reported"),
    ("待交办", "reported"),
    ("已登记", "reported"),
    ("登记", "reported"),
    ("已交办", "assigned"),
    ("未开始", "assigned"),
    ("未启动", "assigned"),
    # Work reported done is the township's claim: it awaits the on-site check and approval.
    ("已完成", "awaiting_verification"),
    ("完成", "awaiting_verification"),
    ("已整改", "awaiting_verification"),
    ("办结", "closed"),
    ("销号", "closed"),
)
SOURCE_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("中央", "回头看"), "central_lookback"),
    (("中央", "第二轮"), "central_2"),
    (("中央", "二轮"), "central_2"),
    (("中央",), "central_1"),
    (("信访",), "complaint"),
    (("投诉",), "complaint"),
    (("举报",), "complaint"),
    (("12345",), "complaint"),
    (("12369",), "complaint"),
    (("暗查",), "unannounced"),
    (("暗访",), "unannounced"),
    (("四不两直",), "unannounced"),
    (("自查",), "self_check"),
    (("推送",), "pushed_list"),
    (("省",), "provincial"),
    (("市",), "municipal"),
    (("巡查",), "inspection"),
)
NOTE_PREFIXES = ("注", "备注", "说明", "填报", "填表", "制表", "审核", "联系", "负责人", "报送")
TOTAL_WORDS = ("合计", "总计", "小计", "共计")
EXPORT_NOTE = (
    "注：问题来源、问题类别、整改状态的写法见 docs/excel.md；经纬度为 CGCS2000（WGS-84）。"
)
PLACEHOLDERS = frozenset({"", "/", "-", "--", "—", "——", "无", "暂无", "空", "N/A", "NA", "\\"})

# The export template, in column order; the importer reads it back unchanged.
TEMPLATE_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("seq", "序号", 6),
    ("code", "问题编号", 16),
    ("source", "问题来源", 18),
    ("township", "所属乡镇", 12),
    ("category", "问题类别", 14),
    ("description", "问题描述", 40),
    ("lon", "经度", 13),
    ("lat", "纬度", 13),
    ("responsible_unit", "责任单位", 18),
    ("responsible_person", "责任人", 10),
    ("supervising_leader", "责任领导", 10),
    ("target", "整改目标", 30),
    ("measures", "整改措施", 36),
    ("deadline", "整改时限", 14),
    ("progress", "整改进展", 30),
    ("status", "整改状态", 10),
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


# ---------------------------------------------------------------------------------------------
# Cell values
# ---------------------------------------------------------------------------------------------


def squeeze(value: Any) -> str:
    """Cell text in NFKC with every space and line break removed (for codes, words, headers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value)))


def clean_text(value: Any) -> str:
    """Cell text with each line trimmed and blank edges removed (for descriptions, measures…)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        value = value.isoformat()[:10]
    raw = str(value).replace("\r\n", "\n").replace("\r", "\n").replace("\u3000", " ")
    return "\n".join(line.strip() for line in raw.split("\n")).strip()


def is_blank(value: Any) -> bool:
    """Whether a cell is empty or holds only a placeholder such as "/" or "无"."""
    return squeeze(value).upper() in PLACEHOLDERS


def header_field(value: Any) -> str | None:
    """The ledger field a header cell names, or None."""
    s = squeeze(value).lstrip("*※★").rstrip(":：")
    if not s:
        return None
    if s in _ALIAS_TO_FIELD:
        return _ALIAS_TO_FIELD[s]
    stripped = re.sub(r"\(.*?\)|\[.*?\]|【.*?】|〔.*?〕", "", s)
    return _ALIAS_TO_FIELD.get(stripped)


def _labels(enum: type[vocab.Labelled]) -> dict[str, str]:
    words: dict[str, str] = {}
    for member in enum:
        words[member.value] = member.value
        words[squeeze(member.zh)] = member.value
        words[squeeze(member.en).lower()] = member.value
    return words


def map_category(value: Any) -> str | None:
    """The category a cell names (value, label or keyword), or None when unrecognised."""
    s = squeeze(value)
    exact = _labels(vocab.Category)
    if s in exact or s.lower() in exact:
        return exact.get(s) or exact[s.lower()]
    return next((cat for word, cat in CATEGORY_WORDS if word in s), None)


def map_status(value: Any) -> str | None:
    """The status a cell names (value, label or keyword), or None when unrecognised."""
    s = squeeze(value)
    exact = _labels(vocab.Status)
    if s in exact or s.lower() in exact:
        return exact.get(s) or exact[s.lower()]
    return next((st for word, st in STATUS_WORDS if word in s), None)


def map_source(value: Any) -> str | None:
    """The source a cell names (value, label or keyword), or None when unrecognised."""
    s = squeeze(value)
    exact = _labels(vocab.Source)
    if s in exact or s.lower() in exact:
        return exact.get(s) or exact[s.lower()]
    return next((src for words, src in SOURCE_WORDS if all(w in s for w in words)), None)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


_YMD = re.compile(r"(\d{4})(?:年|[-./])(\d{1,2})(?:月|[-./])(\d{1,2})日?")
_COMPACT = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")
_YM = re.compile(r"(\d{4})(?:年(\d{1,2})月|[-./](\d{1,2})(?![-./\d]))")
_Y_END = re.compile(r"(\d{4})年{1,2}(?:底|末)")
_HALF = re.compile(r"(\d{4})年(上|下)半年")
_QUARTER = re.compile(r"(\d{4})年第?([一二三四1-4])季度")
_QUARTERS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def _date_in(s: str) -> date | None:
    """The first date written in ``s`` (already squeezed), or None; ValueError for 2026-02-30."""
    if m := _YMD.search(s):
        return date(int(m[1]), int(m[2]), int(m[3]))
    if m := _COMPACT.search(s):
        return date(int(m[1]), int(m[2]), int(m[3]))
    if m := _HALF.search(s):
        return date(int(m[1]), 6, 30) if m[2] == "上" else date(int(m[1]), 12, 31)
    if m := _QUARTER.search(s):
        return _month_end(int(m[1]), 3 * _QUARTERS[m[2]])
    if m := _YM.search(s):
        return _month_end(int(m[1]), int(m[2] or m[3]))
    if m := _Y_END.search(s):
        return date(int(m[1]), 12, 31)
    return None


# A deadline cell may hold its history: "2026年6月30日（已延期至2026年12月31日）", or a span
# "2026年3月至2026年6月". The date in force is the one after the extension word, else the
# span's end.
_EXTENDED = re.compile(r"(?:延期至|延期到|延长至|延至|推迟至|推迟到|顺延至|调整为|调整至|变更为)")
_SPAN = re.compile(r"(?:至|到|—|～|~|－|-(?=(?:19|20)\d{2}))")


def _date_in_force(s: str) -> date | None:
    """The deadline in force written in ``s`` (squeezed): after an extension, or a span's end."""
    parts = _EXTENDED.split(s)
    if len(parts) > 1:
        for part in reversed(parts[1:]):
            if (found := _date_in(part)) is not None:
                return found
    for part in reversed(_SPAN.split(s)):
        if (found := _date_in(part)) is not None:
            return found
    return _date_in(s)


def parse_deadline(value: Any) -> tuple[str | None, date | None]:
    """(deadline_kind, deadline) of a 整改时限 cell; (None, None) when blank; ValueError if bad."""
    if is_blank(value):
        return None, None
    if isinstance(value, datetime):
        return vocab.DeadlineKind.DATED.value, value.date()
    if isinstance(value, date):
        return vocab.DeadlineKind.DATED.value, value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not (math.isfinite(value) and 20000 <= value <= 80000):
            raise ValueError(f"{value!r} is not an Excel date")
        return vocab.DeadlineKind.DATED.value, from_excel(value).date()
    s = squeeze(value)
    kind = None
    if "立行立改" in s or "立即整改" in s:
        kind = vocab.DeadlineKind.IMMEDIATE.value
    elif "长期坚持" in s or "长期" in s or "持续推进" in s:
        kind = vocab.DeadlineKind.LONG_TERM.value
    try:
        found = _date_in_force(s)
    except ValueError as exc:
        raise ValueError(f"{clean_text(value)!r}: {exc}") from None
    if found is None and kind is None and re.fullmatch(r"\d{5}(?:\.0+)?", s):
        found = from_excel(float(s)).date()
    if found is not None and not 2000 <= found.year <= 2100:
        raise ValueError(f"{clean_text(value)!r}: year {found.year} is not plausible")
    if found is None and kind is None:
        raise ValueError(f"cannot read {clean_text(value)!r} as a deadline")
    return kind or vocab.DeadlineKind.DATED.value, found


def parse_lonlat(lon: Any, lat: Any) -> tuple[float, float, bool]:
    """(lon, lat, swapped) from two cells in decimal degrees or DMS; ValueError if impossible."""
    x = parse_coordinate(_coordinate_text(lon))
    y = parse_coordinate(_coordinate_text(lat))
    swapped = looks_swapped(x, y)
    if swapped:
        x, y = y, x
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        raise ValueError(f"longitude {x:g}, latitude {y:g} are out of range")
    if not (
        CHINA_LON_RANGE[0] <= x <= CHINA_LON_RANGE[1]
        and CHINA_LAT_RANGE[0] <= y <= CHINA_LAT_RANGE[1]
    ):
        raise ValueError(f"longitude {x:g}, latitude {y:g} lie outside China")
    return x, y, swapped


def _coordinate_text(value: Any) -> str | float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def split_lonlat(value: Any) -> tuple[str, str]:
    """Two coordinates written in one cell ("113.05, 34.05"); ValueError when not two."""
    parts = [p for p in re.split(r"[,，、;；/\s]+", unicodedata.normalize("NFKC", str(value))) if p]
    if len(parts) != 2:
        raise ValueError(f"expected two coordinates in {clean_text(value)!r}")
    return parts[0], parts[1]


def code_text(value: Any) -> str:
    """A 问题编号 as stored: NFKC, no spaces; whole numbers without ".0"."""
    return squeeze(value)


# ---------------------------------------------------------------------------------------------
# Reading the sheet
# ---------------------------------------------------------------------------------------------


@dataclass
class _Sheet:
    name: str
    grid: list[list[Any]]  # values by [row - 1][column - 1], merged cells filled down
    header_row: int  # 1-based
    header_rows: int  # 1, or 2 with a sub-header row (经度 / 纬度 under 坐标)
    columns: dict[str, int]  # field -> 0-based column
    headers: dict[str, str]  # field -> header text
    # (row, 0-based column) of a cell filled down from a vertical merge -> the merge's top row
    merged: dict[tuple[int, int], int] = field(default_factory=dict)


def _check_archive(data: bytes) -> None:
    """Refuse zip members whose declared expansion is absurd, before any of them is inflated."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise ExcelLedgerError(
                f"the workbook has {len(members)} parts (at most {MAX_ZIP_MEMBERS}) / 文件结构异常"
            )
        total = 0
        for info in members:
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > MAX_MEMBER_BYTES or (
                info.file_size > RATIO_FLOOR_BYTES and ratio > MAX_EXPANSION_RATIO
            ):
                raise ExcelLedgerError(
                    f"workbook part {info.filename!r} expands to {info.file_size:,} bytes "
                    f"({ratio:.0f}× its compressed size): refused as a zip bomb / 文件解压后过大"
                )
        if total > MAX_MEMBER_BYTES:
            raise ExcelLedgerError(
                f"the workbook expands to {total:,} bytes (at most {MAX_MEMBER_BYTES:,})"
                " / 文件解压后过大"
            )


def _open_workbook(data: bytes) -> Any:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        hint = (
            " (an old .xls workbook: save it as .xlsx)" if data[:4] == b"\xd0\xcf\x11\xe0" else ""
        )
        raise ExcelLedgerError(f"not an Excel .xlsx workbook{hint} / 不是 .xlsx 文件")
    try:
        _check_archive(data)
    except zipfile.BadZipFile as exc:
        raise ExcelLedgerError(f"cannot read the workbook: {exc} / 无法读取工作簿") from None
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise ExcelLedgerError(f"cannot read the workbook: {exc} / 无法读取工作簿") from None


def _too_big(ws: Any, rows: int, cols: int, declared: bool) -> ExcelLedgerError:
    how = "declares" if declared else "has"
    return ExcelLedgerError(
        f"sheet {ws.title!r} {how} {rows:,} rows × {cols:,} columns; at most {MAX_SHEET_ROWS:,} "
        f"rows × {MAX_SHEET_COLUMNS} columns are read / 工作表过大（行数或列数超出上限）"
    )


def _merged_ranges(ws: Any) -> list[CellRange]:
    """The sheet's merged ranges, read from its XML without loading the sheet."""
    ranges: list[CellRange] = []
    with ws._get_source() as src:  # noqa: SLF001 - openpyxl's read-only sheet keeps no merges
        for _, element in ElementTree.iterparse(src):
            if element.tag == MERGE_TAG:
                ranges.append(CellRange(element.get("ref")))
                if len(ranges) > MAX_SHEET_ROWS:
                    raise ExcelLedgerError(
                        f"sheet {ws.title!r} has too many merged ranges / 合并单元格过多"
                    )
            if element.tag != MERGE_TAG and not element.tag.endswith("mergeCells"):
                element.clear()
    return ranges


def _grid(ws: Any) -> tuple[list[list[Any]], dict[tuple[int, int], int]]:
    """The sheet's values, each vertical merge's value repeated down its first column, and the
    cells so filled ((row, 0-based column) -> the merge's top row).

    Reads at most :data:`MAX_SHEET_ROWS` × :data:`MAX_SHEET_COLUMNS` cells: a sheet that declares
    or holds more is refused before (declared) or as soon as (real) the cap is passed.
    """
    rows, cols = ws.max_row or 0, ws.max_column or 0
    if rows > MAX_SHEET_ROWS or cols > MAX_SHEET_COLUMNS:
        raise _too_big(ws, rows, cols, declared=True)
    ws.reset_dimensions()  # a <dimension> may also be too small: read what is there, counting
    grid: list[list[Any]] = []
    width = 0
    for row in ws.iter_rows(values_only=True):
        if len(grid) >= MAX_SHEET_ROWS or len(row) > MAX_SHEET_COLUMNS:
            raise _too_big(ws, max(len(grid) + 1, rows), max(len(row), cols, width), declared=False)
        grid.append(list(row))
        width = max(width, len(row))
    for row in grid:
        row.extend([None] * (width - len(row)))
    filled: dict[tuple[int, int], int] = {}
    for rng in _merged_ranges(ws):
        top = grid[rng.min_row - 1][rng.min_col - 1] if rng.min_row <= len(grid) else None
        if rng.min_row <= len(grid) and rng.min_col - 1 >= len(grid[rng.min_row - 1]):
            top = None
        for r in range(rng.min_row + 1, min(rng.max_row, len(grid)) + 1):
            row = grid[r - 1]
            if rng.min_col - 1 < len(row):
                row[rng.min_col - 1] = top
                filled[(r, rng.min_col - 1)] = rng.min_row
    while grid and all(is_blank(v) for v in grid[-1]):
        grid.pop()
    return grid, filled


def _header_fields(row: list[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, value in enumerate(row):
        name = header_field(value)
        if name and name not in found:
            found[name] = i
    return found


def _find_header(ws: Any) -> _Sheet | None:
    grid, filled = _grid(ws)
    best: tuple[int, dict[str, int]] | None = None
    for idx, row in enumerate(grid[:HEADER_SCAN_ROWS]):
        found = _header_fields(row)
        if len(found) >= 3 and ("code" in found or "description" in found):
            if best is None or len(found) > len(best[1]):
                best = (idx, found)
    if best is None:
        return None
    idx, columns = best
    extra: dict[str, int] = {}
    if idx + 1 < len(grid):
        taken = {v for k, v in columns.items() if k != "lonlat"}  # 坐标 may head 经度/纬度
        extra = {
            k: v
            for k, v in _header_fields(grid[idx + 1]).items()
            if k not in columns and v not in taken
        }
    columns = {**columns, **extra}
    if "lon" in columns and "lat" in columns:
        columns.pop("lonlat", None)
    headers = {
        name: clean_text(grid[idx + (1 if name in extra else 0)][col]).replace("\n", "")
        for name, col in columns.items()
    }
    return _Sheet(ws.title, grid, idx + 1, 2 if extra else 1, columns, headers, filled)


def read_sheet(data: bytes) -> _Sheet:
    """The first worksheet with a ledger header row (active sheet first)."""
    wb = _open_workbook(data)
    try:
        sheets = [wb.active] + [ws for ws in wb.worksheets if ws is not wb.active]
        for ws in sheets:
            if ws is None or not hasattr(ws, "iter_rows"):
                continue  # chart sheets
            sheet = _find_header(ws)
            if sheet is not None:
                if "code" not in sheet.columns:
                    raise ExcelLedgerError(
                        f"sheet {ws.title!r}: no 问题编号 column (问题编号 or 编号); the ledger "
                        "matches problems by it / 未找到问题编号列"
                    )
                return sheet
    finally:
        wb.close()
    raise ExcelLedgerError(
        "no header row found: expected Chinese headers such as 问题编号, 问题描述, 所属乡镇 in "
        f"the first {HEADER_SCAN_ROWS} rows / 未找到表头行"
    )


# ---------------------------------------------------------------------------------------------
# Rows to ledger values
# ---------------------------------------------------------------------------------------------


@dataclass
class _Parsed:
    row: int
    code: str
    source: str | None = None
    category: str | None = None
    township_code: str | None = None
    township_label: str | None = None
    texts: dict[str, str] = field(default_factory=dict)
    lon: float | None = None
    lat: float | None = None
    deadline_kind: str | None = None
    deadline: date | None = None
    status: str | None = None
    status_text: str = ""  # the 整改状态 cell as written, kept in the history
    closed_on: date | None = None  # 销号时间: when a historic closure happened
    default_source: str | None = None  # for a new problem when 问题来源 is empty
    category_guess: str | None = None  # for a new problem when 问题类别 is empty
    notes: list[str] = field(default_factory=list)


class _Reject(Exception):
    """A row the importer refuses, with the reason."""


@dataclass
class _Townships:
    by_code: dict[str, str]
    by_name: dict[str, list[str]]

    @classmethod
    def load(cls, session: Session) -> _Townships:
        rows = session.execute(text("SELECT code, name FROM townships ORDER BY code")).all()
        by_name: dict[str, list[str]] = {}
        for code, name in rows:
            by_name.setdefault(squeeze(name), []).append(code)
        return cls(dict(rows), by_name)

    def resolve(self, value: Any) -> str:
        """The township code a cell names by 12-digit code or by name; _Reject otherwise."""
        s = squeeze(value)
        if re.fullmatch(r"\d{12}", s):
            if s not in self.by_code:
                raise _Reject(f"unknown township code {s} / 乡镇代码 {s} 不存在")
            return s
        candidates = [s, re.sub(r"(人民政府|办事处|政府)$", "", s)]
        candidates += [c + suffix for c in candidates[:2] for suffix in ("镇", "乡", "街道")]
        for name in candidates:
            codes = self.by_name.get(name)
            if codes and len(codes) == 1:
                return codes[0]
            if codes:
                raise _Reject(
                    f"township name {s!r} is ambiguous ({', '.join(codes)}): give its code"
                    f" / 乡镇名称 {s} 不唯一，请填写代码"
                )
        raise _Reject(f"unknown township {clean_text(value)!r} / 未知乡镇 {clean_text(value)}")

    def label(self, code: str | None) -> str:
        """A township's name and code for messages."""
        return f"{self.by_code.get(code or '', '?')} ({code})" if code else "none"


def _skip_reason(cells: list[Any], code: Any, description: Any) -> str | None:
    """Why a row below the header is skipped (empty, note, total, filler), or None for data."""
    texts = [squeeze(v) for v in cells if not is_blank(v)]
    if not texts:
        return "empty row / 空行"
    first = texts[0]
    if any(first.startswith(w) for w in TOTAL_WORDS):
        return "total row / 合计行"
    if any(first.startswith(p) for p in NOTE_PREFIXES) and (
        is_blank(code) or squeeze(code) == first
    ):
        return "note row / 注释行"
    if is_blank(code) and is_blank(description):
        return "filler row: no 问题编号 and no 问题描述 / 无编号和描述的行"
    return None


def _parse_row(
    sheet: _Sheet,
    row_no: int,
    cells: list[Any],
    towns: _Townships,
    default_source: str | None,
) -> _Parsed:
    cols = sheet.columns

    def cell(name: str) -> Any:
        i = cols.get(name)
        return cells[i] if i is not None and i < len(cells) else None

    code = code_text(cell("code"))
    if is_blank(cell("code")):
        raise _Reject("no 问题编号: problems are matched by it / 缺少问题编号")
    parsed = _Parsed(row=row_no, code=code)
    # Source: the cell, else --default-source.
    if not is_blank(cell("source")):
        parsed.source = map_source(cell("source"))
        if parsed.source is None:
            raise _Reject(
                f"unknown 问题来源 {clean_text(cell('source'))!r}; see docs/excel.md"
                " / 无法识别的问题来源"
            )
    parsed.default_source = default_source
    # Category: the cell, else words of the description, else other.
    if not is_blank(cell("category")):
        parsed.category = map_category(cell("category"))
        if parsed.category is None:
            parsed.category = vocab.Category.OTHER.value
            parsed.notes.append(
                f"问题类别 {clean_text(cell('category'))!r} not recognised: stored as other (其他)"
            )
    # Township, by name or code.
    if not is_blank(cell("township")):
        parsed.township_code = towns.resolve(cell("township"))
        parsed.township_label = clean_text(cell("township"))
    # Coordinates.
    lon_cell, lat_cell = cell("lon"), cell("lat")
    if "lonlat" in cols and not is_blank(cell("lonlat")):
        try:
            lon_cell, lat_cell = split_lonlat(cell("lonlat"))
        except ValueError as exc:
            raise _Reject(f"impossible coordinates: {exc} / 坐标无法识别") from None
    if not is_blank(lon_cell) or not is_blank(lat_cell):
        if is_blank(lon_cell) or is_blank(lat_cell):
            raise _Reject("impossible coordinates: only one of 经度 and 纬度 given / 经纬度不全")
        try:
            parsed.lon, parsed.lat, swapped = parse_lonlat(lon_cell, lat_cell)
        except ValueError as exc:
            raise _Reject(
                f"impossible coordinates ({clean_text(lon_cell)}, {clean_text(lat_cell)}): {exc}"
                " / 坐标不合理"
            ) from None
        if swapped:
            parsed.notes.append(
                f"latitude and longitude were swapped: read as lon {parsed.lon}, lat {parsed.lat}"
                " / 经纬度填反，已交换"
            )
    # Deadline.
    try:
        parsed.deadline_kind, parsed.deadline = parse_deadline(cell("deadline"))
    except ValueError as exc:
        raise _Reject(f"unparseable deadline (整改时限): {exc} / 整改时限无法识别") from None
    # Status.
    if not is_blank(cell("status")):
        parsed.status = map_status(cell("status"))
        parsed.status_text = clean_text(cell("status"))
        if parsed.status is None:
            raise _Reject(
                f"unknown 整改状态 {clean_text(cell('status'))!r}; see docs/excel.md"
                " / 无法识别的整改状态"
            )
    if not is_blank(cell("closed_on")):
        try:
            _, parsed.closed_on = parse_deadline(cell("closed_on"))
        except ValueError as exc:
            raise _Reject(f"unparseable 销号时间: {exc} / 销号时间无法识别") from None
        if parsed.closed_on is None:
            raise _Reject(
                f"销号时间 {clean_text(cell('closed_on'))!r} names no date / 销号时间无法识别"
            )
    for name in TEXT_FIELDS:
        if name in cols and not is_blank(cell(name)):
            parsed.texts[name] = clean_text(cell(name))
    if parsed.category is None:
        parsed.category_guess = map_category(parsed.texts.get("description", ""))
    return parsed


# ---------------------------------------------------------------------------------------------
# Writing the ledger
# ---------------------------------------------------------------------------------------------


def _same_text(a: str | None, b: str | None) -> bool:
    return clean_text(a or "") == clean_text(b or "")


CLOSED = vocab.Status.CLOSED.value
AWAITING = vocab.Status.AWAITING_VERIFICATION.value


def _sheet_status(
    problem: Problem, parsed: _Parsed, *, new: bool
) -> tuple[str | None, datetime | None, str | None]:
    """What the sheet's status may do to the problem: (status, historic closure moment, note).

    A sheet is the office's record of what townships report, not a closure procedure. It may
    close only a problem it brings in for the first time, and only with the 销号时间 of that
    historic closure; otherwise "closed" or "done" is a claim, and the problem awaits the
    on-site check and approval like any closure application. A closed problem is not reopened
    by a sheet that calls it done.
    """
    status = parsed.status
    if status is None or status == problem.status:
        return None, None, None
    if status == CLOSED:
        if new and parsed.closed_on is not None:
            moment = datetime.combine(parsed.closed_on, datetime.min.time(), get_settings().zone)
            return CLOSED, moment, None
        why = "no 销号时间 of a historic closure" if new else "the problem is open in the ledger"
        return AWAITING, None, (
            f"the sheet says {parsed.status_text or '已销号'} but {why}: it awaits the on-site"
            " check and approval (a closure needs the procedure) / 表格显示已销号，"
            "须经现场核查和审核方可销号，已列为待核查"
        )
    if status == AWAITING and problem.status == CLOSED:
        return None, None, (
            f"the sheet says {parsed.status_text}; the problem is closed and stays closed"
            " / 问题已销号，保持不变"
        )
    return status, None, None


def _import_event(
    session: Session,
    problem: Problem,
    parsed: _Parsed,
    *,
    new: bool,
    progress: str | None,
    actor: str,
    at: datetime,
    reason: str,
) -> list[str]:
    """Apply the sheet's status (and a new problem's progress) with one 'imported' event.

    A problem put to awaiting verification gets a pending closure application in the sheet's
    name (no evidence: the office's check decides); a problem the sheet moves off awaiting
    verification has its pending application withdrawn.
    """
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if progress is not None and not _same_text(problem.progress, progress):
        before["progress"], after["progress"] = problem.progress, progress
        problem.progress = progress
    status, closed_at, note = _sheet_status(problem, parsed, new=new)
    if note:
        parsed.notes.append(note)
    if status is not None and status != problem.status:
        before["status"], after["status"] = problem.status, status
        after["sheet_status"] = parsed.status_text
        if status == CLOSED and problem.closed_at is None:
            closed_at = closed_at or at
            before["closed_at"], after["closed_at"] = None, closed_at.isoformat()
            problem.closed_at = closed_at
        elif status != CLOSED and problem.closed_at is not None:
            before["closed_at"], after["closed_at"] = problem.closed_at.isoformat(), None
            problem.closed_at = None
        if status != vocab.Status.REPORTED.value and problem.assigned_at is None:
            problem.assigned_at = at
        session.flush()
        pending = session.scalars(
            select(Closure).where(
                Closure.problem_id == problem.id, Closure.outcome.in_(("pending", "in_notice"))
            )
        ).first()
        if status == AWAITING and pending is None:
            session.add(
                Closure(
                    problem_id=problem.id, applied_at=at, applied_by=actor,
                    evidence={"attachments": [], "inspections": [], "sheet": reason},
                    outcome="pending", check_note="",
                )
            )
        elif status != AWAITING and pending is not None and problem.status == AWAITING:
            pending.outcome = "rejected"
            pending.check_note = f"withdrawn: the sheet says {parsed.status_text} / 台账导入撤回"
        problem.status = status
    if not after:
        return []
    problem.updated_at = at
    record_event(
        session,
        problem,
        actor=actor,
        action="imported",
        at=at,
        reason=reason,
        before=before,
        after=after,
    )
    return sorted(k for k in after if k != "sheet_status")


def _override(
    session: Session, towns: _Townships, geom: BaseGeometry | None, named: str | None
) -> tuple[str | None, str | None]:
    """(derived township, override reason when the sheet names another township)."""
    derived = township_for_wkt(session, geom.wkt) if geom is not None else None
    if named and derived and derived != named:
        return derived, (
            f"台账导入：表格所列属地为{towns.label(named)}，点位位于{towns.label(derived)}"
            " (ledger import: the sheet names this township)"
        )
    return derived, None


def _settle_deadline(
    parsed: _Parsed, kind: str, deadline: date | None, status: str, today: date
) -> date | None:
    """The deadline a problem past 已登记 needs: an immediate one gets today + the window."""
    if kind == vocab.DeadlineKind.LONG_TERM.value or status == vocab.Status.REPORTED.value:
        return deadline
    if deadline is not None:
        return deadline
    if kind == vocab.DeadlineKind.IMMEDIATE.value:
        due = today + timedelta(days=get_settings().immediate_window_days)
        parsed.notes.append(f"立行立改 without a date: deadline set to {due.isoformat()}")
        return due
    raise _Reject(
        "no 整改时限: a problem past 已登记 needs a deadline (or 立行立改 / 长期坚持)"
        " / 缺少整改时限"
    )


def _create(
    session: Session,
    parsed: _Parsed,
    towns: _Townships,
    *,
    actor: str,
    at: datetime,
    today: date,
    reason: str,
) -> RowOutcome:
    source = parsed.source
    if source is None and parsed.default_source:
        source = parsed.default_source
        parsed.notes.append(f"问题来源 empty: default source {source}")
    if source is None:
        raise _Reject("问题来源 is empty: fill it in or give a default source / 缺少问题来源")
    category = parsed.category
    if category is None:
        category = parsed.category_guess or vocab.Category.OTHER.value
        how = f"guessed {category} from 问题描述" if parsed.category_guess else "stored as other"
        parsed.notes.append(f"问题类别 empty: {how}")
    geom = Point(parsed.lon, parsed.lat) if parsed.lon is not None else None
    if geom is None and parsed.township_code is None:
        raise _Reject("no location: give 经度/纬度 or 所属乡镇 / 缺少坐标和乡镇")
    derived, override = _override(session, towns, geom, parsed.township_code)
    if geom is not None and derived is None and parsed.township_code is None:
        raise _Reject(
            f"the point ({parsed.lon}, {parsed.lat}) lies outside every township and no"
            " 所属乡镇 is named / 点位不在任何乡镇内且未填写乡镇"
        )
    if geom is not None and derived is None:
        parsed.notes.append("the point lies outside every township: township from the sheet")
    if override:
        parsed.notes.append(
            f"the point lies in {towns.label(derived)}: township kept as the sheet names it"
        )
    kind = parsed.deadline_kind or vocab.DeadlineKind.DATED.value
    status = parsed.status or vocab.Status.REPORTED.value
    deadline = _settle_deadline(parsed, kind, parsed.deadline, status, today)
    texts = parsed.texts
    problem = create_problem(
        session,
        ProblemInput(
            code=parsed.code,
            source=source,
            category=category,
            deadline_kind=kind,
            description=texts.get("description", ""),
            responsible_unit=texts.get("responsible_unit", ""),
            responsible_person=texts.get("responsible_person", ""),
            supervising_leader=texts.get("supervising_leader", ""),
            target=texts.get("target", ""),
            measures=texts.get("measures", ""),
            deadline=deadline,
            township_code=parsed.township_code,
            township_override_reason=override,
            geometry=geom,
        ),
        actor=actor,
        now=at,
        reason=reason,
    )
    _import_event(
        session,
        problem,
        parsed,
        new=True,
        progress=texts.get("progress"),
        actor=actor,
        at=at,
        reason=reason,
    )
    return RowOutcome(parsed.row, "imported", parsed.code, notes=parsed.notes)


def _update(
    session: Session,
    problem: Problem,
    parsed: _Parsed,
    towns: _Townships,
    *,
    actor: str,
    at: datetime,
    today: date,
    reason: str,
) -> RowOutcome:
    changes: dict[str, Any] = {}
    for name in ("source", "category", "deadline_kind"):
        value = getattr(parsed, name)
        if value is not None and value != getattr(problem, name):
            changes[name] = value
    for name, value in parsed.texts.items():
        if not _same_text(getattr(problem, name), value):
            changes[name] = value
    kind = parsed.deadline_kind or problem.deadline_kind
    deadline = parsed.deadline if parsed.deadline is not None else problem.deadline
    status = parsed.status or problem.status
    deadline = _settle_deadline(parsed, kind, deadline, status, today)
    if deadline != problem.deadline:
        changes["deadline"] = deadline
    old = to_shape(problem.geom) if problem.geom is not None else None
    geom = old
    if parsed.lon is not None:
        shown = None
        if old is not None:
            shown = old if old.geom_type == "Point" else representative(old)
        if shown is None or not (
            abs(shown.x - parsed.lon) <= COORD_TOLERANCE_DEG
            and abs(shown.y - parsed.lat) <= COORD_TOLERANCE_DEG
        ):
            geom = Point(parsed.lon, parsed.lat)
            changes["geometry"] = geom
    named = parsed.township_code
    derived, override = _override(session, towns, geom, named)
    if geom is not None and derived is None and named is None and "geometry" in changes:
        raise _Reject(
            f"the point ({parsed.lon}, {parsed.lat}) lies outside every township and no"
            " 所属乡镇 is named / 点位不在任何乡镇内且未填写乡镇"
        )
    if named is not None and (named != problem.township_code or "geometry" in changes):
        # Given with a new point too, so a point outside every township keeps the named one.
        changes["township_code"] = named
        changes["township_override_reason"] = override
        if override:
            parsed.notes.append(
                f"the point lies in {towns.label(derived)}: township kept as the sheet names it"
            )
    changed = sorted(k for k in changes if k != "township_override_reason")
    if changes:
        update_problem(session, problem.code, changes, actor=actor, reason=reason, now=at)
    changed += _import_event(
        session, problem, parsed, new=False, progress=None, actor=actor, at=at, reason=reason
    )
    outcome = "updated" if changed else "unchanged"
    return RowOutcome(parsed.row, outcome, parsed.code, notes=parsed.notes, changed=changed)


def import_ledger(
    session: Session,
    data: bytes,
    *,
    actor: str,
    filename: str = "",
    default_source: str | None = None,
    now: datetime | None = None,
) -> LedgerImportReport:
    """Import a ledger workbook into the session's transaction (the caller commits or not)."""
    at = now or datetime.now(UTC)
    today = at.astimezone(get_settings().zone).date()
    if default_source is not None:
        mapped = map_source(default_source)
        if mapped is None:
            raise LedgerError(
                f"unknown default source {default_source!r}; one of: "
                + ", ".join(vocab.values(vocab.Source)),
                field="default_source",
            )
        default_source = mapped
    sheet = read_sheet(data)
    towns = _Townships.load(session)
    report = LedgerImportReport(
        filename=filename, sheet=sheet.name, header_row=sheet.header_row, columns=sheet.headers
    )
    first_data = sheet.header_row + sheet.header_rows
    for row_no in range(1, first_data):
        cells = sheet.grid[row_no - 1]
        if row_no >= sheet.header_row:
            why = "header row / 表头"
        elif any(not is_blank(v) for v in cells):
            why = "title row / 标题行"
        else:
            why = "empty row / 空行"
        report.rows.append(RowOutcome(row_no, "skipped", reason=why))
    seen: dict[str, int] = {}
    code_col = sheet.columns["code"]
    desc_col = sheet.columns.get("description")
    continuations = _continuations(sheet, first_data)
    written: dict[int, RowOutcome] = {}
    for row_no in range(first_data, len(sheet.grid) + 1):
        if row_no in continuations:
            report.rows.append(_continuation(sheet, row_no, continuations[row_no], written))
            continue
        cells = sheet.grid[row_no - 1]
        code_cell = cells[code_col] if code_col < len(cells) else None
        desc_cell = cells[desc_col] if desc_col is not None and desc_col < len(cells) else None
        why = _skip_reason(cells, code_cell, desc_cell)
        if why:
            report.rows.append(RowOutcome(row_no, "skipped", reason=why))
            continue
        code = code_text(code_cell) if not is_blank(code_cell) else None
        if code is not None and code in seen:
            report.rows.append(
                RowOutcome(
                    row_no,
                    "rejected",
                    code,
                    reason=f"问题编号 {code} repeats row {seen[code]} / 问题编号重复",
                )
            )
            continue
        if code is not None:
            seen[code] = row_no
        parsed_or_reject = _parse_or_reject(sheet, row_no, cells, towns, default_source, code)
        if isinstance(parsed_or_reject, RowOutcome):
            report.rows.append(parsed_or_reject)
            written[row_no] = parsed_or_reject
            continue
        _add_continued_measures(sheet, parsed_or_reject, continuations)
        context = _Context(session, towns, actor, at, today, _event_reason(filename, row_no))
        written[row_no] = _write_row(context, parsed_or_reject)
        report.rows.append(written[row_no])
    return report


def _continuations(sheet: _Sheet, first_data: int) -> dict[int, int]:
    """Rows whose 问题编号 comes from a merged cell begun on an earlier data row: one problem
    written over several rows (one measure per row). Row -> the problem's first row."""
    code_col = sheet.columns["code"]
    return {
        row: top
        for (row, col), top in sheet.merged.items()
        if col == code_col and top >= first_data and row <= len(sheet.grid)
    }


def _add_continued_measures(sheet: _Sheet, parsed: _Parsed, continuations: dict[int, int]) -> None:
    """A problem's measures with those of its continuation rows, in order, each once."""
    col = sheet.columns.get("measures")
    rows = sorted(r for r, top in continuations.items() if top == parsed.row)
    if col is None or not rows:
        return
    parts = [parsed.texts["measures"]] if parsed.texts.get("measures") else []
    for r in rows:
        cells = sheet.grid[r - 1]
        value = cells[col] if col < len(cells) else None
        text_ = clean_text(value) if not is_blank(value) else ""
        if text_ and text_ not in parts:
            parts.append(text_)
    if parts:
        parsed.texts["measures"] = "\n".join(parts)


def _continuation(
    sheet: _Sheet, row_no: int, top: int, written: dict[int, RowOutcome]
) -> RowOutcome:
    code = code_text(sheet.grid[top - 1][sheet.columns["code"]])
    first = written.get(top)
    if first is None or first.outcome == "rejected":
        return RowOutcome(
            row_no, "rejected", code,
            reason=f"continues row {top} (merged 问题编号), which was not imported"
            f" / 合并单元格的首行（第{top}行）未导入",
        )
    return RowOutcome(
        row_no, "merged", code,
        notes=[f"continues row {top} (merged 问题编号 cell): its 整改措施 are added to that"
               f" problem / 问题编号为合并单元格，措施并入第{top}行"],
    )


def _event_reason(filename: str, row_no: int) -> str:
    where = f"{filename} " if filename else ""
    return f"台账导入 ledger import {where}row {row_no}"


@dataclass
class _Context:
    session: Session
    towns: _Townships
    actor: str
    at: datetime
    today: date
    reason: str


def _parse_or_reject(
    sheet: _Sheet,
    row_no: int,
    cells: list[Any],
    towns: _Townships,
    default_source: str | None,
    code: str | None,
) -> _Parsed | RowOutcome:
    """The row's ledger values, or its rejection."""
    try:
        return _parse_row(sheet, row_no, cells, towns, default_source)
    except _Reject as exc:
        return RowOutcome(row_no, "rejected", code, reason=str(exc))


def _write_row(ctx: _Context, parsed: _Parsed) -> RowOutcome:
    """Create or update one problem in its own savepoint; a refusal rolls back only this row."""
    session = ctx.session
    kwargs: dict[str, Any] = {
        "actor": ctx.actor,
        "at": ctx.at,
        "today": ctx.today,
        "reason": ctx.reason,
    }
    try:
        with session.begin_nested():
            problem = session.scalars(select(Problem).where(Problem.code == parsed.code)).first()
            if problem is None:
                outcome = _create(session, parsed, ctx.towns, **kwargs)
            else:
                outcome = _update(session, problem, parsed, ctx.towns, **kwargs)
            session.flush()
        return outcome
    except (_Reject, LedgerError, Conflict) as exc:
        return RowOutcome(parsed.row, "rejected", parsed.code, reason=str(exc))
    except (IntegrityError, DataError) as exc:
        # The database's wording names tables, types and values: logged, not reported.
        first = str(exc.orig).strip().splitlines()[:1] if exc.orig else [type(exc).__name__]
        log.info("ledger row %s refused by the database: %s", parsed.row, first)
        reason = (
            "refused by the database: a value is out of range, too long or cannot be stored"
            if isinstance(exc, DataError)
            else "refused by the database: it conflicts with a stored problem"
        )
        return RowOutcome(parsed.row, "rejected", parsed.code, reason=reason + " / 数据库拒绝")


def run_ledger_import(
    engine: Engine,
    data: bytes,
    *,
    actor: str,
    filename: str = "",
    dry_run: bool = False,
    default_source: str | None = None,
    now: datetime | None = None,
) -> LedgerImportReport:
    """Import in one transaction: committed, or rolled back for a dry run (nothing written)."""
    with Session(engine) as session:
        try:
            report = import_ledger(
                session,
                data,
                actor=actor,
                filename=filename,
                default_source=default_source,
                now=now,
            )
        except BaseException:
            session.rollback()
            raise
        report.dry_run = dry_run
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return report


# ---------------------------------------------------------------------------------------------
# Writing the template
# ---------------------------------------------------------------------------------------------


def deadline_cell(row: LedgerRow) -> date | str | None:
    """What the 整改时限 column shows: a date, or 立行立改 / 长期坚持 with its date if any."""
    if row.deadline_kind == vocab.DeadlineKind.DATED.value:
        return row.deadline
    word = vocab.DeadlineKind(row.deadline_kind).zh
    return f"{word}（{row.deadline.isoformat()}）" if row.deadline else word


def _township_cell(row: LedgerRow, ambiguous: Iterable[str]) -> str:
    if not row.township_code:
        return ""
    if not row.township_name or row.township_name in set(ambiguous):
        return row.township_code
    return row.township_name


def write_ledger_xlsx(
    rows: list[LedgerRow],
    *,
    title: str = "环保督察反馈问题整改台账",
    subtitle: str = "",
    ambiguous_names: Iterable[str] = (),
) -> bytes:
    """The ledger in the office template: title row, header row, one row per problem."""
    ambiguous = set(ambiguous_names)
    wb = Workbook()
    ws = wb.active
    ws.title = "整改台账"
    width = len(TEMPLATE_COLUMNS)
    last = get_column_letter(width)
    ws.append([_cell_safe(title)])
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(bold=True, size=16)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    ws.append([_cell_safe(subtitle)])
    ws.merge_cells(f"A2:{last}2")
    ws.append([header for _, header, _ in TEMPLATE_COLUMNS])
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for i, (_, _, col_width) in enumerate(TEMPLATE_COLUMNS, start=1):
        cell = ws.cell(3, i)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = border
        ws.column_dimensions[get_column_letter(i)].width = col_width
    wrap = Alignment(vertical="top", wrap_text=True)
    for n, row in enumerate(rows, start=1):
        point = row.point()
        values: dict[str, Any] = {
            "seq": n,
            "code": row.code,
            "source": vocab.Source(row.source).zh,
            "township": _township_cell(row, ambiguous),
            "category": vocab.Category(row.category).zh,
            "description": row.description,
            "lon": point[0] if point else None,
            "lat": point[1] if point else None,
            "responsible_unit": row.responsible_unit,
            "responsible_person": row.responsible_person,
            "supervising_leader": row.supervising_leader,
            "target": row.target,
            "measures": row.measures,
            "deadline": deadline_cell(row),
            "progress": row.progress,
            "status": vocab.Status(row.status).zh,
        }
        r = n + 3
        for i, (name, _, _) in enumerate(TEMPLATE_COLUMNS, start=1):
            value = _cell_safe(values[name])
            cell = ws.cell(r, i, value if value != "" else None)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            cell.alignment = wrap
            cell.border = border
    ws.freeze_panes = "C4"
    note_row = len(rows) + 4
    ws.cell(note_row, 1, EXPORT_NOTE)
    ws.merge_cells(f"A{note_row}:{last}{note_row}")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
