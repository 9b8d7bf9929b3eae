"""Townships: upserted by their 12-digit code, with overlaps and gaps measured on the spheroid in
PostGIS."""

from __future__ import annotations

import re
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.io.boundaries.fields import (
    _as_text,
    _pick,
    guess_code_field,
    guess_name_field,
)
from gis.io.boundaries.geometry import (
    _label,
    _polygonal,
    repaired,
)
from gis.io.boundaries.reading import (
    read_layer,
    resolve_crs,
    to_storage_crs,
)
from gis.io.boundaries.report import (
    CODE_PATTERN,
    Gap,
    ImportReport,
    Overlap,
    Rejection,
)

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
