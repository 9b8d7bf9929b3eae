"""Importing township boundaries and sites from GeoJSON, Shapefile or GeoPackage, in any CRS.

Files are read with geopandas/pyogrio and transformed to CGCS2000 (EPSG:4490). Files without a
CRS are recognised when their coordinates are longitude/latitude or Gauss–Krüger with a zone
prefix (e.g. x = 38 500 000 for zone 38); a declared Gauss–Krüger CRS whose x coordinates carry
(or lack) the zone prefix is corrected, with a warning. Invalid polygons are repaired with
``make_valid``; codes are checked; nothing is dropped silently: every row is imported, updated or
rejected with its reason. Overlaps and gaps between townships are measured in PostGIS on the
spheroid (square metres, never degrees). The caller owns the transaction (commit or roll back).
"""

from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import vocab
from gis.db.models import SRID
from gis.errors import LookbackError
from gis.geo.townships import assign_missing_townships

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


# --------------------------------------------------------------------------------------------
# Reading and CRS
# --------------------------------------------------------------------------------------------


def _is_text(series: pd.Series) -> bool:
    """True for a column of strings (object or pandas string dtype)."""
    return series.dtype == object or pd.api.types.is_string_dtype(series.dtype)


def _has_cjk(frame: pd.DataFrame) -> bool:
    for column in frame.columns:
        if column == frame.geometry.name or not _is_text(frame[column]):
            continue
        if frame[column].astype(str).str.contains(r"[\u4e00-\u9fff]", regex=True).any():
            return True
    return False


