"""Fields: which column holds the code, the name and the zone level, guessed from hints when not
given."""

from __future__ import annotations

import math
import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.io.boundaries.reading import (
    _is_text,
)
from gis.io.boundaries.report import (
    CODE_HINTS,
    CODE_PATTERN,
    LEVEL_HINTS,
    NAME_HINTS,
    TOWNSHIP_NAME,
    ZONE_LEVELS,
    BoundaryImportError,
)


def _as_text(value: Any) -> str:
    """A cell as text: integral floats without ``.0``, missing values as empty."""
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, np.integer):
        return str(int(value))
    if isinstance(value, np.floating):
        return _as_text(float(value))
    return str(value).strip()


def _columns(frame: gpd.GeoDataFrame) -> list[str]:
    return [c for c in frame.columns if c != frame.geometry.name]


def _hint_rank(column: str, hints: tuple[str, ...]) -> int:
    low = column.lower()
    return 2 if low in hints else (1 if any(h in low for h in hints) else 0)


def _pick(frame: gpd.GeoDataFrame, given: str | None, label: str) -> str | None:
    if given is None:
        return None
    if given not in frame.columns:
        raise BoundaryImportError(
            f"no {label} field {given!r}; the file has: {', '.join(_columns(frame))}"
        )
    return given


def guess_code_field(frame: gpd.GeoDataFrame) -> tuple[str, str]:
    """The column holding 12-digit codes, and why it was chosen."""
    best: tuple[float, int, str] | None = None
    nine: str | None = None
    for column in _columns(frame):
        values = [v for v in map(_as_text, frame[column]) if v]
        if not values:
            continue
        share = sum(bool(CODE_PATTERN.match(v)) for v in values) / len(values)
        if sum(bool(re.fullmatch(r"\d{9}", v)) for v in values) / len(values) >= 0.5:
            nine = column
        candidate = (share, _hint_rank(column, CODE_HINTS), column)
        if share >= 0.5 and (best is None or candidate > best):
            best = candidate
    if best is None:
        hint = f" ({nine!r} holds 9-digit codes: append '000')" if nine else ""
        raise BoundaryImportError(
            f"no column holds 12-digit township codes{hint}; name it with code_field "
            f"(columns: {', '.join(_columns(frame))})"
        )
    share, _, column = best
    return column, f"{share:.0%} of its values are 12-digit codes"


def guess_name_field(frame: gpd.GeoDataFrame, exclude: str | None = None) -> tuple[str, str]:
    """The column holding township names (values ending in 乡, 镇, 街道…), and why."""
    best: tuple[float, int, str] | None = None
    for column in _columns(frame):
        if column == exclude or not _is_text(frame[column]):
            continue
        values = [v for v in map(_as_text, frame[column]) if v]
        if not values:
            continue
        share = sum(bool(TOWNSHIP_NAME.search(v)) for v in values) / len(values)
        candidate = (share, _hint_rank(column, NAME_HINTS), column)
        if (share >= 0.5 or candidate[1] == 2) and (best is None or candidate > best):
            best = candidate
    if best is None:
        raise BoundaryImportError(
            "no column holds township names (乡/镇/街道…); name it with name_field "
            f"(columns: {', '.join(_columns(frame))})"
        )
    share, _, column = best
    return column, f"{share:.0%} of its values end in 乡/镇/街道 or similar"


def guess_site_name_field(frame: gpd.GeoDataFrame) -> tuple[str, str]:
    """The column holding site names: a name-like column, else the most distinct text column."""
    text_columns = [c for c in _columns(frame) if _is_text(frame[c])]
    named = sorted(
        (c for c in text_columns if _hint_rank(c, NAME_HINTS)),
        key=lambda c: -_hint_rank(c, NAME_HINTS),
    )
    if named:
        return named[0], "its name says it holds names"
    if text_columns:
        column = max(text_columns, key=lambda c: frame[c].nunique())
        return column, "the text column with the most distinct values"
    raise BoundaryImportError("no text column to take site names from; give name_field")


def guess_zone_level_field(frame: gpd.GeoDataFrame) -> tuple[str, str]:
    """The column whose values are mostly protection-zone levels (一级/二级/准…), and why."""
    best: tuple[float, int, str] | None = None
    for column in _columns(frame):
        values = [v.lower() for v in map(_as_text, frame[column]) if v]
        if not values:
            continue
        share = sum(v in ZONE_LEVELS for v in values) / len(values)
        candidate = (share, _hint_rank(column, LEVEL_HINTS), column)
        if share >= 0.5 and (best is None or candidate > best):
            best = candidate
    if best is None:
        raise BoundaryImportError(
            "no column holds protection-zone levels (1/2/quasi, 一级/二级/准保护区); "
            "give zone_level_field"
        )
    share, _, column = best
    return column, f"{share:.0%} of its values are zone levels"
