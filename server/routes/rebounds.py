"""Suspected rebounds (疑似反弹): the queue to decide, confirm and dismiss."""

from __future__ import annotations

from fastapi import APIRouter

from gis.db.models import SuspectedRebound
from gis.ledger import rebounds
from server.deps import SessionDep, committing
from server.schemas import (
    Decision,
)
from server.security import Reader, principal_dep

router = APIRouter(prefix="/api")
ReboundDecider = principal_dep("rebound:decide")


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
