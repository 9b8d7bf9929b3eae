"""Rows to ledger values: each row parsed, skipped or rejected with its reason."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import vocab
from gis.io.excel.cells import (
    clean_text,
    code_text,
    is_blank,
    map_category,
    map_source,
    map_status,
    parse_deadline,
    parse_lonlat,
    split_lonlat,
    squeeze,
)
from gis.io.excel.vocabulary import (
    NOTE_PREFIXES,
    TEXT_FIELDS,
    TOTAL_WORDS,
)
from gis.io.excel.workbook import (
    _Sheet,
)


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
