"""Complaints (信访件): receipt, feedback, links to problems, conversion into a problem."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from gis.access.auth import Principal
from gis.ledger import complaints as complaint_rules
from gis.ledger import records
from server.deps import SessionDep, TodayDep, committing
from server.schemas import (
    ComplaintCreate,
    ComplaintLink,
    ComplaintStepCreate,
    ComplaintToProblem,
)
from server.security import Reader, forbid_out_of_scope, principal_dep

router = APIRouter(prefix="/api")
ComplaintWriter = principal_dep("complaint:write")


def _complaint(session, code: str, today: date) -> dict:  # type: ignore[no-untyped-def]
    return records.complaint_record(session, code, today)


def visible_complaint(session: SessionDep, code: str, principal: Principal) -> None:
    """403 for another township's complaint, 404 for an unknown one; the case file page and the
    API ask the same. A township user gets 403 for an unknown code too: it looks like another
    township's."""
    exists, town = complaint_rules.complaint_township(session, code)
    if principal.townships is not None:
        forbid_out_of_scope(principal, town)
    if not exists:
        raise HTTPException(404, f"没有编号为 {code} 的信访件 no complaint with code {code!r}")


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
    items, total = records.list_complaints(
        session,
        today=today,
        scope=principal.townships,
        townships=township,
        overdue=overdue,
        limit=limit,
        offset=offset,
    )
    return {"items": items, "number_matched": total}


@router.get("/complaints/{code}", tags=["complaints"], summary="One complaint")
def complaints_read(principal: Reader, code: str, session: SessionDep, today: TodayDep) -> dict:
    found = _complaint(session, code, today) if principal.townships is None else None
    if found is None:
        forbid_out_of_scope(principal, records.complaint_township(session, code))
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


@router.get(
    "/complaints/{code}/steps",
    tags=["complaints"],
    summary="A complaint's handling steps (办理过程)",
    description="The steps of the case file (一案一档) in order: handling, the reply to the"
    " complainant, the conclusion and follow-up calls. Township users see their townships'"
    " complaints only (403 otherwise); 404 for an unknown code.",
)
def complaints_steps(principal: Reader, code: str, session: SessionDep) -> dict:
    visible_complaint(session, code, principal)
    return {"code": code, "items": complaint_rules.complaint_steps(session, code)}


@router.post(
    "/complaints/{code}/steps",
    status_code=201,
    tags=["complaints"],
    summary="Add a handling step to a complaint (办理、答复、办结、回访)",
    description="The same rules as the case file page: handling and reply need text and come"
    " before the conclusion; the first reply records the feedback; the conclusion needs a reply"
    " and comes once; a follow-up call comes after it and names its outcome. 422 when a rule"
    " refuses the step (with its field), 403 outside the caller's townships, 404 for an unknown"
    " code. Answers the step added.",
)
def complaints_add_step(
    principal: ComplaintWriter, code: str, body: ComplaintStepCreate, session: SessionDep
) -> dict:
    visible_complaint(session, code, principal)
    with committing(session):
        step = complaint_rules.add_step(
            session,
            code,
            kind=body.kind,
            text_=body.text,
            actor=principal.name,
            outcome=body.outcome,
        )
        created = complaint_rules.step_dict(step)
    return created
