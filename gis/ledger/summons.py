"""Summons and accountability held (约谈、问责): the one reading of the records held in a span,
and their counts per township and per unit.

The assessment (``gis.campaigns.assessment``), the records' list and the half-monthly bulletin
(``gis.reports.bulletin``) all count with :func:`held_records` and :func:`held_counts`, so a
township's summons in a span is the same number on every surface. A record counts on the day it
was held (``held_on``), within ``start``..``end`` inclusive; the records themselves are written
by ``gis.campaigns.accountability``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access.scope import Scope, scope_sql

KIND_LABELS = {"summons": "约谈", "accountability": "问责"}
KINDS = tuple(KIND_LABELS)


def record_dict(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": r.kind,
        "kind_zh": KIND_LABELS[r.kind],
        "held_on": r.held_on.isoformat(),
        "person": r.person,
        "unit": r.unit,
        "township_code": r.township_code,
        "township": getattr(r, "township", None),
        "reason": r.reason,
        "outcome": r.outcome,
        "problem_codes": list(r.problem_codes),
        "notice_numbers": list(r.notice_numbers),
    }


def held_records(
    session: Session,
    *,
    scope: Scope,
    township: str | None = None,
    unit: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    """The records held in ``start``..``end`` (either open), newest first, within ``scope``."""
    params: dict[str, Any] = {}
    where = [scope_sql("a.township_code", scope, params)]
    if township:
        where.append("a.township_code = :township")
        params["township"] = township
    if unit:
        where.append("a.unit = :unit")
        params["unit"] = unit
    if start:
        where.append("a.held_on >= :start")
        params["start"] = start
    if end:
        where.append("a.held_on <= :end")
        params["end"] = end
    rows = session.execute(
        text(
            "SELECT a.*, t.name AS township FROM accountability_records a"
            " LEFT JOIN townships t ON t.code = a.township_code"
            f" WHERE {' AND '.join(where)} ORDER BY a.held_on DESC, a.id DESC"
        ),
        params,
    ).all()
    return [record_dict(r) for r in rows]


def held_counts(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Summons and accountability among ``items`` per ``key`` (``township_code`` or ``unit``;
    an empty key for records without one), most first; township groups carry their name."""
    out: dict[str, dict[str, Any]] = {}
    for i in items:
        k = i[key] or ""
        g = out.setdefault(k, {key: k, "summons": 0, "accountability": 0})
        if key == "township_code":
            g["township"] = i["township"] or ""
        g[i["kind"]] += 1
    return sorted(out.values(), key=lambda g: (-(g["summons"] + g["accountability"]), g[key]))
