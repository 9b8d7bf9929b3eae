"""Reading the ledger: problems with their derived overdue flag, warning colour and map class.

GeoJSON is built inside PostGIS (``ST_AsGeoJSON``), not row by row in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import vocab
from gis.deadlines import days_overdue_sql, due_date_sql, overdue_sql, warning_sql
from gis.sqlgeo import as_geojson_sql

# The map's four classes, in drawing order (later ones on top).
MAP_CLASSES = ("closed", "open", "overdue", "rebounded")
MAP_CLASS_LABELS = {
    "closed": ("已销号", "Closed"),
    "open": ("整改中（未逾期）", "Open, on time"),
    "overdue": ("逾期", "Overdue"),
    "rebounded": ("反弹", "Rebounded"),
}


def map_class_sql(alias: str = "p", today: str = ":today") -> str:
    """SQL text: rebounded, overdue, closed or open, the classes a map colours by."""
    return (
        f"(CASE WHEN {alias}.status = 'rebounded' THEN 'rebounded' "
        f"WHEN {alias}.status = 'closed' THEN 'closed' "
        f"WHEN {overdue_sql(alias, today)} THEN 'overdue' ELSE 'open' END)"
    )


@dataclass(frozen=True)
class ProblemFilter:
    """Which problems a list or layer shows."""

    township_code: str | None = None
    statuses: tuple[str, ...] | None = None
    category: str | None = None
    map_class: str | None = None

    def where(self, alias: str = "p") -> tuple[str, dict[str, Any]]:
        """SQL WHERE clause and parameters, shared by counts, pages and layers."""
        clauses, params = ["TRUE"], {}
        if self.township_code:
            clauses.append(f"{alias}.township_code = :township_code")
            params["township_code"] = self.township_code
        if self.statuses:
            clauses.append(f"{alias}.status = ANY(:statuses)")
            params["statuses"] = list(self.statuses)
        if self.category:
            clauses.append(f"{alias}.category = :category")
            params["category"] = self.category
        if self.map_class:
            clauses.append(f"{map_class_sql(alias)} = :map_class")
            params["map_class"] = self.map_class
        return " AND ".join(clauses), params


def _label_case(column: str, enum: type[vocab.Labelled]) -> str:
    whens = " ".join(
        f"WHEN '{m.value}' THEN '{m.zh}'"
        for m in enum  # type: ignore[attr-defined]
    )
    return f"(CASE {column} {whens} ELSE {column} END)"


def problems_feature_collection(
    session: Session, *, today: date, where: ProblemFilter | None = None
) -> dict:
    """Problems with geometry as a GeoJSON FeatureCollection, with ledger fields and labels."""
    clause, params = (where or ProblemFilter()).where("p")
    sql = f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features',
            COALESCE(json_agg(json_build_object(
                'type', 'Feature',
                'id', p.code,
                'geometry', {as_geojson_sql("p.geom")},
                'properties', json_build_object(
                    'code', p.code,
                    'source', p.source,
                    'category', p.category,
                    'category_label', {_label_case("p.category", vocab.Category)},
                    'status', p.status,
                    'status_label', {_label_case("p.status", vocab.Status)},
                    'township_code', p.township_code,
                    'township_name', t.name,
                    'description', p.description,
                    'responsible_unit', p.responsible_unit,
                    'responsible_person', p.responsible_person,
                    'deadline_kind', p.deadline_kind,
                    'deadline', p.deadline,
                    'due_date', {due_date_sql("p")},
                    'days_overdue', GREATEST({days_overdue_sql("p")}, 0),
                    'overdue', {overdue_sql("p")},
                    'warning', {warning_sql("p")},
                    'map_class', {map_class_sql("p")}
                )
            ) ORDER BY p.id), '[]'::json))
        FROM problems p LEFT JOIN townships t ON t.code = p.township_code
        WHERE p.geom IS NOT NULL AND {clause}
    """
    return session.execute(text(sql), {"today": today, **params}).scalar_one()


def map_class_counts(session: Session, *, today: date, where: ProblemFilter | None = None) -> dict:
    """How many problems fall in each map class."""
    clause, params = (where or ProblemFilter()).where("p")
    rows = session.execute(
        text(
            f"SELECT {map_class_sql('p')} AS c, count(*) FROM problems p WHERE {clause} GROUP BY 1"
        ),
        {"today": today, **params},
    ).all()
    counts = dict.fromkeys(MAP_CLASSES, 0)
    counts.update({c: int(n) for c, n in rows})
    return counts
