"""Writing the template: the ledger back as the office's spreadsheet, which the importer reads
unchanged.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from gis import vocab
from gis.io.excel.report import (
    LedgerRow,
    _cell_safe,
)
from gis.io.excel.vocabulary import (
    EXPORT_NOTE,
    TEMPLATE_COLUMNS,
)


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
