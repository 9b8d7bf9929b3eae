"""Collections: the ledger's layers with their properties and the SQL of each, derived fields
computed once per row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gis import vocab
from gis.ledger.deadlines import due_date_sql, overdue_sql, rebounded_sql, warning_sql
from gis.ogc.features.crs import (
    ALIAS,
    PropertyType,
)


@dataclass(frozen=True)
class Property:
    """A published property: its name, SQL expression (alias ``x``) and type."""

    name: str
    sql: str
    type: PropertyType = "string"
    description: str = ""
    filterable: bool = False
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    # the same value over the collection's ``joins`` (used in pages, not in filters and counts)
    select_sql: str | None = None


@dataclass(frozen=True)
class Collection:
    """A published table: identifiers, properties, temporal column and geometry type."""

    id: str
    title: str
    description: str
    table: str
    id_sql: str
    id_type: Literal["string", "integer"]
    order_by: str
    geometry_type: str
    properties: tuple[Property, ...]
    temporal: str | None = None  # property whose values are the features' time (datetime filter)
    keywords: tuple[str, ...] = ()
    # joins of the page query that the properties' ``select_sql`` read (computed once per row)
    joins: str = ""

    @property
    def key_type(self) -> Literal["string", "integer"]:
        """The type of the paging key (``order_by``, a unique column)."""
        return "string" if self.order_by == f"{ALIAS}.code" else "integer"

    def property_named(self, name: str) -> Property | None:
        """The property called ``name``, or None."""
        return next((p for p in self.properties if p.name == name), None)

    @property
    def filters(self) -> tuple[Property, ...]:
        """Properties that can be used as query parameters (``?status=closed``)."""
        return tuple(p for p in self.properties if p.filterable)

    @property
    def temporal_sql(self) -> str | None:
        """SQL expression of the temporal property, or None when the collection has no time."""
        prop = self.property_named(self.temporal) if self.temporal else None
        return prop.sql if prop else None


def _col(name: str, type_: PropertyType = "string", description: str = "", **kw: Any) -> Property:
    return Property(name, f"{ALIAS}.{name}", type_, description, **kw)


def _enum(name: str, enum: type[vocab.Labelled], description: str) -> Property:
    return Property(
        name,
        f"{ALIAS}.{name}",
        "string",
        description,
        filterable=True,
        enum=tuple(vocab.values(enum)),
    )


TOWNSHIP_CODE = _col(
    "township_code",
    description="12-digit township code (属地)",
    filterable=True,
    pattern=r"^\d{12}$",
)

# The effective due date once per row in a lateral join, instead of once per use in the derived
# properties (``overdue`` reads it once, ``warning`` five times). The rule stays in
# gis.ledger.deadlines: its SQL is reused with the due date replaced by the joined column.
_DUE = due_date_sql(ALIAS)
_DUE_JOIN = f"LEFT JOIN LATERAL (SELECT {_DUE} AS due_date) {ALIAS}_due ON true"


def _over_due(sql: str) -> str:
    """``sql`` reading the lateral join's due date instead of computing it again."""
    return sql.replace(_DUE, f"{ALIAS}_due.due_date")


PROBLEMS = Collection(
    id="problems",
    title="整改问题 Rectification problems",
    description=(
        "The rectification ledger (整改台账): one feature per problem, with derived overdue flag "
        "and four-colour warning as of the server's date."
    ),
    table="problems",
    id_sql=f"{ALIAS}.code",
    id_type="string",
    order_by=f"{ALIAS}.id",
    geometry_type="Geometry",
    temporal="reported_at",
    keywords=("环保督察", "整改", "台账"),
    properties=(
        _col("code", description="problem code (问题编号)", filterable=True),
        _enum("source", vocab.Source, "which inspection raised it"),
        _enum("category", vocab.Category, "problem category"),
        TOWNSHIP_CODE,
        _col("description", description="what is wrong"),
        _col("responsible_unit", description="responsible unit (责任单位)", filterable=True),
        _col("responsible_person", description="responsible person (责任人)"),
        _col("target", description="rectification target (整改目标)"),
        _col("measures", description="rectification measures (整改措施)"),
        _enum("deadline_kind", vocab.DeadlineKind, "immediate, dated or long-term"),
        _col("deadline", "date", "deadline (整改时限)"),
        _enum("status", vocab.Status, "where the problem is in its life cycle"),
        Property(
            "overdue",
            overdue_sql(ALIAS),
            "boolean",
            "not closed and past its due date",
            filterable=True,
            select_sql=_over_due(overdue_sql(ALIAS)),
        ),
        Property(
            "rebounded",
            rebounded_sql(ALIAS),
            "boolean",
            "rebounded (反弹) and not closed again",
            filterable=True,
        ),
        Property(
            "warning",
            warning_sql(ALIAS),
            "string",
            "four-colour warning (四色预警)",
            filterable=True,
            enum=tuple(vocab.values(vocab.Warning)),
            select_sql=_over_due(warning_sql(ALIAS)),
        ),
        _col("reported_at", "date-time", "when the problem was recorded"),
        _col("closed_at", "date-time", "when it was closed (销号), if it was"),
    ),
    joins=_DUE_JOIN,
)

