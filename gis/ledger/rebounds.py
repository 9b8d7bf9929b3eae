"""Suspected rebounds (疑似反弹): a new complaint or finding near a recently closed problem.

A complaint or an inspection finding of the same category within ``R`` metres (on the spheroid)
of a problem closed at most ``D`` days before it is flagged for the office, which confirms it
(the problem becomes ``rebounded``) or dismisses it with a reason.

A complaint about a closed problem itself, or an inspector's "rebound" or "persists" finding
recorded on it, reaches that problem whatever its distance, category or age: the inspector
stood at the problem and says it is back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.access.scope import scope_filter, scope_sql
from gis.config import get_settings
from gis.db.models import Problem, SuspectedRebound
from gis.ledger.writes import LedgerError, NotFound, transition

_MATCH = """
    INSERT INTO suspected_rebounds (problem_id, {fk}, distance_m, days_since_closed)
    SELECT p.id, x.id,
           ST_Distance(p.geom::geography, x.geom::geography),
           (x.{time_col} AT TIME ZONE :tz)::date - (p.closed_at AT TIME ZONE :tz)::date
    FROM {table} x
    JOIN problems p
      ON p.status = 'closed' AND p.geom IS NOT NULL
     AND (
          (x.problem_id = p.id {own})
       OR (p.category = x.category
           AND ST_DWithin(p.geom::geography, x.geom::geography, :radius)
           AND (x.{time_col} AT TIME ZONE :tz)::date - (p.closed_at AT TIME ZONE :tz)::date
               BETWEEN 0 AND :window
           {near})
     )
    WHERE {row} AND x.geom IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING id, {fk} AS trigger_id
