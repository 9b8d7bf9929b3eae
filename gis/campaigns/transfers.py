"""Import a team's Excel transfer list (转办件清单): one batch or several, messy like ledgers.

The list has title rows (第三批转办件清单), merged cells, notes and Chinese headers in varying
words (受理编号 / 信访编号, 反映内容 / 举报内容, 所属乡镇 / 乡镇（街道）…). Every row below the
header is either stored (``imported``), already there (``unchanged``), changed (``updated``),
``skipped`` (empty, note, total) or ``rejected`` with the reason. Cases are matched by 受理编号,
so importing the same file again changes nothing. A dry run reports and writes nothing.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from gis.campaigns.cases import (
    CampaignConflict,
    CampaignError,
    CaseInput,
    add_case,
    complaint_kind,
    get_campaign,
    parse_batch_number,
    trace,
)
from gis.db.models import Campaign, CampaignBatch, CampaignCase, Complaint
from gis.io.excel import (
    NOTE_PREFIXES,
    TOTAL_WORDS,
    LedgerImportReport,
    RowOutcome,
    clean_text,
    code_text,
    is_blank,
    squeeze,
)
from gis.ledger.workdays import load_calendar

HEADER_SCAN_ROWS = 30
HEADERS: dict[str, tuple[str, ...]] = {
    "seq": ("序号",),
    "batch": ("批次", "转办批次", "交办批次", "批号", "批次号"),
    "code": ("受理编号", "信访编号", "转办编号", "交办编号", "案件编号", "编号", "受理号"),
    "received": ("交办时间", "转办时间", "交办日期", "转办日期", "受理时间", "受理日期"),
    "text": ("反映内容", "信访内容", "举报内容", "投诉内容", "反映问题", "主要内容", "信访事项"),
    "township": ("所属乡镇", "乡镇", "属地", "所在乡镇", "涉及乡镇", "所属乡镇街道", "乡镇街道"),
    "pollution_type": ("污染类型", "污染类别", "问题类型", "类型", "信访类型", "举报类型"),
    "unit": ("责任单位", "办理单位", "承办单位", "责任主体", "牵头单位"),
    "person": ("责任人", "办理责任人", "联系人（责任人）"),
}
_ALIAS = {squeeze(a): name for name, aliases in HEADERS.items() for a in aliases}


class TransferListError(CampaignError):
    """The file cannot be read as a transfer list."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


def header_name(value: Any) -> str | None:
    s = squeeze(value).lstrip("*※★").rstrip(":：")
    if not s:
        return None
    if s in _ALIAS:
        return _ALIAS[s]
    return _ALIAS.get(re.sub(r"\(.*?\)|【.*?】|〔.*?〕", "", s))


def _workbook(data: bytes) -> Any:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise TransferListError("不是 .xlsx 文件 not an Excel .xlsx workbook")
    try:
        return load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise TransferListError(f"无法读取工作簿 cannot read the workbook: {exc}") from None


