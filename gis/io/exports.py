"""Ledger exports: Excel (the office template), GeoPackage, GeoJSON and CSV, filtered and scoped.

Every export reads the problems a :class:`gis.ledger.query.ProblemQuery` selects (its filters and
the caller's township scope), ordered by code, with full-precision geometry (CGCS2000, EPSG:4490).
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import vocab
from gis.io.excel import XLSX_MEDIA_TYPE, LedgerRow, write_ledger_xlsx
from gis.ledger.deadlines import days_overdue_sql, due_date_sql, overdue_sql, warning_sql
from gis.ledger.query import ProblemQuery

CRS = "EPSG:4490"
LAYER = "problems"
CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    """The export file formats."""

    XLSX = "xlsx"
    GPKG = "gpkg"
    GEOJSON = "geojson"
    CSV = "csv"


MEDIA_TYPES = {
    ExportFormat.XLSX: XLSX_MEDIA_TYPE,
    ExportFormat.GPKG: "application/geopackage+sqlite3",
    ExportFormat.GEOJSON: "application/geo+json",
    ExportFormat.CSV: "text/csv; charset=utf-8",
}
# Attribute columns of GeoPackage, GeoJSON and CSV, in order (CSV adds lon, lat and wkt).
FIELDS = (
    "code",
    "source",
    "source_label",
    "category",
    "category_label",
    "township_code",
    "township_name",
    "description",
    "responsible_unit",
    "responsible_person",
    "supervising_leader",
    "target",
    "measures",
    "progress",
    "deadline_kind",
    "deadline",
    "due_date",
    "status",
    "status_label",
    "overdue",
    "warning",
    "days_overdue",
    "rebound_count",
)


@dataclass
class Export:
    """An export ready to send: the bytes, their media type and a file name."""

    content: bytes
    media_type: str
    filename: str


def ledger_rows(session: Session, query: ProblemQuery, *, today: date) -> list[LedgerRow]:
    """Every problem the query selects (filters and scope), ordered by code."""
    query = replace(query, sort="code", descending=False)
    clause, params = query.where("p")
    source, source_params = query.source()
    rows = session.execute(
        text(
            f"""
            SELECT p.code, p.source, p.category, p.township_code, t.name AS township_name,
                   p.description, p.responsible_unit, p.responsible_person,
                   p.supervising_leader, p.target, p.measures, p.progress, p.deadline_kind,
                   p.deadline, p.status, ST_AsBinary(p.geom) AS wkb,
                   {due_date_sql("p")} AS due_date, {overdue_sql("p")} AS overdue,
                   {warning_sql("p")} AS warning,
                   GREATEST({days_overdue_sql("p")}, 0) AS days_overdue, p.rebound_count
            FROM {source} LEFT JOIN townships t ON t.code = p.township_code
            WHERE {clause}
            ORDER BY p.code, p.id
            """
        ),
        {"today": today, **params, **source_params},
    ).mappings()
    out = []
    for r in rows:
        values = dict(r)
        wkb = values.pop("wkb")
        values["geometry"] = shapely.from_wkb(bytes(wkb)) if wkb is not None else None
        values["days_overdue"] = int(values["days_overdue"] or 0)
        values["overdue"] = bool(values["overdue"])
        out.append(LedgerRow(**values))
    return out


def ambiguous_township_names(session: Session) -> set[str]:
    """Township names held by more than one township (the template writes their codes)."""
    return set(
        session.scalars(text("SELECT name FROM townships GROUP BY name HAVING count(*) > 1"))
    )


def attributes(row: LedgerRow) -> dict[str, Any]:
    """A row's attribute values, with Chinese labels, as plain JSON-ready types."""
    return {
        "code": row.code,
        "source": row.source,
        "source_label": vocab.Source(row.source).zh,
        "category": row.category,
        "category_label": vocab.Category(row.category).zh,
        "township_code": row.township_code,
        "township_name": row.township_name,
        "description": row.description,
        "responsible_unit": row.responsible_unit,
        "responsible_person": row.responsible_person,
        "supervising_leader": row.supervising_leader,
        "target": row.target,
        "measures": row.measures,
        "progress": row.progress,
        "deadline_kind": row.deadline_kind,
        "deadline": row.deadline.isoformat() if row.deadline else None,
        "due_date": row.due_date.isoformat() if row.due_date else None,
        "status": row.status,
        "status_label": vocab.Status(row.status).zh,
        "overdue": row.overdue,
        "warning": row.warning,
        "days_overdue": row.days_overdue,
        "rebound_count": row.rebound_count,
    }


def _frame(rows: list[LedgerRow]) -> gpd.GeoDataFrame:
    records = [attributes(r) for r in rows]
    geoms = [r.geometry for r in rows]
    frame = gpd.GeoDataFrame(records, columns=list(FIELDS), geometry=geoms, crs=CRS)
    return frame


def _write_with_gdal(rows: list[LedgerRow], driver: str, suffix: str) -> bytes:
    frame = _frame(rows)
    with tempfile.TemporaryDirectory(prefix="lookback-export-") as folder:
        path = Path(folder) / f"ledger{suffix}"
        kwargs: dict[str, Any] = {"driver": driver, "engine": "pyogrio"}
        if driver == "GPKG":
            kwargs["layer"] = LAYER
            kwargs["geometry_type"] = "Unknown"
        else:
            kwargs["layer_options"] = {"RFC7946": "NO", "WRITE_NAME": "NO"}
        frame.to_file(path, **kwargs)
        return path.read_bytes()


def _csv_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(rows: list[LedgerRow]) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel reads the Chinese), one row per problem."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*FIELDS, "lon", "lat", "wkt"])
    for row in rows:
        values = attributes(row)
        point = row.point()
        writer.writerow(
            [_csv_safe(values[name]) for name in FIELDS]
            + [
                repr(point[0]) if point else "",
                repr(point[1]) if point else "",
                row.geometry.wkt if row.geometry is not None else "",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def export_filename(fmt: ExportFormat, today: date) -> str:
    """An ASCII file name for an export of ``today``."""
    return f"lookback-ledger-{today.isoformat()}.{fmt.value}"


def export_ledger(
    session: Session, query: ProblemQuery, fmt: ExportFormat | str, *, today: date
) -> Export:
    """The problems the query selects, in ``fmt`` (xlsx, gpkg, geojson or csv)."""
    fmt = ExportFormat(fmt)
    rows = ledger_rows(session, query, today=today)
    if fmt is ExportFormat.XLSX:
        content = write_ledger_xlsx(
            rows,
            subtitle=f"导出日期：{today.isoformat()}　共 {len(rows)} 项",
            ambiguous_names=ambiguous_township_names(session),
        )
    elif fmt is ExportFormat.GPKG:
        content = _write_with_gdal(rows, "GPKG", ".gpkg")
    elif fmt is ExportFormat.GEOJSON:
        content = _write_with_gdal(rows, "GeoJSON", ".geojson")
    else:
        content = write_csv(rows)
    return Export(content, MEDIA_TYPES[fmt], export_filename(fmt, today))