def read_layer(
    path: Path,
    report: ImportReport,
    *,
    layer: str | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read one layer of ``path`` (the first polygon or only layer unless ``layer`` is named)."""
    if not path.exists():
        raise BoundaryImportError(f"no such file: {path}")
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # noqa: BLE001 - any GDAL open error means unreadable
        raise BoundaryImportError(f"cannot read {path}: {exc}") from exc
    if layer is None and len(layers) > 1:
        names = [str(n) for n, _ in layers]
        polygonal = [str(n) for n, g in layers if g and "polygon" in str(g).lower()]
        layer = polygonal[0] if polygonal and report.kind == "townships" else names[0]
        report.warnings.append(f"{path.name} has layers {', '.join(names)}: read {layer!r}")
    try:
        frame = gpd.read_file(path, layer=layer, encoding=encoding, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001
        raise BoundaryImportError(f"cannot read {path}: {exc}") from exc
    is_shp = path.suffix.lower() == ".shp"
    no_cpg = not any(path.with_suffix(s).exists() for s in (".cpg", ".CPG"))
    if is_shp and encoding is None and no_cpg and len(frame) and not _has_cjk(frame):
        try:
            gbk = gpd.read_file(path, layer=layer, encoding="gbk", engine="pyogrio")
        except Exception:  # noqa: BLE001 - keep the first reading
            gbk = None
        if gbk is not None and _has_cjk(gbk):
            report.warnings.append(f"{path.name} has no .cpg: text read as GBK (pass encoding=…)")
            frame = gbk
    if not isinstance(frame, gpd.GeoDataFrame) or (len(frame) and frame.geometry.isna().all()):
        raise BoundaryImportError(f"{path.name}: the layer has no geometry")
    return frame


def _prefix_zone(xs: np.ndarray) -> int | None:
    zones = np.unique(np.floor(xs / 1_000_000).astype(int))
    return int(zones[0]) if len(zones) == 1 and 13 <= zones[0] <= 45 else None


def _cgcs2000_gk(zone: int) -> int | None:
    """EPSG code of the CGCS2000 Gauss–Krüger CRS with zone prefix ``zone`` (3° or 6°)."""
    if 25 <= zone <= 45:
        return 4513 + zone - 25
    if 13 <= zone <= 23:
        return 4491 + zone - 13
    return None


def _with_false_easting(crs: CRS, false_easting: float) -> CRS:
    """``crs`` with another false easting: the EPSG CGCS2000 CRS when there is one."""
    params = {k: v for k, v in crs.to_dict().items() if k != "type"}
    lon_0, zone = float(params.get("lon_0", 0)), int(false_easting // 1_000_000)
    if crs.ellipsoid is not None and crs.ellipsoid.name in ("CGCS2000", "GRS 1980"):
        code = None
        if zone and lon_0 == 3 * zone:
            code = _cgcs2000_gk(zone) if 25 <= zone <= 45 else None
        elif zone and lon_0 == 6 * zone - 3:
            code = _cgcs2000_gk(zone) if 13 <= zone <= 23 else None
        elif not zone and lon_0 in range(75, 136, 3):
            code = 4534 + (int(lon_0) - 75) // 3
        if code is not None:
            return CRS.from_epsg(code)
    params["x_0"] = false_easting
    return CRS.from_dict(params)


def resolve_crs(
    frame: gpd.GeoDataFrame, report: ImportReport, crs: str | int | None = None
) -> gpd.GeoDataFrame:
    """The frame with its true CRS set: declared, given, guessed, or zone prefix corrected."""
    xs = frame.geometry.bounds[["minx", "maxx"]].to_numpy().ravel()
    xs = xs[np.isfinite(xs)]
    bounds = frame.total_bounds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if crs is not None:
            given = CRS.from_user_input(crs)
            if frame.crs is not None and not CRS.from_user_input(frame.crs).equals(given):
                report.warnings.append(
                    f"the file declares {CRS.from_user_input(frame.crs).name}; "
                    f"read as {given.name} as asked"
                )
            frame = frame.set_crs(given, allow_override=True)
        elif frame.crs is None:
            minx, miny, maxx, maxy = bounds
            if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
                frame = frame.set_crs(SRID)
                report.warnings.append(
                    "the file has no CRS; its coordinates are longitude/latitude: "
                    "read as CGCS2000 (EPSG:4490)"
                )
            else:
                zone = _prefix_zone(xs) if len(xs) else None
                code = _cgcs2000_gk(zone) if zone else None
                if code is None:
                    raise BoundaryImportError(
                        "the file has no CRS and its coordinates are neither longitude/latitude "
                        "nor Gauss–Krüger with a zone prefix; give the CRS (e.g. EPSG:4547)"
                    )
                frame = frame.set_crs(code)
                report.warnings.append(
                    f"the file has no CRS; x coordinates carry zone prefix {zone}: "
                    f"read as {CRS.from_epsg(code).name} (EPSG:{code})"
                )
        declared = CRS.from_user_input(frame.crs)
        params = declared.to_dict() if declared.is_projected else {}
        if params.get("proj") == "tmerc" and len(xs):
            x0 = float(params.get("x_0", 0))
            zone = _prefix_zone(xs)
            if x0 < 1_000_000 and zone is not None and np.min(xs) > 10_000_000:
                fixed = _with_false_easting(declared, zone * 1_000_000 + x0)
                report.warnings.append(
                    f"{declared.name} has no zone prefix but the x coordinates start with {zone}: "
                    f"read as {fixed.name}"
                )
                frame = frame.set_crs(fixed, allow_override=True)
            elif x0 >= 1_000_000 and np.max(xs) < 1_000_000:
                fixed = _with_false_easting(declared, x0 % 1_000_000)
                report.warnings.append(
                    f"{declared.name} expects a zone prefix but the x coordinates have none: "
                    f"read as {fixed.name}"
                )
                frame = frame.set_crs(fixed, allow_override=True)
    source = CRS.from_user_input(frame.crs)
    code = source.to_epsg(min_confidence=70)
    report.source_crs = f"{source.name}" + (f" (EPSG:{code})" if code else "")
    ellipsoid = source.ellipsoid.name if source.ellipsoid else ""
    if ellipsoid not in ("CGCS2000", "GRS 1980", "WGS 84"):
        report.warnings.append(
            f"source ellipsoid {ellipsoid!r} is not CGCS2000/WGS-84 (Beijing 1954 or Xi'an 1980?): "
            "without local transformation parameters positions may be off by tens of metres"
        )
    return frame


def to_storage_crs(frame: gpd.GeoDataFrame, report: ImportReport) -> gpd.GeoDataFrame:
    """Transform to EPSG:4490 (2D) and check the result lies on Earth (and, normally, China)."""
    out = frame.to_crs(SRID)
    out = out.set_geometry(shapely.force_2d(out.geometry.values))
    minx, miny, maxx, maxy = out.total_bounds
    if not all(map(math.isfinite, (minx, miny, maxx, maxy))) or not (
        -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
    ):
        raise BoundaryImportError(
            f"after transformation from {report.source_crs} the coordinates are not valid "
            "longitude/latitude: the file's CRS is probably wrong; give it explicitly"
        )
    cx0, cy0, cx1, cy1 = CHINA_LONLAT
    if minx < cx0 or maxx > cx1 or miny < cy0 or maxy > cy1:
        report.warnings.append(
            f"data extends outside China ({minx:.4f}, {miny:.4f}) – ({maxx:.4f}, {maxy:.4f}): "
            "check the CRS"
        )
    return out


# --------------------------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------


def _polygonal(geom: BaseGeometry) -> MultiPolygon | None:
    """The polygonal part of ``geom`` as a MultiPolygon, or None if it has none."""
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon | MultiPolygon)]
    polys: list[Polygon] = []
    for part in parts:
        if isinstance(part, MultiPolygon):
            polys.extend(part.geoms)
        elif isinstance(part, Polygon):
            polys.append(part)
    if not polys:
        nested = [g for g in shapely.get_parts(geom) if g.geom_type == "GeometryCollection"]
        for sub in nested:
            inner = _polygonal(sub)
            if inner is not None:
                polys.extend(inner.geoms)
    polys = [p for p in polys if not p.is_empty and p.area > 0]
    return MultiPolygon(polys) if polys else None


def repaired(geom: BaseGeometry, label: str, report: ImportReport) -> BaseGeometry:
    """``geom`` made valid (with a warning naming ``label`` and the defect), or as it was."""
    if geom.is_valid:
        return geom
    reason = shapely.is_valid_reason(geom)
    fixed = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        poly = _polygonal(fixed)
        fixed = poly if poly is not None else fixed
    parts = len(shapely.get_parts(fixed))
    report.warnings.append(
        f"{label}: invalid geometry ({reason}) repaired with make_valid → "
        f"{fixed.geom_type} of {parts} part{'s' if parts != 1 else ''}"
    )
    return fixed


def _label(row: int, *ids: str) -> str:
    shown = " ".join(i for i in ids if i)
    return f"row {row}" + (f" ({shown})" if shown else "")


# --------------------------------------------------------------------------------------------
# Townships
# --------------------------------------------------------------------------------------------


_UPSERT_TOWNSHIP = text(
    """
    INSERT INTO townships (code, name, geom)
    VALUES (:code, :name, ST_Multi(ST_GeomFromWKB(:wkb, 4490)))
    ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, geom = EXCLUDED.geom
    RETURNING (xmax = 0) AS inserted
    """
)


def import_townships(
    session: Session,
    path: str | Path,
    code_field: str | None = None,
    name_field: str | None = None,
    *,
    layer: str | None = None,
    crs: str | int | None = None,
    encoding: str | None = None,
    min_area_m2: float = 1.0,
) -> ImportReport:
    """Upsert townships by code from a file in any CRS; report overlaps and gaps (m²)."""
    path = Path(path)
    report = ImportReport(kind="townships", source=str(path))
    frame = read_layer(path, report, layer=layer, encoding=encoding)
    report.rows_read = len(frame)
    if frame.empty:
        report.warnings.append("the file holds no features")
        return report
    code_col = _pick(frame, code_field, "code")
    if code_col is None:
        code_col, why = guess_code_field(frame)
        report.notes.append(f"code field: {code_col!r} (guessed: {why})")
    name_col = _pick(frame, name_field, "name")
    if name_col is None:
        name_col, why = guess_name_field(frame, exclude=code_col)
        report.notes.append(f"name field: {name_col!r} (guessed: {why})")
    report.fields = {"code": code_col, "name": name_col}
    frame = to_storage_crs(resolve_crs(frame, report, crs), report)

    accepted: dict[str, tuple[int, str, MultiPolygon]] = {}
    merged_rows: dict[str, list[int]] = {}
    for index, (raw_code, raw_name, geom) in enumerate(
        zip(frame[code_col], frame[name_col], frame.geometry, strict=True), start=1
    ):
        code, name = _as_text(raw_code), _as_text(raw_name)
        label = _label(index, code, name)
        if not CODE_PATTERN.match(code):
            hint = (
                " (a 9-digit township code? append '000')" if re.fullmatch(r"\d{9}", code) else ""
            )
            reason = f"code {code!r} is not 12 digits{hint}" if code else "no code"
            report.rejected.append(Rejection(index, code or name, reason))
            continue
        if not name:
            report.rejected.append(Rejection(index, code, "no name"))
            continue
        if geom is None or geom.is_empty:
            report.rejected.append(Rejection(index, code, "no geometry"))
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            report.rejected.append(
                Rejection(index, code, f"geometry is a {geom.geom_type}, not a polygon")
            )
            continue
        poly = _polygonal(repaired(geom, label, report))
        if poly is None:
            report.rejected.append(Rejection(index, code, "no polygon left after repair"))
            continue
        if code in accepted:
            first_row, first_name, first = accepted[code]
            if first_name != name:
                report.rejected.append(
                    Rejection(index, code, f"code also used by row {first_row} for {first_name!r}")
                )
                continue
            union = _polygonal(shapely.union_all([first, poly]))
            accepted[code] = (first_row, name, union or first)
            merged_rows.setdefault(code, [first_row]).append(index)
            continue
        accepted[code] = (index, name, poly)
    for code, rows in merged_rows.items():
        report.merged_rows += len(rows) - 1
        report.warnings.append(
            f"merged rows {', '.join(map(str, rows))} of {code} ({accepted[code][1]}) "
            "into one township"
        )

    for code, (_, name, poly) in accepted.items():
        inserted = session.execute(
            _UPSERT_TOWNSHIP, {"code": code, "name": name, "wkb": shapely.to_wkb(poly)}
        ).scalar_one()
        (report.imported if inserted else report.updated).append(code)
    codes = list(accepted)
    if codes:
        report.overlaps = township_overlaps(session, codes, min_area_m2=min_area_m2)
        report.gaps = township_gaps(session, codes, min_area_m2=min_area_m2)
    return report


def township_overlaps(
    session: Session, codes: list[str], *, min_area_m2: float = 1.0
) -> list[Overlap]:
    """Pairs of townships (one of them in ``codes``) sharing more than ``min_area_m2`` m²."""
    rows = session.execute(
        text(
            """
            SELECT a.code, b.code, ST_Area(ST_CollectionExtract(
                       ST_Intersection(a.geom, b.geom), 3)::geography) AS m2
            FROM townships a
            JOIN townships b ON a.code < b.code AND ST_Intersects(a.geom, b.geom)
            WHERE (a.code = ANY(:codes) OR b.code = ANY(:codes))
              AND NOT ST_Touches(a.geom, b.geom)
            ORDER BY a.code, b.code
            """
        ),
        {"codes": codes},
    ).all()
    return [Overlap(a, b, float(m2)) for a, b, m2 in rows if m2 and m2 > min_area_m2]


def township_gaps(session: Session, codes: list[str], *, min_area_m2: float = 1.0) -> list[Gap]:
    """Holes in the union of all townships that border a township in ``codes``."""
    rows = session.execute(
        text(
            """
            WITH parts AS (
                SELECT (ST_Dump(ST_Union(geom))).geom AS g FROM townships
            ), holes AS (
                SELECT ST_MakePolygon(ST_InteriorRingN(g, n)) AS h
                FROM parts, generate_series(1, ST_NumInteriorRings(g)) AS n
            )
            SELECT ST_Area(h::geography) AS m2,
                   ST_X(ST_PointOnSurface(h)), ST_Y(ST_PointOnSurface(h)),
                   ARRAY(SELECT t.code FROM townships t
                         WHERE ST_Intersects(t.geom, h) ORDER BY t.code)
            FROM holes
            ORDER BY m2 DESC
            """
        )
    ).all()
    wanted = set(codes)
    return [
        Gap(float(m2), float(x), float(y), tuple(near))
        for m2, x, y, near in rows
        if m2 > min_area_m2 and wanted.intersection(near)
    ]


# --------------------------------------------------------------------------------------------
# Sites
# --------------------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    """A cell as a JSON-ready value (None for missing)."""
    if isinstance(value, list | dict | str | bool):
        return value
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):
        return None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return int(f) if f.is_integer() else f
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def import_sites(
    session: Session,
    path: str | Path,
    *,
    kind: str,
    name_field: str | None = None,
    zone_level_field: str | None = None,
    layer: str | None = None,
    crs: str | int | None = None,
    encoding: str | None = None,
) -> ImportReport:
    """Upsert sites of one ``kind`` by name; other columns go to ``properties``."""
    kinds = vocab.values(vocab.SiteKind)
    if kind not in kinds:
        raise BoundaryImportError(f"unknown site kind {kind!r}; kinds are: {', '.join(kinds)}")
    path = Path(path)
    report = ImportReport(kind=f"sites ({kind})", source=str(path))
    frame = read_layer(path, report, layer=layer, encoding=encoding)
    report.rows_read = len(frame)
    if frame.empty:
        report.warnings.append("the file holds no features")
        return report
    name_col = _pick(frame, name_field, "name")
    if name_col is None:
        name_col, why = guess_site_name_field(frame)
        report.notes.append(f"name field: {name_col!r} (guessed: {why})")
    zone_col = _pick(frame, zone_level_field, "zone level")
    is_zone = kind == vocab.SiteKind.PROTECTION_ZONE.value
    if is_zone and zone_col is None:
        zone_col, why = guess_zone_level_field(frame)
        report.notes.append(f"zone level field: {zone_col!r} (guessed: {why})")
    if not is_zone and zone_col is not None:
        report.warnings.append(f"zone levels apply to protection zones only: {zone_col!r} ignored")
        zone_col = None
    report.fields = {"name": name_col, **({"zone_level": zone_col} if zone_col else {})}
    frame = to_storage_crs(resolve_crs(frame, report, crs), report)
    extra = [c for c in _columns(frame) if c not in (name_col, zone_col)]

    accepted: dict[str, dict[str, Any]] = {}
    for index, (_, row) in enumerate(frame.iterrows(), start=1):
        name = _as_text(row[name_col])
        geom = row[frame.geometry.name]
        if not name:
            report.rejected.append(Rejection(index, "", "no name"))
            continue
        if geom is None or geom.is_empty:
            report.rejected.append(Rejection(index, name, "no geometry"))
            continue
        level = None
        if zone_col is not None:
            raw = _as_text(row[zone_col])
            level = ZONE_LEVELS.get(raw.lower())
            if level is None:
                report.rejected.append(
                    Rejection(index, name, f"zone level {raw!r} is not 1, 2 or quasi")
                )
                continue
        geom = repaired(geom, _label(index, name), report)
        props = {c: _json_value(row[c]) for c in extra}
        props = {k: v for k, v in props.items() if v is not None}
        key = f"{name}\x00{level or ''}"
        if key in accepted:
            first = accepted[key]
            first["geom"] = shapely.union_all([first["geom"], geom])
            first["rows"].append(index)
            continue
        accepted[key] = {
            "name": name,
            "level": level,
            "geom": geom,
            "props": props,
            "rows": [index],
        }

    for site in accepted.values():
        if len(site["rows"]) > 1:
            report.merged_rows += len(site["rows"]) - 1
            report.warnings.append(
                f"merged rows {', '.join(map(str, site['rows']))} named {site['name']!r} "
                "into one site"
            )
        existing = session.execute(
            text(
                "SELECT id FROM sites WHERE kind = :kind AND name = :name"
                " AND zone_level IS NOT DISTINCT FROM :level"
            ),
            {"kind": kind, "name": site["name"], "level": site["level"]},
        ).all()
        params = {
            "kind": kind,
            "name": site["name"],
            "level": site["level"],
            "props": json.dumps(site["props"], ensure_ascii=False),
            "wkb": shapely.to_wkb(site["geom"]),
        }
        label = site["name"] + (f" (level {site['level']})" if site["level"] else "")
        if len(existing) > 1:
            report.rejected.append(
                Rejection(
                    site["rows"][0],
                    site["name"],
                    f"{len(existing)} {kind} sites are already called {site['name']!r}",
                )
            )
            continue
        if existing:
            session.execute(
                text(
                    "UPDATE sites SET properties = CAST(:props AS jsonb),"
                    " geom = ST_GeomFromWKB(:wkb, 4490), township_code = NULL WHERE id = :id"
                ),
                {**params, "id": existing[0][0]},
            )
            report.updated.append(label)
        else:
            session.execute(
                text(
                    "INSERT INTO sites (kind, name, zone_level, properties, geom) VALUES"
                    " (:kind, :name, :level, CAST(:props AS jsonb), ST_GeomFromWKB(:wkb, 4490))"
                ),
                params,
            )
            report.imported.append(label)
    if accepted:
        assign_missing_townships(session, "sites")
    return report
