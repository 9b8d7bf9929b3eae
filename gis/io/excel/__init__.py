"""The Excel ledger (整改台账): import the spreadsheets offices keep, and write them back.

Offices keep their ledgers in Excel with Chinese headers, title and note rows, merged cells, and
coordinates and dates typed every which way. :func:`import_ledger` finds the header row, reads each
row into the ledger's values (see ``docs/excel.md`` for the tables), and creates or updates
problems through :mod:`gis.ledger.writes`, so every change writes events. Problems are matched by
问题编号: importing the same file again changes nothing. :func:`write_ledger_xlsx` writes the
template back.

The package, in the order a file goes through it: ``vocabulary`` (header and status words, the
limits of a workbook), ``report`` (what an import reports), ``cells`` (one cell's value),
``workbook`` (reading a sheet safely), ``rows`` (a row to ledger values), ``importer`` (the rows
into the ledger), ``template`` (the ledger back into a sheet).
"""

from __future__ import annotations

from gis.io.excel.cells import (
    clean_text,
    code_text,
    header_field,
    is_blank,
    map_category,
    map_source,
    map_status,
    parse_deadline,
    parse_lonlat,
    split_lonlat,
    squeeze,
)
from gis.io.excel.importer import (
    AWAITING,
    CLOSED,
    import_ledger,
    run_ledger_import,
)
from gis.io.excel.report import (
    ExcelLedgerError,
    LedgerImportReport,
    LedgerRow,
    RowOutcome,
    representative,
)
from gis.io.excel.template import (
    deadline_cell,
    write_ledger_xlsx,
)
from gis.io.excel.vocabulary import (
    CATEGORY_WORDS,
    COORD_TOLERANCE_DEG,
    EXPORT_NOTE,
    HEADER_ALIASES,
    HEADER_SCAN_ROWS,
    MAX_EXPANSION_RATIO,
    MAX_MEMBER_BYTES,
    MAX_SHEET_COLUMNS,
    MAX_SHEET_ROWS,
    MAX_ZIP_MEMBERS,
    MERGE_TAG,
    NOTE_PREFIXES,
    OUTCOMES,
    PLACEHOLDERS,
    RATIO_FLOOR_BYTES,
    SOURCE_WORDS,
    STATUS_WORDS,
    TEMPLATE_COLUMNS,
    TEXT_FIELDS,
    TOTAL_WORDS,
    XLSX_MEDIA_TYPE,
)
from gis.io.excel.workbook import (
    read_sheet,
)

__all__ = [
    "AWAITING",
    "CATEGORY_WORDS",
    "CLOSED",
    "COORD_TOLERANCE_DEG",
    "EXPORT_NOTE",
    "ExcelLedgerError",
    "HEADER_ALIASES",
    "HEADER_SCAN_ROWS",
    "LedgerImportReport",
    "LedgerRow",
    "MAX_EXPANSION_RATIO",
    "MAX_MEMBER_BYTES",
    "MAX_SHEET_COLUMNS",
    "MAX_SHEET_ROWS",
    "MAX_ZIP_MEMBERS",
    "MERGE_TAG",
    "NOTE_PREFIXES",
    "OUTCOMES",
    "PLACEHOLDERS",
    "RATIO_FLOOR_BYTES",
    "RowOutcome",
    "SOURCE_WORDS",
    "STATUS_WORDS",
    "TEMPLATE_COLUMNS",
    "TEXT_FIELDS",
    "TOTAL_WORDS",
    "XLSX_MEDIA_TYPE",
    "clean_text",
    "code_text",
    "deadline_cell",
    "header_field",
    "import_ledger",
    "is_blank",
    "map_category",
    "map_source",
    "map_status",
    "parse_deadline",
    "parse_lonlat",
    "read_sheet",
    "representative",
    "run_ledger_import",
    "split_lonlat",
    "squeeze",
    "write_ledger_xlsx",
]
