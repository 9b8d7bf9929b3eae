"""What the workbench pages read that no other module answers: names, one problem's record,
its evidence and pending closure, suspected rebounds to decide, an inspector's recent visits.

Counts are not computed here: the pages take them from :mod:`gis.ledger.scorecard` and
:mod:`gis.ledger.query`, like the wall and the reports.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access.scope import scope_sql
from gis.ledger.complaints import feedback_colour
from gis.ledger.query import problem_properties_sql
from gis.ledger.workdays import add_workdays, load_calendar


def township_names(session: Session) -> dict[str, str]:
    """Every township's name by code, in code order."""
    rows = session.execute(text("SELECT code, name FROM townships ORDER BY code"))
    return {str(code): str(name) for code, name in rows}


def problem_township(session: Session, code: str) -> tuple[bool, str | None]:
    """Whether the problem exists, and its township."""
    row = session.execute(
        text("SELECT township_code FROM problems WHERE code = :c"), {"c": code}
    ).first()
    return (row is not None, row[0] if row else None)


def problem_record(session: Session, code: str, *, today: date) -> dict[str, Any] | None:
    """A problem's ledger fields, derived values and the fields lists leave out, or None."""
    row = session.execute(
        text(
            f"SELECT {problem_properties_sql('p')} AS props, p.supervising_leader, p.progress,"
            " p.reported_at, p.assigned_at, p.notice_ends_on, p.township_override_reason,"
            " ST_GeometryType(p.geom) AS geometry_type,"
            " ST_X(ST_PointOnSurface(p.geom)) AS lon, ST_Y(ST_PointOnSurface(p.geom)) AS lat"
            " FROM problems p LEFT JOIN townships t ON t.code = p.township_code"
            " WHERE p.code = :c"
        ),
        {"c": code, "today": today},
    ).first()
    if row is None:
        return None
    record = dict(row.props)
    for name in (
        "supervising_leader",
        "progress",
        "reported_at",
        "assigned_at",
        "notice_ends_on",
        "township_override_reason",
        "geometry_type",
        "lon",
        "lat",
    ):
        record[name] = getattr(row, name)
    return record


def problem_evidence(session: Session, code: str) -> dict[str, list[dict[str, Any]]]:
    """Attachments and inspections of a problem that a closure application can cite."""
    attachments = session.execute(
        text(
            "SELECT a.id, a.filename, a.media_type, a.size_bytes, a.uploaded_by, a.created_at,"
            " a.kind, a.note"
            " FROM attachments a JOIN problems p ON p.id = a.problem_id"
            " WHERE p.code = :c ORDER BY a.id"
        ),
        {"c": code},
    ).mappings()
    inspections = session.execute(
        text(
            "SELECT i.id, i.inspector, i.finding, i.note, i.observed_at, i.accuracy_m"
            " FROM inspections i JOIN problems p ON p.id = i.problem_id"
            " WHERE p.code = :c ORDER BY i.observed_at DESC, i.id DESC"
        ),
        {"c": code},
    ).mappings()
    return {
        "attachments": [dict(r) for r in attachments],
        "inspections": [dict(r) for r in inspections],
    }


def pending_closure(session: Session, code: str) -> dict[str, Any] | None:
    """The closure application in progress (pending or in public notice), or None."""
    row = (
        session.execute(
            text(
                "SELECT c.applied_at, c.applied_by, c.evidence, c.checked_at, c.checked_by,"
                " c.check_passed, c.check_note, c.outcome, c.notice_ends_on"
                " FROM closures c JOIN problems p ON p.id = c.problem_id"
                " WHERE p.code = :c AND c.outcome IN ('pending', 'in_notice')"
            ),
            {"c": code},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def suspects_to_decide(
    session: Session, *, scope: tuple[str, ...] | None, limit: int = 20
) -> list[dict[str, Any]]:
    """Open suspected rebounds with their problem, newest first, within ``scope``."""
    where = "s.status = 'open'"
    params: dict[str, Any] = {"limit": limit}
    if scope is not None:
        where += " AND p.township_code = ANY(:scope)"
        params["scope"] = list(scope)
    rows = session.execute(
        text(
            "SELECT s.id, p.code AS problem_code, p.category, t.name AS township_name,"
            " s.distance_m, s.days_since_closed, s.created_at,"
            " CASE WHEN s.complaint_id IS NOT NULL THEN 'complaint' ELSE 'inspection' END"
            " AS trigger"
            " FROM suspected_rebounds s JOIN problems p ON p.id = s.problem_id"
            " LEFT JOIN townships t ON t.code = p.township_code"
            f" WHERE {where} ORDER BY s.created_at DESC, s.id DESC LIMIT :limit"
        ),
        params,
    ).mappings()
    return [dict(r) for r in rows]


def recent_inspections(
    session: Session, *, inspector: str, limit: int = 20
) -> list[dict[str, Any]]:
    """An inspector's latest inspections, newest first, with the problem each checked."""
    rows = session.execute(
        text(
            "SELECT i.id, i.finding, i.note, i.observed_at, i.accuracy_m, p.code AS problem_code,"
            " t.name AS township_name FROM inspections i"
            " LEFT JOIN problems p ON p.id = i.problem_id"
            " LEFT JOIN townships t ON t.code = i.township_code"
            " WHERE i.inspector = :who ORDER BY i.observed_at DESC, i.id DESC LIMIT :limit"
        ),
        {"who": inspector, "limit": limit},
    ).mappings()
    return [dict(r) for r in rows]


def complaints_to_answer(
    session: Session, *, today: date, scope: tuple[str, ...] | None, limit: int = 10
) -> dict[str, Any]:
    """Complaints still without feedback whose deadline is near or past, within ``scope``.

    "Near" is what the complaints page colours yellow or warmer
    (:func:`gis.ledger.complaints.feedback_colour`: red past the deadline, orange due today or
    the next working day, yellow within three working days). Most urgent first; ``rows`` holds
    at most ``limit`` of them, ``total`` counts them all.
    """
    calendar = load_calendar(session)
    # Unanswered and due by the third working day from today: exactly the red, orange and
    # yellow ones (past it red; otherwise at most three working days left).
    params: dict[str, Any] = {"horizon": add_workdays(today, 3, calendar), "limit": limit}
    where = "c.feedback_at IS NULL AND c.feedback_due <= :horizon AND " + scope_sql(
        "c.township_code", scope, params
    )
    total = session.execute(text(f"SELECT count(*) FROM complaints c WHERE {where}"), params)
    rows = session.execute(
        text(
            "SELECT c.code, c.channel, c.kind, c.received_at, c.feedback_due, c.feedback_at,"
            " t.name AS township_name FROM complaints c"
            " LEFT JOIN townships t ON t.code = c.township_code"
            f" WHERE {where} ORDER BY c.feedback_due, c.received_at, c.id LIMIT :limit"
        ),
        params,
    ).mappings()
    items = []
    for row in rows:
        item = dict(row)
        item["colour"], item["workdays_left"] = feedback_colour(
            item["feedback_due"], None, today, calendar
        )
        items.append(item)
    return {"rows": items, "total": int(total.scalar_one())}
