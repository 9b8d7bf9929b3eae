"""Public disclosure while the inspection is on (边督边改): the rectified cases of each batch in
the format counties publish, as an Excel workbook (one sheet per batch) and as data for the
printed document. Complainants' names, phone numbers and ID numbers are removed from every text.

A case is listed once its finding is recorded and the reply sent (a case still being checked has
nothing to publish yet).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from gis.access.scope import Scope
from gis.campaigns.cases import ACTION_LABELS, FINDING_LABELS, campaign_dict, list_cases
from gis.campaigns.privacy import redact, summary
from gis.db.models import Campaign
from gis.ledger.deadlines import local_today

COLUMNS = (
    ("seq", "序号", 6),
    ("code", "受理编号", 22),
    ("township", "所属乡镇", 12),
    ("content", "反映问题", 40),
    ("finding", "调查核实情况", 12),
    ("measures", "处理和整改情况", 40),
    ("actions", "问责情况", 20),
    ("result", "办理结果", 14),
)


@dataclass
class DisclosureBatch:
    number: int
    rows: list[dict[str, Any]]


def _actions(item: dict[str, Any]) -> str:
    parts = [f"{label}{item[k]}" for k, label in ACTION_LABELS.items() if item[k]]
    return "、".join(parts) or "无"


def disclosure(
    session: Session, campaign: Campaign, *, batch: int | None = None, scope: Scope = None
) -> list[DisclosureBatch]:
    """The publishable cases by batch (all batches, or ``batch``)."""
    items = list_cases(session, campaign, scope=scope, today=local_today(), batch=batch)
    batches: dict[int, list[dict[str, Any]]] = {}
    for i in items:
        if i["finding"] is None or i["replied_on"] is None:
            continue
        rows = batches.setdefault(i["batch"], [])
        rows.append(
            {
                "seq": len(rows) + 1,
                "code": i["code"],
                "township": i["township_name"] or "",
                "content": summary(i["text"], 200),
                "finding": FINDING_LABELS[i["finding"]],
                "measures": redact(i["measures"]) or redact(i["reply_text"]),
                "actions": _actions(i),
                "result": redact(i["result"]) or ("已办结" if i["closed_on"] else "阶段性办结"),
            }
        )
    return [DisclosureBatch(n, rows) for n, rows in sorted(batches.items())]


def disclosure_xlsx(campaign: Campaign, batches: list[DisclosureBatch]) -> bytes:
    """The disclosure lists as a workbook: one sheet per batch, a title row, the header."""
    wb = Workbook()
    wb.remove(wb.active)
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    info = campaign_dict(campaign)
    for b in batches or [DisclosureBatch(0, [])]:
        ws = wb.create_sheet(f"第{b.number}批" if b.number else "无公开件")
        ws.append([f"{info['name']}第{b.number}批交办信访件边督边改公开情况" if b.number
                   else f"{info['name']}：暂无可公开的转办件"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
        ws["A1"].font = Font(bold=True, size=14)
        ws["A1"].alignment = Alignment(horizontal="center")
        ws.append([label for _, label, _ in COLUMNS])
        for cell in ws[2]:
            cell.font = Font(bold=True)
            cell.border = border
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for row in b.rows:
            ws.append([row[key] for key, _, _ in COLUMNS])
            for cell in ws[ws.max_row]:
                cell.border = border
                cell.alignment = Alignment(vertical="top", wrap_text=True)
        for i, (_, _, width) in enumerate(COLUMNS, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A3"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