"""


def _flag(
    session: Session, table: str, fk: str, time_col: str, row_id: int, own: str = "",
    near: str = "",
) -> list[int]:
    settings = get_settings()
    sql = _MATCH.format(
        table=table, fk=fk, time_col=time_col, own=own, near=near, row="x.id = :id"
    )
    rows = session.execute(
        text(sql),
        {
            "id": row_id,
            "radius": settings.rebound_radius_m,
            "window": settings.rebound_window_days,
            "tz": settings.timezone,
        },
    )
    return [r[0] for r in rows]


def flag_for_complaint(session: Session, complaint_id: int) -> list[int]:
    """Flag closed problems near a new complaint; returns the new suspected-rebound ids."""
    return _flag(session, "complaints", "complaint_id", "received_at", complaint_id)


# On the problem itself: a finding that it is back. Near it: a new problem or rebound found by
# someone standing elsewhere (a check of another problem says nothing about this one).
_INSPECTION_OWN = "AND x.finding IN ('rebound', 'persists')"
_INSPECTION_NEAR = (
    "AND x.finding IN ('new_problem', 'rebound', 'persists') AND x.problem_id IS DISTINCT FROM p.id"
)


def flag_for_inspection(session: Session, inspection_id: int) -> list[int]:
    """Flag closed problems near a new-problem or rebound finding, and the closed problem an
    inspector found back ("rebound" or "persists" recorded on it)."""
    return _flag(
        session, "inspections", "inspection_id", "observed_at", inspection_id,
        own=_INSPECTION_OWN, near=_INSPECTION_NEAR,
    )


def inspection_flag_sql(source: str) -> tuple[str, dict]:
    """The rule of :func:`flag_for_inspection` as one ``INSERT … RETURNING`` over ``source``.

    ``source`` names a relation of new inspection rows (e.g. a data-modifying CTE's
    ``RETURNING *``), so the check can run inside the statement that stores them. Returns the
    SQL (returning ``id`` and ``trigger_id``, the inspection's id) and its parameters.
    """
    settings = get_settings()
    sql = _MATCH.format(
        table=source, fk="inspection_id", time_col="observed_at", own=_INSPECTION_OWN,
        near=_INSPECTION_NEAR, row="true",
    )
    params = {
        "radius": settings.rebound_radius_m,
        "window": settings.rebound_window_days,
        "tz": settings.timezone,
    }
    return sql, params


def _open_suspect(session: Session, suspect_id: int) -> SuspectedRebound:
    suspect = session.get(SuspectedRebound, suspect_id, with_for_update=True)
    if suspect is None:
        raise NotFound(f"no suspected rebound {suspect_id}")
    if suspect.status != "open":
        raise LedgerError(f"suspected rebound {suspect_id} is already {suspect.status}")
    return suspect


def confirm(
    session: Session,
    suspect_id: int,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
    deadline: date | None = None,
) -> SuspectedRebound:
    """Confirm a suspected rebound: the problem becomes ``rebounded``.

    ``deadline`` is the rebound's new deadline (default: the configured rebound window).
    """
    at = now or datetime.now(UTC)
    suspect = _open_suspect(session, suspect_id)
    problem = session.get(Problem, suspect.problem_id)
    assert problem is not None
    trigger = (
        f"complaint {suspect.complaint_id}"
        if suspect.complaint_id
        else f"inspection {suspect.inspection_id}"
    )
    transition(
        session,
        problem.code,
        "rebound",
        actor=actor,
        now=at,
        reason=reason or f"confirmed suspected rebound ({trigger})",
        deadline=deadline,
    )
    suspect.status, suspect.decided_by, suspect.decided_at = "confirmed", actor, at
    suspect.reason = reason
    return suspect


def dismiss(
    session: Session, suspect_id: int, *, actor: str, reason: str, now: datetime | None = None
) -> SuspectedRebound:
    """Dismiss a suspected rebound; a reason is required."""
    if not reason.strip():
        raise LedgerError("dismissing a suspected rebound needs a reason", field="reason")
    suspect = _open_suspect(session, suspect_id)
    suspect.status, suspect.decided_by = "dismissed", actor
    suspect.decided_at, suspect.reason = now or datetime.now(UTC), reason
    return suspect


def open_suspects(
    session: Session, township_codes: tuple[str, ...] | None = None
) -> list[SuspectedRebound]:
    """Suspected rebounds awaiting a decision, newest first."""
    stmt = (
        select(SuspectedRebound)
        .join(Problem, Problem.id == SuspectedRebound.problem_id)
        .where(SuspectedRebound.status == "open")
        .where(scope_filter(Problem.township_code, township_codes))
    )
    return list(session.scalars(stmt.order_by(SuspectedRebound.created_at.desc())))


_CARDS = """
    SELECT count(*) OVER () AS total, s.id, s.status, s.distance_m, s.days_since_closed,
           s.created_at,
           p.code AS problem_code, p.category, p.closed_at, p.description, p.township_code,
           t.name AS township_name,
           ST_X(ST_PointOnSurface(p.geom)) AS problem_lon,
           ST_Y(ST_PointOnSurface(p.geom)) AS problem_lat,
           CASE WHEN s.complaint_id IS NOT NULL THEN 'complaint' ELSE 'inspection' END AS trigger,
           c.code AS complaint_code, c.channel AS complaint_channel,
           c.received_at AS complaint_received_at, c.text AS complaint_text,
           i.id AS inspection_id, i.inspector, i.finding, i.observed_at, i.note AS inspection_note,
           ST_X(coalesce(c.geom, i.geom)) AS trigger_lon,
           ST_Y(coalesce(c.geom, i.geom)) AS trigger_lat
    FROM suspected_rebounds s
    JOIN problems p ON p.id = s.problem_id
    LEFT JOIN townships t ON t.code = p.township_code
    LEFT JOIN complaints c ON c.id = s.complaint_id
    LEFT JOIN inspections i ON i.id = s.inspection_id
"""


def suspect_cards(
    session: Session,
    scope: tuple[str, ...] | None,
    suspect_id: int | None = None,
    limit: int = 50,
) -> list[dict]:
    """Open suspected rebounds for the queue, newest first, within ``scope``: the closed problem
    and the new complaint or inspection, both points, their distance in whole metres and the
    days since closure; at most ``limit``, each saying how many match in ``total``. With
    ``suspect_id``: that one suspect (open or decided), if in scope.
    """
    params: dict = {}
    where = [scope_sql("p.township_code", scope, params)]
    if suspect_id is None:
        where.append("s.status = 'open'")
    else:
        where.append("s.id = :id")
        params["id"] = suspect_id
    rows = session.execute(
        text(
            f"{_CARDS} WHERE {' AND '.join(where)}"
            " ORDER BY s.created_at DESC, s.id DESC LIMIT :limit"
        ),
        {**params, "limit": limit},
    ).mappings()
    cards = []
    for row in rows:
        card = dict(row)
        card["distance_m"] = round(card["distance_m"])
        cards.append(card)
    return cards
