"""Reading the ledger: problems with their derived overdue flag, warning colour and map class.

One WHERE builder (:meth:`ProblemQuery.where`) serves lists, counts, pages, layers and reports, so
every number agrees. ``as_of`` reads the ledger as it stood at the end of a past day, rebuilt from
the append-only events. GeoJSON is built inside PostGIS (``ST_AsGeoJSON``).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import palette, vocab
from gis.access.scope import scope_sql
from gis.config import get_settings
from gis.geo.sql import as_geojson_sql
from gis.ledger.deadlines import (
    days_overdue_sql,
    due_date_sql,
    overdue_sql,
    rebounded_sql,
    warning_sql,
)

# The map's four classes, in drawing order (later ones on top).
MAP_CLASSES = ("closed", "open", "overdue", "rebounded")
MAP_CLASS_LABELS = {
    "closed": ("已销号", "Closed"),
    "open": ("整改中（未逾期）", "Open, on time"),
    "overdue": ("逾期", "Overdue"),
    "rebounded": ("反弹", "Rebounded"),
}
# Fields an event may change, rebuilt for "as of" reads.
TRACKED_FIELDS = (
    "status",
    "deadline",
    "deadline_kind",
    "township_code",
    "category",
    "source",
    "closed_at",
    "rebound_count",
    "responsible_unit",
    "responsible_person",
)
SORTS = {
    "code": "p.code",
    "deadline": f"({due_date_sql('p')})",
    "updated_at": "p.updated_at",
    "reported_at": "p.reported_at",
    "days_overdue": f"({days_overdue_sql('p')})",
}


def map_class_sql(alias: str = "p", today: str = ":today") -> str:
    """SQL text: rebounded, overdue, closed or open, the classes a map colours by (rebounded as
    the count set ``rebounded``: open and rebounded since its last closure)."""
    return (
        f"(CASE WHEN {rebounded_sql(alias)} THEN 'rebounded' "
        f"WHEN {alias}.status = 'closed' THEN 'closed' "
        f"WHEN {overdue_sql(alias, today)} THEN 'overdue' ELSE 'open' END)"
    )


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in the configured time zone."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=get_settings().zone)


# Fields a past day rebuilds from the history besides TRACKED_FIELDS (text, as the events hold
# them); geometry is rebuilt too (events hold it as WKT).
HISTORY_TEXT_FIELDS = tuple(f.name for f in vocab.PROBLEM_FIELDS if f.history_text)


def _value_at_cutoff(name: str) -> str:
    """SQL jsonb: field ``name`` of problem ``x`` at the cutoff, from its history.

    The value the latest event before the cutoff set; else the value the first event after the
    cutoff changed it from; else (never changed) the current value."""
    set_before = (
        f"(SELECT e.after->'{name}' FROM events e WHERE e.problem_id = x.id"
        f" AND e.at < :as_of_cutoff AND e.after ? '{name}'"
        f" ORDER BY e.at DESC, e.id DESC LIMIT 1)"
    )
    changed_after = (
        f"(SELECT e.before->'{name}' FROM events e WHERE e.problem_id = x.id"
        f" AND e.at >= :as_of_cutoff AND e.before ? '{name}'"
        f" ORDER BY e.at, e.id LIMIT 1)"
    )
    column = "geom" if name == "geometry" else name
    current = "to_jsonb(ST_AsText(x.geom))" if name == "geometry" else f"to_jsonb(x.{column})"
    return f"COALESCE({set_before}, {changed_after}, {current})"


def problems_from_sql(as_of: date | None) -> str:
    """SQL ``FROM`` item aliased ``p``: the live table, or its state at the end of ``as_of``.

    As of a past day every field with a history (status, deadline, township, category, source,
    closure, rebounds, responsible unit and person, description, target, measures, progress,
    geometry …) is rebuilt from the events, never read from today's row; problems registered
    after the day are left out."""
    if as_of is None:
        return "problems p"
    casts = {"deadline": "date", "closed_at": "timestamptz", "rebound_count": "integer"}
    cols = [
        f"({_value_at_cutoff(name)} #>> '{{}}')::{casts.get(name, 'text')} AS {name}"
        for name in (*TRACKED_FIELDS, *HISTORY_TEXT_FIELDS)
    ]
    cols.append(
        f"COALESCE(ST_GeomFromText({_value_at_cutoff('geometry')} #>> '{{}}', 4490), x.geom)"
        " AS geom"
    )
    untracked = ", ".join(
        f"x.{c}"
        for c in (
            "id",
            "code",
            "reported_at",
            "assigned_at",
            "site_id",
            "notice_ends_on",
            "created_at",
        )
    )
    return (
        f"(SELECT {untracked}, x.updated_at, {', '.join(cols)} FROM problems x"
        " WHERE EXISTS (SELECT 1 FROM events e WHERE e.problem_id = x.id"
        " AND e.action = 'created' AND e.at < :as_of_cutoff)) p"
    )


@dataclass(frozen=True)
class ProblemQuery:
    """Which problems a list, count, layer or report shows, and in what order."""

    township_codes: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    map_class: str | None = None
    overdue: bool | None = None
    rebounded: bool | None = None  # the count set (open, rebounded since its last closure)
    warnings: tuple[str, ...] | None = None
    bbox: tuple[float, float, float, float] | None = None
    text: str | None = None
    updated_since: datetime | None = None
    as_of: date | None = None
    scope: tuple[str, ...] | None = None  # the caller's townships; None: all
    sort: str = "code"
    descending: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def where(self, alias: str = "p") -> tuple[str, dict[str, Any]]:
        """SQL WHERE clause and parameters, shared by counts, pages and layers."""
        a = alias
        clauses, params = ["TRUE"], {}

        def any_of(column: str, key: str, values: tuple[str, ...] | None) -> None:
            if values:
                clauses.append(f"{a}.{column} = ANY(:{key})")
                params[key] = list(values)

        any_of("township_code", "f_townships", self.township_codes)
        clauses.append(scope_sql(f"{a}.township_code", self.scope, params))
        any_of("status", "f_statuses", self.statuses)
        any_of("category", "f_categories", self.categories)
        any_of("source", "f_sources", self.sources)
        if self.map_class:
            clauses.append(f"{map_class_sql(a)} = :f_map_class")
            params["f_map_class"] = self.map_class
        if self.overdue is not None:
            clauses.append(f"{overdue_sql(a)} = :f_overdue")
            params["f_overdue"] = self.overdue
        if self.rebounded is not None:
            clauses.append(f"{rebounded_sql(a)} = :f_rebounded")
            params["f_rebounded"] = self.rebounded
        if self.warnings:
            clauses.append(f"{warning_sql(a)} = ANY(:f_warnings)")
            params["f_warnings"] = list(self.warnings)
        if self.bbox:
            clauses.append(
                f"{a}.geom && ST_MakeEnvelope(:f_x0, :f_y0, :f_x1, :f_y1, 4490)"
                f" AND ST_Intersects({a}.geom, ST_MakeEnvelope(:f_x0, :f_y0, :f_x1, :f_y1, 4490))"
            )
            params.update(zip(("f_x0", "f_y0", "f_x1", "f_y1"), self.bbox, strict=True))
        if self.text:
            clauses.append(
                f"({a}.code ILIKE :f_text OR {a}.description ILIKE :f_text"
                f" OR {a}.responsible_unit ILIKE :f_text OR {a}.responsible_person ILIKE :f_text)"
            )
            escaped = self.text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
            params["f_text"] = f"%{escaped}%"
        if self.updated_since:
            clauses.append(f"{a}.updated_at >= :f_updated_since")
            params["f_updated_since"] = self.updated_since
        return " AND ".join(clauses), params

    def source(self) -> tuple[str, dict[str, Any]]:
        """The FROM item for this query and its parameters."""
        params = {"as_of_cutoff": end_of_day(self.as_of)} if self.as_of else {}
        return problems_from_sql(self.as_of), params


def _label_case(column: str, enum: type[vocab.Labelled]) -> str:
    whens = " ".join(f"WHEN '{m.value}' THEN '{m.zh}'" for m in enum)  # type: ignore[attr-defined]
    return f"(CASE {column} {whens} ELSE {column} END)"


def problem_properties_sql(alias: str = "p") -> str:
    """SQL ``json_build_object`` of a problem's ledger fields and derived values."""
    a = alias
    return f"""json_build_object(
        'code', {a}.code, 'source', {a}.source, 'category', {a}.category,
        'category_label', {_label_case(f"{a}.category", vocab.Category)},
        'status', {a}.status, 'status_label', {_label_case(f"{a}.status", vocab.Status)},
        'township_code', {a}.township_code, 'township_name', t.name,
        'description', {a}.description, 'responsible_unit', {a}.responsible_unit,
        'responsible_person', {a}.responsible_person, 'target', {a}.target,
        'measures', {a}.measures, 'deadline_kind', {a}.deadline_kind, 'deadline', {a}.deadline,
        'due_date', {due_date_sql(a)}, 'days_overdue', GREATEST({days_overdue_sql(a)}, 0),
        'overdue', {overdue_sql(a)}, 'warning', {warning_sql(a)},
        'map_class', {map_class_sql(a)}, 'rebound_count', {a}.rebound_count,
        'closed_at', {a}.closed_at, 'updated_at', {a}.updated_at
    )"""


