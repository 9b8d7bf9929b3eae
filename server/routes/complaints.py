"""Complaints (信访件): receipt, feedback, links to problems, conversion into a problem."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import text

from gis.geo.sql import as_geojson_sql
from gis.ledger import complaints as complaint_rules
from gis.ledger.deadlines import complaint_overdue_sql
from gis.ledger.writes import NotFound
from server.deps import SessionDep, TodayDep, committing
from server.schemas import (
    ComplaintCreate,
    ComplaintLink,
    ComplaintToProblem,
)
from server.security import Reader, forbid_out_of_scope, principal_dep

router = APIRouter(prefix="/api")
ComplaintWriter = principal_dep("complaint:write")


def _complaint(session, code: str, today: date) -> dict:  # type: ignore[no-untyped-def]
    row = (
        session.execute(
            text(
                "SELECT c.code, c.channel, c.kind, c.category, c.text, c.received_at,"
                " c.feedback_due,"
                f" c.feedback_at, c.township_code, p.code AS problem_code,"
                f" {complaint_overdue_sql('c')} AS overdue, {as_geojson_sql('c.geom')} AS geometry"
                " FROM complaints c LEFT JOIN problems p ON p.id = c.problem_id"
                " WHERE c.code = :code"
            ),
            {"code": code, "today": today},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no complaint with code {code!r}")
    return dict(row)


@router.post(
    "/complaints",
    status_code=201,
    tags=["complaints"],
    summary="Register a complaint; flags suspected rebounds nearby",
)
def complaints_create(
    _: ComplaintWriter, body: ComplaintCreate, session: SessionDep, today: TodayDep
) -> dict:
    data = complaint_rules.ComplaintInput(**body.model_dump(mode="python"))
    with committing(session):
        complaint, suspects = complaint_rules.create_complaint(session, data)
        code = complaint.code
    return {**_complaint(session, code, today), "suspected_rebounds": suspects}


@router.get("/complaints", tags=["complaints"], summary="List complaints")
def complaints_list(
    principal: Reader,
    session: SessionDep,
    today: TodayDep,
    township: Annotated[list[str] | None, Query()] = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    clauses, params = ["TRUE"], {"today": today, "limit": limit, "offset": offset}
    if township:
        clauses.append("c.township_code = ANY(:townships)")
        params["townships"] = township
    if principal.townships is not None:
        clauses.append("c.township_code = ANY(:scope)")
        params["scope"] = list(principal.townships)
    if overdue is not None:
        clauses.append(f"{complaint_overdue_sql('c')} = :overdue")
        params["overdue"] = overdue
    where = " AND ".join(clauses)
    total = session.execute(text(f"SELECT count(*) FROM complaints c WHERE {where}"), params)
    codes = (
        session.execute(
            text(
                f"SELECT c.code FROM complaints c WHERE {where}"
                " ORDER BY c.received_at DESC, c.id DESC"
                " LIMIT :limit OFFSET :offset"
            ),
            params,
        )
        .scalars()
        .all()
    )
    return {
        "items": [_complaint(session, c, today) for c in codes],
        "number_matched": total.scalar_one(),
    }


@router.get("/complaints/{code}", tags=["complaints"], summary="One complaint")
def complaints_read(principal: Reader, code: str, session: SessionDep, today: TodayDep) -> dict:
    found = _complaint(session, code, today) if principal.townships is None else None
    if found is None:
        town = session.execute(
            text("SELECT township_code FROM complaints WHERE code = :c"), {"c": code}
        ).scalar()
        forbid_out_of_scope(principal, town)
        found = _complaint(session, code, today)
    return found


@router.post(
    "/complaints/{code}/feedback",
    tags=["complaints"],
    summary="Record that the complainant got feedback",
)
def complaints_feedback(
    _: ComplaintWriter, code: str, session: SessionDep, today: TodayDep
) -> dict:
    with committing(session):
        complaint_rules.record_feedback(session, code)
    return _complaint(session, code, today)


@router.post(
    "/complaints/{code}/link",
    tags=["complaints"],
    summary="Link a complaint to an existing problem",
)
def complaints_link(
    code: str, body: ComplaintLink, session: SessionDep, principal: ComplaintWriter, today: TodayDep
) -> dict:
    with committing(session):
        complaint_rules.link_to_problem(session, code, body.problem_code, actor=principal.name)
    return _complaint(session, code, today)


@router.post(
    "/complaints/{code}/problem",
    status_code=201,
    tags=["complaints"],
    summary="Turn a complaint into a new ledger problem",
)
def complaints_to_problem(
    code: str,
    body: ComplaintToProblem,
    session: SessionDep,
    principal: ComplaintWriter,
    today: TodayDep,
) -> dict:
    with committing(session):
        problem = complaint_rules.convert_to_problem(
            session, code, actor=principal.name, **body.model_dump(mode="python")
        )
        problem_code = problem.code
    return {**_complaint(session, code, today), "problem_code": problem_code}