TOWNSHIPS = Collection(
    id="townships",
    title="乡镇（街道） Townships",
    description="Township, street-office and development-zone boundaries with 12-digit codes.",
    table="townships",
    id_sql=f"{ALIAS}.code",
    id_type="string",
    order_by=f"{ALIAS}.code",
    geometry_type="MultiPolygon",
    keywords=("行政区划", "乡镇"),
    properties=(
        _col(
            "code",
            description="12-digit statistical division code",
            filterable=True,
            pattern=r"^\d{12}$",
        ),
        _col("name", description="name", filterable=True),
    ),
)

SITES = Collection(
    id="sites",
    title="点位 Sites",
    description=(
        "Places the ledger refers to: sewage plants and networks, sand-gravel sites, water "
        "sources and their protection zones, dust sources, landfills, outfalls, air stations…"
    ),
    table="sites",
    id_sql=f"{ALIAS}.id",
    id_type="integer",
    order_by=f"{ALIAS}.id",
    geometry_type="Geometry",
    properties=(
        _enum("kind", vocab.SiteKind, "kind of site"),
        _col("name", description="name", filterable=True),
        _enum("zone_level", vocab.ZoneLevel, "protection-zone level (zones only)"),
        _col("parent_id", "integer", "the site this one belongs to", filterable=True),
        TOWNSHIP_CODE,
        Property("attributes", f"{ALIAS}.properties", "object", "further attributes"),
    ),
)

INSPECTIONS = Collection(
    id="inspections",
    title="巡查点 Inspections",
    description="GPS points logged by inspectors, optionally against a problem.",
    table="inspections",
    id_sql=f"{ALIAS}.id",
    id_type="integer",
    order_by=f"{ALIAS}.id",
    geometry_type="Point",
    temporal="observed_at",
    properties=(
        _col("uuid", description="client-side identifier"),
        _col("problem_id", "integer", "problem inspected", filterable=True),
        _col("inspector", description="who logged it", filterable=True),
        _enum("finding", vocab.Finding, "what was found"),
        _enum("category", vocab.Category, "problem category, if any"),
        _col("note", description="note"),
        _col("accuracy_m", "number", "GPS accuracy in metres"),
        _col("observed_at", "date-time", "when it was observed"),
        _col("received_at", "date-time", "when the server received it"),
        TOWNSHIP_CODE,
    ),
)

COMPLAINTS = Collection(
    id="complaints",
    title="信访件 Complaints",
    description="Public complaints with their feedback deadline.",
    table="complaints",
    id_sql=f"{ALIAS}.id",
    id_type="integer",
    order_by=f"{ALIAS}.id",
    geometry_type="Point",
    temporal="received_at",
    properties=(
        _col("code", description="complaint code", filterable=True),
        _enum("channel", vocab.ComplaintChannel, "how it came in"),
        _enum("kind", vocab.ComplaintKind, "environmental medium"),
        _enum("category", vocab.Category, "problem category, if any"),
        _col("text", description="what the complainant said"),
        _col("received_at", "date-time", "when it was received"),
        _col("feedback_due", "date", "feedback deadline"),
        _col("feedback_at", "date-time", "when feedback was given"),
        _col("problem_id", "integer", "problem it became, if any", filterable=True),
        TOWNSHIP_CODE,
    ),
)

COLLECTIONS: dict[str, Collection] = {
    c.id: c for c in (PROBLEMS, TOWNSHIPS, SITES, INSPECTIONS, COMPLAINTS)
}
