"""Single ledger records by their key, and the township each lies in (for scope checks).

Routes ask here instead of writing SQL: "which township is this problem / complaint / look-back
task / milestone in", one problem with its derived fields, one complaint's case file, a round's
tasks, the township list. ``None`` answers mean "no such record".
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access.scope import Scope, in_scope, scope_sql
from gis.geo.sql import as_geojson_sql
from gis.ledger.deadlines import complaint_overdue_sql
from gis.ledger.query import problem_properties_sql
from gis.ledger.workdays import OfficialCalendar, is_provisional, load_calendar
from gis.ledger.writes import NotFound


def problem_township(session: Session, code: str) -> str | None:
    """The township of problem ``code`` (``None``: no such problem, or none assigned)."""
    return session.execute(
        text("SELECT township_code FROM problems WHERE code = :c"), {"c": code}
    ).scalar()


def problem_record(session: Session, code: str, today: date) -> dict:
    """One problem's ledger fields, derived fields and geometry; :class:`NotFound` if none."""
    row = session.execute(
        text(
            f"SELECT {problem_properties_sql('p')} AS props, {as_geojson_sql('p.geom')} AS geometry"
            " FROM problems p LEFT JOIN townships t ON t.code = p.township_code WHERE p.code = :c"
        ),
        {"c": code, "today": today},
    ).first()
    if row is None:
        raise NotFound(f"no problem with code {code!r}")
    return {**row.props, "geometry": row.geometry}


def milestone_problem_code(session: Session, milestone_id: int) -> str | None:
    """The code of the problem milestone ``milestone_id`` belongs to."""
    return session.execute(
        text(
            "SELECT p.code FROM milestones m JOIN problems p ON p.id = m.problem_id"
            " WHERE m.id = :m"
        ),
        {"m": milestone_id},
    ).scalar()


def complaint_township(session: Session, code: str) -> str | None:
    """The township of complaint ``code``."""
    return session.execute(
        text("SELECT township_code FROM complaints WHERE code = :c"), {"c": code}
    ).scalar()


_COMPLAINT = (
    "SELECT c.code, c.channel, c.kind, c.category, c.text, c.received_at, c.feedback_due,"
    " c.feedback_at, c.township_code, p.code AS problem_code,"
    f" {complaint_overdue_sql('c')} AS overdue, {as_geojson_sql('c.geom')} AS geometry"
    " FROM complaints c LEFT JOIN problems p ON p.id = c.problem_id"
)


def complaint_record(session: Session, code: str, today: date) -> dict:
    """One complaint with its feedback-overdue flag; :class:`NotFound` if none."""
    row = (
        session.execute(text(f"{_COMPLAINT} WHERE c.code = :code"), {"code": code, "today": today})
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no complaint with code {code!r}")
    return _mark_provisional([dict(row)], load_calendar(session))[0]


def _mark_provisional(items: list[dict], calendar: OfficialCalendar) -> list[dict]:
    """Say of each feedback deadline whether it rests on a year not yet loaded (provisional)."""
    for item in items:
        item["feedback_due_provisional"] = is_provisional(item["feedback_due"], calendar)
    return items


def list_complaints(
    session: Session,
    *,
    today: date,
    scope: Scope,
    townships: list[str] | None = None,
    overdue: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict], int]:
    """Complaints newest first within ``scope`` (and the filters), and how many match."""
    params: dict = {"today": today, "limit": limit, "offset": offset}
    clauses = [scope_sql("c.township_code", scope, params)]
    if townships:
        clauses.append("c.township_code = ANY(:townships)")
        params["townships"] = townships
    if overdue is not None:
        clauses.append(f"{complaint_overdue_sql('c')} = :overdue")
        params["overdue"] = overdue
    where = " AND ".join(clauses)
    total = session.execute(text(f"SELECT count(*) FROM complaints c WHERE {where}"), params)
    rows = session.execute(
        text(
            f"{_COMPLAINT} WHERE {where} ORDER BY c.received_at DESC, c.id DESC"
            " LIMIT :limit OFFSET :offset"
        ),
        params,
    ).mappings()
    items = _mark_provisional([dict(r) for r in rows], load_calendar(session))
    return items, total.scalar_one()


def lookback_task_township(session: Session, task_id: int) -> str | None:
    """The township of the problem a look-back task re-inspects."""
    return session.execute(
        text(
            "SELECT p.township_code FROM lookback_tasks k JOIN problems p ON p.id = k.problem_id"
            " WHERE k.id = :k"
        ),
        {"k": task_id},
    ).scalar()


def round_tasks(session: Session, round_id: int, scope: Scope) -> list[dict]:
    """The tasks of a look-back round within ``scope``, in order."""
    rows = session.execute(
        text(
            "SELECT k.id, p.code AS problem_code, p.township_code, k.result, k.done_at, k.note"
            " FROM lookback_tasks k JOIN problems p ON p.id = k.problem_id"
            " WHERE k.round_id = :r ORDER BY k.id"
        ),
        {"r": round_id},
    ).mappings()
    return [dict(t) for t in rows if in_scope(scope, t["township_code"])]


def lookback_task_result(session: Session, task_id: int) -> str | None:
    """The recorded result of a look-back task."""
    return session.execute(
        text("SELECT result FROM lookback_tasks WHERE id = :k"), {"k": task_id}
    ).scalar()


def list_townships(session: Session) -> list[dict]:
    """Every township's code and name, by code."""
    rows = session.execute(text("SELECT code, name FROM townships ORDER BY code")).mappings()
    return [dict(r) for r in rows]


def township_name(session: Session, code: str) -> str:
    """The name of township ``code``; :class:`NotFound` if none."""
    name = session.execute(text("SELECT name FROM townships WHERE code = :c"), {"c": code}).scalar()
    if name is None:
        raise NotFound(f"no township with code {code}")
    return name


def list_sites(session: Session, *, kind: str | None, scope: Scope) -> list[dict]:
    """Sites (id, kind, name, zone level, township) within ``scope``, by id."""
    params: dict = {"kind": kind}
    where = scope_sql("township_code", scope, params)
    rows = session.execute(
        text(
            "SELECT id, kind, name, zone_level, township_code FROM sites"
            f" WHERE (CAST(:kind AS text) IS NULL OR kind = :kind) AND {where} ORDER BY id"
        ),
        params,
    ).mappings()
    return [dict(r) for r in rows]
