"""Cell values: text, codes, categories, statuses, sources, deadlines and coordinates as offices
type them.
"""

from __future__ import annotations

import calendar
import math
import re
import unicodedata
from datetime import date, datetime
from typing import Any

from openpyxl.utils.datetime import from_excel

from gis import vocab
from gis.geo.coords import CHINA_LAT_RANGE, CHINA_LON_RANGE, looks_swapped, parse_coordinate
from gis.io.excel.vocabulary import (
    _ALIAS_TO_FIELD,
    CATEGORY_WORDS,
    PLACEHOLDERS,
    SOURCE_WORDS,
    STATUS_WORDS,
)


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
