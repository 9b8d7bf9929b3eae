"""Sites (plants, outfalls, protection zones, ...): imported with their kind, name and properties,
each assigned its township."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import vocab
from gis.geo.townships import assign_missing_townships
from gis.io.boundaries.fields import (
    _as_text,
    _columns,
    _pick,
    guess_site_name_field,
    guess_zone_level_field,
)
from gis.io.boundaries.geometry import (
    _label,
    repaired,
)
from gis.io.boundaries.reading import (
    read_layer,
    resolve_crs,
    to_storage_crs,
)
from gis.io.boundaries.report import (
    ZONE_LEVELS,
    BoundaryImportError,
    ImportReport,
    Rejection,
)


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
