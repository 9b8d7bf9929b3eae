"""Look-back rounds (回头看): create a round over closed problems, read it, record results."""

from __future__ import annotations

from fastapi import APIRouter

from gis.ledger import lookbacks, records
from server.deps import SessionDep, committing
from server.schemas import (
    LookbackCreate,
    LookbackResult,
)
from server.security import Reader, forbid_out_of_scope, principal_dep

router = APIRouter(prefix="/api")
LookbackWriter = principal_dep("lookback:write")
LookbackResulter = principal_dep("lookback:result")


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
    visible = records.round_tasks(session, round_id, principal.townships)
    return {"id": round_id, "progress": progress, "tasks": visible}


@router.post(
    "/lookback-tasks/{task_id}/result",
    tags=["look-backs"],
    summary="Record a look-back result; found again → rebounded and reopened",
)
def lookback_task_result(
    task_id: int, body: LookbackResult, session: SessionDep, principal: LookbackResulter
) -> dict:
    town = records.lookback_task_township(session, task_id)
    if principal.townships is not None:
        forbid_out_of_scope(principal, town)
    with committing(session):
        task = lookbacks.record_result(
            session, task_id, actor=principal.name, **body.model_dump(mode="python")
        )
        round_id = task.round_id
    result = records.lookback_task_result(session, task_id)
    return {"task_id": task_id, "round_id": round_id, "result": result}


@router.get("/lookbacks", tags=["look-backs"], summary="Look-back rounds with their progress")
def lookbacks_list(principal: Reader, session: SessionDep) -> list[dict]:
    """Rounds newest first; a township caller sees only rounds (and counts) of its townships."""
    return [
        {
            "id": r["id"],
            "name": r["name"],
            "created_at": r["created_at"].isoformat(),
            "created_by": r["created_by"],
            "due_date": r["due_date"].isoformat() if r["due_date"] else None,
            "criteria": r["criteria"],
            "tasks": r["total"],
            "done": r["done"],
            "rebounded": r["rebounded"],
        }
        for r in lookbacks.list_rounds(session, principal.townships)
    ]
