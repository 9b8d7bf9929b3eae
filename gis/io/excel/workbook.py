"""Reading the sheet safely: archive limits, merged ranges, the grid and the header row."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from openpyxl import load_workbook
from openpyxl.worksheet.cell_range import CellRange

from gis.io.excel.cells import (
    clean_text,
    header_field,
    is_blank,
)
from gis.io.excel.report import (
    ExcelLedgerError,
)
from gis.io.excel.vocabulary import (
    HEADER_SCAN_ROWS,
    MAX_EXPANSION_RATIO,
    MAX_MEMBER_BYTES,
    MAX_SHEET_COLUMNS,
    MAX_SHEET_ROWS,
    MAX_ZIP_MEMBERS,
    MERGE_TAG,
    RATIO_FLOOR_BYTES,
)


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
