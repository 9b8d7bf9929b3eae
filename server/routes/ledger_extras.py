"""Complaints, look-back rounds, suspected rebounds, townships and the township scorecard."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select, text

from gis import complaints as complaint_rules
from gis import lookbacks, rebounds
from gis.deadlines import complaint_overdue_sql
from gis.ledger import NotFound
from gis.models import LookbackTask, Site, SuspectedRebound
from gis.problems import ProblemQuery
from gis.scorecard import township_scorecard
from gis.sqlgeo import as_geojson_sql
from server.deps import SessionDep, TodayDep, committing
from server.schemas import (
    ComplaintCreate,
    ComplaintLink,
    ComplaintToProblem,
    Decision,
    LookbackCreate,
    LookbackResult,
)
from server.security import Reader, forbid_out_of_scope, principal_dep

router = APIRouter(prefix="/api")
ComplaintWriter = principal_dep("complaint:write")
LookbackWriter = principal_dep("lookback:write")
LookbackResulter = principal_dep("lookback:result")
ReboundDecider = principal_dep("rebound:decide")


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


@router.post(
    "/lookbacks",
    status_code=201,
    tags=["look-backs"],
    summary="Create a look-back round (回头看) over closed problems",
)
def lookbacks_create(principal: LookbackWriter, body: LookbackCreate, session: SessionDep) -> dict:
    criteria = lookbacks.RoundCriteria(
        township_code=body.township_code,
        category=body.category.value if body.category else None,
        source=body.source.value if body.source else None,
        sample=body.sample,
        seed=body.seed,
    )
    with committing(session):
        rnd, n = lookbacks.create_round(
            session, name=body.name, actor=principal.name, criteria=criteria, due_date=body.due_date
        )
        round_id = rnd.id
    return lookbacks_read(principal, round_id, session) | {"tasks_created": n}


@router.get("/lookbacks/{round_id}", tags=["look-backs"], summary="A round and its tasks")
def lookbacks_read(principal: Reader, round_id: int, session: SessionDep) -> dict:
    progress = lookbacks.round_progress(session, round_id)
    tasks = (
        session.execute(
            text(
                "SELECT k.id, p.code AS problem_code, p.township_code, k.result, k.done_at, k.note"
                " FROM lookback_tasks k JOIN problems p ON p.id = k.problem_id"
                " WHERE k.round_id = :r"
                " ORDER BY k.id"
            ),
            {"r": round_id},
        )
        .mappings()
        .all()
    )
    visible = [dict(t) for t in tasks if principal.can_see(t["township_code"])]
    return {"id": round_id, "progress": progress, "tasks": visible}


@router.post(
    "/lookback-tasks/{task_id}/result",
    tags=["look-backs"],
    summary="Record a look-back result; found again → rebounded and reopened",
)
def lookback_task_result(
    task_id: int, body: LookbackResult, session: SessionDep, principal: LookbackResulter
) -> dict:
    town = session.execute(
        text(
            "SELECT p.township_code FROM lookback_tasks k JOIN problems p ON p.id = k.problem_id"
            " WHERE k.id = :k"
        ),
        {"k": task_id},
    ).scalar()
    if principal.townships is not None:
        forbid_out_of_scope(principal, town)
    with committing(session):
        task = lookbacks.record_result(
            session, task_id, actor=principal.name, **body.model_dump(mode="python")
        )
        round_id = task.round_id
    result = session.get(LookbackTask, task_id)
    return {"task_id": task_id, "round_id": round_id, "result": result.result if result else None}


def _suspect(s: SuspectedRebound) -> dict:
    return {
        "id": s.id,
        "problem_id": s.problem_id,
        "complaint_id": s.complaint_id,
        "inspection_id": s.inspection_id,
        "distance_m": round(s.distance_m, 1),
        "days_since_closed": s.days_since_closed,
        "status": s.status,
        "reason": s.reason,
    }


@router.get("/suspected-rebounds", tags=["rebounds"], summary="Suspected rebounds to decide")
def suspects_list(principal: Reader, session: SessionDep) -> list[dict]:
    return [_suspect(s) for s in rebounds.open_suspects(session, principal.townships)]


@router.post(
    "/suspected-rebounds/{suspect_id}/confirm",
    tags=["rebounds"],
    summary="Confirm: the problem becomes rebounded",
)
def suspects_confirm(
    suspect_id: int, body: Decision, session: SessionDep, principal: ReboundDecider
) -> dict:
    with committing(session):
        return _suspect(
            rebounds.confirm(session, suspect_id, actor=principal.name, reason=body.reason)
        )


@router.post(
    "/suspected-rebounds/{suspect_id}/dismiss", tags=["rebounds"], summary="Dismiss with a reason"
)
def suspects_dismiss(
    suspect_id: int, body: Decision, session: SessionDep, principal: ReboundDecider
) -> dict:
    with committing(session):
        return _suspect(
            rebounds.dismiss(session, suspect_id, actor=principal.name, reason=body.reason)
        )


@router.get("/townships", tags=["townships"], summary="Townships (codes and names)")
def townships_list(_: Reader, session: SessionDep) -> list[dict]:
    rows = session.execute(text("SELECT code, name FROM townships ORDER BY code")).mappings()
    return [dict(r) for r in rows]


@router.get(
    "/townships/summary",
    tags=["townships"],
    summary="Township scorecard: counts, rates and rank, optionally as of a past day",
)
def townships_summary(
    principal: Reader,
    session: SessionDep,
    today: TodayDep,
    as_of: Annotated[date | None, Query(description="the scorecard as it stood that day")] = None,
    period_start: Annotated[date | None, Query(description="start of 'closed this period'")] = None,
) -> dict:
    scores = township_scorecard(
        session, today=today, period_start=period_start, query=ProblemQuery(as_of=as_of)
    )
    return {
        "as_of": (as_of or today).isoformat(),
        "townships": [
            asdict(s) for s in sorted(scores, key=lambda s: s.rank) if principal.can_see(s.code)
        ],
    }


@router.get("/sites", tags=["sites"], summary="Sites by kind")
def sites_list(_: Reader, session: SessionDep, kind: str | None = None) -> list[dict]:
    stmt = select(Site.id, Site.kind, Site.name, Site.zone_level, Site.township_code)
    if kind:
        stmt = stmt.where(Site.kind == kind)
    return [dict(r._mapping) for r in session.execute(stmt.order_by(Site.id))]