def problems_feature_collection(
    session: Session, *, today: date, where: ProblemQuery | None = None
) -> dict:
    """Problems with geometry as a GeoJSON FeatureCollection, with ledger fields and labels."""
    query = where or ProblemQuery()
    clause, params = query.where("p")
    source, source_params = query.source()
    sql = f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features',
            COALESCE(json_agg(json_build_object(
                'type', 'Feature', 'id', p.code,
                'geometry', {as_geojson_sql("p.geom")},
                'properties', {problem_properties_sql("p")}
            ) ORDER BY p.id), '[]'::json))
        FROM {source} LEFT JOIN townships t ON t.code = p.township_code
        WHERE p.geom IS NOT NULL AND {clause}
    """
    return session.execute(text(sql), {"today": today, **params, **source_params}).scalar_one()


def map_class_counts(session: Session, *, today: date, where: ProblemQuery | None = None) -> dict:
    """How many problems fall in each map class."""
    query = where or ProblemQuery()
    clause, params = query.where("p")
    source, source_params = query.source()
    rows = session.execute(
        text(f"SELECT {map_class_sql('p')}, count(*) FROM {source} WHERE {clause} GROUP BY 1"),
        {"today": today, **params, **source_params},
    ).all()
    counts = dict.fromkeys(MAP_CLASSES, 0)
    counts.update({c: int(n) for c, n in rows})
    return counts


@dataclass
class ProblemPage:
    """One page of a problem list."""

    items: list[dict]
    number_matched: int
    next_cursor: str | None


def _encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, default=str, ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The keyset values in a cursor; ``ValueError`` when it was not made here."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("invalid cursor: pass the next_cursor of a previous page") from exc
    if not isinstance(values, list) or len(values) != 2:
        raise ValueError("invalid cursor: pass the next_cursor of a previous page")
    return values


def list_problems(
    session: Session,
    *,
    today: date,
    query: ProblemQuery,
    limit: int = 100,
    cursor: str | None = None,
    geometry: bool = False,
) -> ProblemPage:
    """A page of problems, keyset-paginated on (sort key, id), with the total matched."""
    if query.sort not in SORTS:
        raise ValueError(f"sort must be one of: {', '.join(SORTS)}")
    clause, params = query.where("p")
    source, source_params = query.source()
    params = {"today": today, **params, **source_params}
    raw_key = SORTS[query.sort]
    key_type = _key_type(query.sort)
    key = f"COALESCE({raw_key}, CAST(:c_sentinel AS {key_type}))"
    params["c_sentinel"] = SENTINELS[key_type]
    order = "DESC" if query.descending else "ASC"
    cmp = "<" if query.descending else ">"
    total = session.execute(text(f"SELECT count(*) FROM {source} WHERE {clause}"), params)
    number_matched = int(total.scalar_one())
    page_clause = clause
    if cursor:
        last_key, last_id = decode_cursor(cursor)
        # NULL sort keys go last (first when descending): the flag leads the row comparison.
        page_clause += (
            f" AND (ROW(({raw_key}) IS NULL, {key}, p.id) {cmp}"
            f" ROW(CAST(:c_null AS boolean), CAST(:c_key AS {key_type}), :c_id))"
        )
        last_null = last_key is None
        params.update(
            c_null=last_null,
            c_key=SENTINELS[key_type] if last_null else last_key,
            c_id=int(last_id),
        )
    geom = f", {as_geojson_sql('p.geom')} AS geometry" if geometry else ""
    rows = session.execute(
        text(
            f"SELECT {problem_properties_sql('p')} AS props, ({raw_key}) AS sort_key, p.id{geom}"
            f" FROM {source} LEFT JOIN townships t ON t.code = p.township_code"
            f" WHERE {page_clause}"
            f" ORDER BY ({raw_key}) IS NULL {order}, {key} {order}, p.id {order} LIMIT :limit"
        ),
        {**params, "limit": limit + 1},
    ).all()
    items = []
    for row in rows[:limit]:
        item = dict(row.props)
        if geometry:
            item["geometry"] = row.geometry
        items.append(item)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = _encode_cursor([last.sort_key, last.id])
    return ProblemPage(items=items, number_matched=number_matched, next_cursor=next_cursor)


SENTINELS = {
    "text": "",
    "date": "1970-01-01",
    "timestamptz": "1970-01-01T00:00:00Z",
    "integer": "0",
}


def _key_type(sort: str) -> str:
    return {
        "code": "text",
        "deadline": "date",
        "updated_at": "timestamptz",
        "reported_at": "timestamptz",
        "days_overdue": "integer",
    }[sort]


def with_township(query: ProblemQuery, code: str | None) -> ProblemQuery:
    """``query`` narrowed to one township (or unchanged for None)."""
    return replace(query, township_codes=(code,)) if code else query


LEDGER_MAP_LIMIT = 500  # the most points the ledger list's small map draws


def ledger_map(
    session: Session, *, today: date, query: ProblemQuery, limit: int = LEDGER_MAP_LIMIT
) -> dict[str, Any]:
    """The problems of ``query`` as points for a small map, with the counts the map notes.

    The same WHERE as :func:`list_problems` (so ``matched`` is the list's count); points are a
    representative point of each located problem, the first ``limit`` in the list's order, each
    with its warning and the warning's colours from :mod:`gis.palette`. ``located`` counts the
    matches with a geometry, ``shown`` the points drawn.
    """
    if query.sort not in SORTS:
        raise ValueError(f"sort must be one of: {', '.join(SORTS)}")
    clause, params = query.where("p")
    source, source_params = query.source()
    params = {"today": today, **params, **source_params}
    matched, located = session.execute(
        text(f"SELECT count(*), count(p.geom) FROM {source} WHERE {clause}"), params
    ).one()
    raw_key = SORTS[query.sort]
    order = "DESC" if query.descending else "ASC"
    rows = session.execute(
        text(
            f"""
            SELECT p.code, p.status, {warning_sql("p")} AS warning,
                   ST_X(ST_PointOnSurface(p.geom)) AS lon, ST_Y(ST_PointOnSurface(p.geom)) AS lat
            FROM {source}
            WHERE p.geom IS NOT NULL AND {clause}
            ORDER BY ({raw_key}) IS NULL {order}, ({raw_key}) {order}, p.id {order}
            LIMIT :limit
            """
        ),
        {**params, "limit": limit},
    ).mappings()
    features = []
    for r in rows:
        warning = vocab.Warning(r["warning"])
        status = vocab.Status(r["status"])
        fill, stroke = palette.problem_marker(warning.value)
        features.append({
            "type": "Feature",
            "id": r["code"],
            "geometry": {
                "type": "Point",
                "coordinates": [round(float(r["lon"]), 6), round(float(r["lat"]), 6)],
            },
            "properties": {
                "code": r["code"], "warning": warning.value, "fill": fill, "stroke": stroke,
                "fill_opacity": 0.9,
                "label_zh": f"{r['code']} · {status.zh}"
                + (f" · {warning.zh}" if warning is not vocab.Warning.NONE else ""),
                "label_en": f"{r['code']} · {status.en}"
                + (f" · {warning.en} warning" if warning is not vocab.Warning.NONE else ""),
            },
        })
    return {
        "type": "FeatureCollection",
        "features": features,
        "matched": int(matched),
        "located": int(located),
        "shown": len(features),
    }