def _grid(ws: Any) -> list[list[Any]]:
    """Values by row; a merged range's value fills every cell of the range."""
    grid = [list(row) for row in ws.iter_rows(values_only=True)]
    for rng in ws.merged_cells.ranges:
        if rng.min_row > len(grid):
            continue
        top = grid[rng.min_row - 1][rng.min_col - 1]
        for r in range(rng.min_row, min(rng.max_row, len(grid)) + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                if c - 1 < len(grid[r - 1]):
                    grid[r - 1][c - 1] = top
    while grid and all(is_blank(v) for v in grid[-1]):
        grid.pop()
    return grid


@dataclass
class _List:
    sheet: str
    grid: list[list[Any]]
    header_row: int
    columns: dict[str, int]
    headers: dict[str, str]
    title_batch: int | None


def read_transfer_list(data: bytes) -> _List:
    wb = _workbook(data)
    for ws in [wb.active] + [w for w in wb.worksheets if w is not wb.active]:
        if ws is None:
            continue
        grid = _grid(ws)
        for idx, row in enumerate(grid[:HEADER_SCAN_ROWS]):
            found: dict[str, int] = {}
            for i, v in enumerate(row):
                name = header_name(v)
                if name and name not in found:
                    found[name] = i
            if len(found) >= 3 and "code" in found and "text" in found:
                title_batch = None
                for above in grid[:idx]:
                    for v in above:
                        if isinstance(v, str) and (n := parse_batch_number(v)) is not None:
                            title_batch = n
                            break
                    if title_batch:
                        break
                headers = {k: clean_text(row[c]).replace("\n", "") for k, c in found.items()}
                return _List(ws.title, grid, idx + 1, found, headers, title_batch)
    raise TransferListError(
        "未找到表头行（需含 受理编号、反映内容 等列） no header row with 受理编号 and 反映内容 "
        f"in the first {HEADER_SCAN_ROWS} rows"
    )


def parse_day(value: Any) -> date | None:
    """A 交办时间 cell as a date (datetime, Excel serial, 2026-05-06, 2026年5月6日, 5月6日 no)."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 <= value <= 80000:
            return from_excel(value).date()
        raise ValueError(f"{value!r} 不是日期 is not a date")
    s = squeeze(value)
    m = re.search(r"(\d{4})(?:年|[-./])(\d{1,2})(?:月|[-./])(\d{1,2})", s) or re.search(
        r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)", s
    )
    if not m:
        raise ValueError(f"无法识别日期 cannot read {clean_text(value)!r} as a date")
    return date(int(m[1]), int(m[2]), int(m[3]))


@dataclass
class _Towns:
    by_code: dict[str, str]
    by_name: dict[str, str]

    @classmethod
    def load(cls, session: Session) -> _Towns:
        rows = session.execute(text("SELECT code, name FROM townships")).all()
        names: dict[str, list[str]] = {}
        for code, name in rows:
            names.setdefault(squeeze(name), []).append(code)
        return cls(dict(rows), {n: c[0] for n, c in names.items() if len(c) == 1})

    def resolve(self, value: Any) -> str:
        s = squeeze(value)
        if re.fullmatch(r"\d{12}", s):
            if s in self.by_code:
                return s
            raise ValueError(f"乡镇代码 {s} 不存在 unknown township code {s}")
        base = re.sub(r"(人民政府|办事处|政府)$", "", s)
        for name in (s, base, *(base + x for x in ("镇", "乡", "街道"))):
            if name in self.by_name:
                return self.by_name[name]
        for name, code in self.by_name.items():  # 某某县城关镇 → 城关镇
            if len(name) >= 2 and s.endswith(name):
                return code
        raise ValueError(f"未知乡镇 {clean_text(value)} unknown township {clean_text(value)!r}")


@dataclass
class TransferImportReport(LedgerImportReport):
    """The ledger import's report, with the campaign and the batches the file touched."""

    campaign: str = ""
    batches: dict[int, int] = field(default_factory=dict)  # batch number -> rows stored or seen

    def as_dict(self) -> dict[str, Any]:
        return {
            **super().as_dict(),
            "campaign": self.campaign,
            "batches": {str(k): v for k, v in sorted(self.batches.items())},
        }


def _skip(cells: list[Any], code: Any, content: Any) -> str | None:
    texts = [squeeze(v) for v in cells if not is_blank(v)]
    if not texts:
        return "空行 empty row"
    first = texts[0]
    if any(first.startswith(w) for w in TOTAL_WORDS):
        return "合计行 total row"
    if any(first.startswith(p) for p in NOTE_PREFIXES) and is_blank(code):
        return "注释行 note row"
    if is_blank(code) and is_blank(content):
        return "无编号和内容的行 filler row: no 受理编号 and no 反映内容"
    return None


def import_transfer_list(
    session: Session,
    campaign: Campaign,
    data: bytes,
    *,
    filename: str = "",
    batch: int | None = None,
    received_on: date | None = None,
    actor: str = "import",
) -> TransferImportReport:
    """Import the list into the session's transaction (the caller commits or rolls back)."""
    sheet = read_transfer_list(data)
    towns = _Towns.load(session)
    calendar = load_calendar(session)
    report = TransferImportReport(
        filename=filename,
        sheet=sheet.sheet,
        header_row=sheet.header_row,
        columns=sheet.headers,
        campaign=campaign.name,
    )
    for row_no in range(1, sheet.header_row + 1):
        why = "表头 header row" if row_no == sheet.header_row else (
            "标题行 title row" if any(not is_blank(v) for v in sheet.grid[row_no - 1])
            else "空行 empty row"
        )
        report.rows.append(RowOutcome(row_no, "skipped", reason=why))
    col = sheet.columns
    seen: dict[str, int] = {}

    def cell(cells: list[Any], name: str) -> Any:
        i = col.get(name)
        return cells[i] if i is not None and i < len(cells) else None

    for row_no in range(sheet.header_row + 1, len(sheet.grid) + 1):
        cells = sheet.grid[row_no - 1]
        code_cell, content = cell(cells, "code"), cell(cells, "text")
        if header_name(code_cell) == "code":  # a header repeated on a later page
            report.rows.append(RowOutcome(row_no, "skipped", reason="重复表头 repeated header"))
            continue
        why = _skip(cells, code_cell, content)
        if why:
            report.rows.append(RowOutcome(row_no, "skipped", reason=why))
            continue
        code = code_text(code_cell) if not is_blank(code_cell) else None
        outcome, number = _row(
            session, campaign, row_no, code, cells, cell, towns, calendar, seen,
            batch if batch is not None else sheet.title_batch, received_on, actor, filename,
        )
        if number is not None:
            report.batches[number] = report.batches.get(number, 0) + 1
        report.rows.append(outcome)
    return report


def _row(
    session: Session,
    campaign: Campaign,
    row_no: int,
    code: str | None,
    cells: list[Any],
    cell: Any,
    towns: _Towns,
    calendar: Any,
    seen: dict[str, int],
    default_batch: int | None,
    default_received: date | None,
    actor: str,
    filename: str,
) -> tuple[RowOutcome, int | None]:
    """The row's outcome and, when stored or already there, its batch number."""

    def reject(reason: str) -> tuple[RowOutcome, None]:
        return RowOutcome(row_no, "rejected", code, reason=reason), None

    if code is None:
        return reject("缺少受理编号 no 受理编号")
    if code in seen:
        return reject(f"受理编号 {code} 与第 {seen[code]} 行重复 repeats row {seen[code]}")
    seen[code] = row_no
    content = clean_text(cell(cells, "text"))
    if not content:
        return reject("缺少反映内容 no 反映内容")
    number = default_batch
    raw_batch = cell(cells, "batch")
    if not is_blank(raw_batch):
        number = parse_batch_number(squeeze(raw_batch))
        if number is None:
            return reject(f"无法识别批次 cannot read batch {clean_text(raw_batch)!r}")
    if number is None:
        return reject("缺少批次（列或标题中的第N批） no batch: a 批次 column, 第N批 in the title, "
                      "or the batch parameter")
    try:
        received = parse_day(cell(cells, "received")) or default_received
    except ValueError as exc:
        return reject(f"交办时间: {exc}")
    township = None
    if not is_blank(cell(cells, "township")):
        try:
            township = towns.resolve(cell(cells, "township"))
        except ValueError as exc:
            return reject(str(exc))
    else:
        return reject("缺少所属乡镇 no 所属乡镇")
    pollution = clean_text(cell(cells, "pollution_type"))
    unit = clean_text(cell(cells, "unit")).replace("\n", "")
    person = clean_text(cell(cells, "person")).replace("\n", "")
    existing = session.execute(
        select(Complaint, CampaignCase, CampaignBatch)
        .outerjoin(CampaignCase, CampaignCase.complaint_id == Complaint.id)
        .outerjoin(CampaignBatch, CampaignBatch.id == CampaignCase.batch_id)
        .where(Complaint.code == code)
    ).first()
    if existing is not None:
        complaint, case, batch = existing
        if case is None or batch.campaign_id != campaign.id:
            return reject(f"受理编号 {code} 已作为其他信访件登记 already registered elsewhere")
        if batch.number != number:
            return reject(
                f"受理编号 {code} 已在第{batch.number}批 already in batch {batch.number}"
            )
        changed = []
        if complaint.text != content:
            complaint.text = content
            changed.append("text")
        if complaint.township_code != township:
            complaint.township_code = township
            changed.append("township_code")
        if case.pollution_type != pollution:
            case.pollution_type = pollution
            complaint.kind = complaint_kind(pollution)
            changed.append("pollution_type")
        # the list's unit and person only fill what the handling has not set
        for name, value in (("responsible_unit", unit), ("responsible_person", person)):
            if value and not getattr(case, name):
                setattr(case, name, value)
                changed.append(name)
        if changed:
            trace(session, case, actor=actor, action="updated",
                  changes={"source": f"{filename} row {row_no}", "fields": changed})
        session.flush()
        return RowOutcome(
            row_no, "updated" if changed else "unchanged", code, changed=changed
        ), number
    if received is None:
        return reject("缺少交办时间 no 交办时间 (or the received_on parameter)")
    try:
        with session.begin_nested():
            add_case(
                session,
                campaign,
                CaseInput(code, number, content, township, received, pollution,
                          responsible_unit=unit, responsible_person=person),
                calendar,
                actor=actor,
            )
    except (CampaignError, CampaignConflict) as exc:
        return reject(str(exc))
    except (IntegrityError, DataError) as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return reject(f"数据库拒绝 refused by the database: {first}")
    return RowOutcome(row_no, "imported", code), number


def run_transfer_import(
    engine: Engine,
    campaign_id: int,
    data: bytes,
    *,
    filename: str = "",
    batch: int | None = None,
    received_on: date | None = None,
    dry_run: bool = False,
    actor: str = "import",
) -> TransferImportReport:
    """Import in one transaction: committed, or rolled back for a dry run."""
    with Session(engine) as session:
        try:
            campaign = get_campaign(session, campaign_id)
            report = import_transfer_list(
                session, campaign, data, filename=filename, batch=batch,
                received_on=received_on, actor=actor,
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
