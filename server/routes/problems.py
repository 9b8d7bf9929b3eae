"""The ledger API: problems, their lifecycle actions, milestones and history."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from gis.access import auth
from gis.access.auth import Principal
from gis.access.permissions import REAUTH_ACTIONS, may_run
from gis.ledger import records
from gis.ledger import writes as ledger
from gis.ledger.onsite import assign_on_site
from gis.ledger.query import SORTS, ProblemQuery, list_problems
from gis.vocab import Category, Source, Status
from gis.vocab import Warning as WarningColour
from server.deps import DbSession, EngineDep, SessionDep, TodayDep, committing
from server.schemas import (
    EventOut,
    MilestoneCreate,
    MilestoneMet,
    OnSiteAssignment,
    ProblemCreate,
    ProblemPatch,
    TransitionRequest,
)
from server.security import Reader, forbid_out_of_scope, principal_dep

router = APIRouter(prefix="/api", tags=["problems"])
# What a township user may change itself: progress and how it is rectifying.
TOWNSHIP_FIELDS = frozenset({"progress", "measures", "target"})
GEOJSON = "application/geo+json"


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    try:
        parts = tuple(float(v) for v in raw.split(","))
    except ValueError:
        raise ledger.LedgerError(
            "bbox must be four numbers: minlon,minlat,maxlon,maxlat", field="bbox"
        ) from None
    if len(parts) != 4 or parts[0] > parts[2] or parts[1] > parts[3]:
        raise ledger.LedgerError(
            "bbox must be minlon,minlat,maxlon,maxlat with min <= max", field="bbox"
        )
    return parts  # type: ignore[return-value]


def problem_filters(
    township: Annotated[list[str] | None, Query(description="township codes")] = None,
    status: Annotated[list[Status] | None, Query()] = None,
    category: Annotated[list[Category] | None, Query()] = None,
    source: Annotated[list[Source] | None, Query()] = None,
    overdue: bool | None = None,
    rebounded: Annotated[
        bool | None, Query(description="rebounded and not closed again (the count set)")
    ] = None,
    warning: Annotated[list[WarningColour] | None, Query()] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    q: Annotated[str | None, Query(description="text in code, description, unit, person")] = None,
) -> ProblemQuery:
    """The ledger's list filters from the query string (the route adds the caller's scope)."""
    return ProblemQuery(
        township_codes=tuple(township) if township else None,
        statuses=tuple(s.value for s in status) if status else None,
        categories=tuple(c.value for c in category) if category else None,
        sources=tuple(s.value for s in source) if source else None,
        overdue=overdue,
        rebounded=rebounded,
        warnings=tuple(w.value for w in warning) if warning else None,
        bbox=parse_bbox(bbox),
        text=q,
    )


ProblemFilters = Annotated[ProblemQuery, Depends(problem_filters)]


def _one(session: DbSession, code: str, today: date) -> dict:
    return records.problem_record(session, code, today)


@router.get("/problems", summary="List problems (JSON or GeoJSON), filtered and paginated")
def problems_list(
    principal: Reader,
    request: Request,
    session: SessionDep,
    today: TodayDep,
    filters: ProblemFilters,
    updated_since: datetime | None = None,
    as_of: Annotated[date | None, Query(description="the ledger as it stood on this day")] = None,
    sort: Literal[tuple(SORTS)] = "code",  # type: ignore[valid-type]
    order: Literal["asc", "desc"] = "asc",
    limit: Annotated[int, Query(ge=1)] = 100,
    cursor: str | None = None,
    f: Literal["json", "geojson"] | None = None,
) -> JSONResponse:
    """Problems with derived ``overdue``, ``warning``, ``days_overdue``; paged by cursor."""
    query = replace(
        filters,
        updated_since=updated_since,
        as_of=as_of,
        sort=sort,
        descending=order == "desc",
        scope=principal.townships,
    )
    wants_geojson = f == "geojson" or (f is None and GEOJSON in request.headers.get("accept", ""))
    try:
        page = list_problems(
            session,
            today=as_of or today,
            query=query,
            limit=min(limit, 1000),
            cursor=cursor,
            geometry=wants_geojson,
        )
    except ValueError as exc:
        raise ledger.LedgerError(str(exc), field="cursor") from exc
    links = []
    if page.next_cursor:
        params = dict(request.query_params)
        params["cursor"] = page.next_cursor
        links.append({"rel": "next", "href": str(request.url.replace_query_params(**params))})
    if wants_geojson:
        features = [
            {
                "type": "Feature",
                "id": item["code"],
                "geometry": item.pop("geometry"),
                "properties": item,
            }
            for item in page.items
        ]
        return JSONResponse(
            {
                "type": "FeatureCollection",
                "features": features,
                "numberMatched": page.number_matched,
                "numberReturned": len(features),
                "next_cursor": page.next_cursor,
                "links": links,
            },
            media_type=GEOJSON,
        )
    return JSONResponse(
        {
            "items": page.items,
            "number_matched": page.number_matched,
            "next_cursor": page.next_cursor,
            "links": links,
        }
    )


Creator = principal_dep("problem:create")
Updater = principal_dep("problem:update")
Mover = principal_dep("problem:transition")
OnSite = principal_dep("problem:onsite")
MilestoneWriter = principal_dep("milestone:write")


def _in_scope(session: DbSession, code: str, principal: Principal) -> None:
    """403 for a problem outside the caller's townships; scoped callers get 403 for unknown too."""
    if principal.townships is None:
        return
    forbid_out_of_scope(principal, records.problem_township(session, code))


@router.post("/problems", status_code=201, summary="Register a problem")
def problems_create(
    principal: Creator, body: ProblemCreate, session: SessionDep, today: TodayDep
) -> dict:
    data = ledger.ProblemInput(**body.model_dump(mode="python"))
    with committing(session):
        problem = ledger.create_problem(session, data, actor=principal.name)
        code = problem.code
    return _one(session, code, today)


@router.post(
    "/problems/on-site",
    status_code=201,
    summary="Register and assign a problem found on the spot (现场交办)",
)
def problems_on_site(
    principal: OnSite, body: OnSiteAssignment, session: SessionDep, today: TodayDep
) -> dict:
    with committing(session):
        problem = assign_on_site(session, actor=principal.name, **body.model_dump(mode="python"))
        forbid_out_of_scope(principal, problem.township_code)  # rolls the insert back
        code = problem.code
    return _one(session, code, today)


@router.get("/problems/{code}", summary="One problem with its derived fields")
def problems_read(principal: Reader, code: str, session: SessionDep, today: TodayDep) -> dict:
    _in_scope(session, code, principal)
    return _one(session, code, today)


@router.patch("/problems/{code}", summary="Change ledger fields (recorded with a reason)")
def problems_update(
    principal: Updater, code: str, body: ProblemPatch, session: SessionDep, today: TodayDep
) -> dict:
    changes = body.model_dump(mode="python", exclude_unset=True)
    reason = changes.pop("reason", "")
    if principal.role == "township" and set(changes) - TOWNSHIP_FIELDS:
        raise HTTPException(
            403,
            "乡镇只能更新整改进展和措施 townships may change only "
            f"{', '.join(sorted(TOWNSHIP_FIELDS))}",
        )
    _in_scope(session, code, principal)
    with committing(session):
        ledger.update_problem(
            session, code, changes, actor=principal.name, reason=reason, role=principal.role
        )
    return _one(session, code, today)


@router.post("/problems/{code}/transitions", summary="Run a lifecycle action")
def problems_transition(
    principal: Mover,
    code: str,
    body: TransitionRequest,
    session: SessionDep,
    engine: EngineDep,
    today: TodayDep,
) -> dict:
    """Illegal actions answer 409 with the actions allowed; closing needs the password again."""
    if not may_run(body.action, principal.role):
        raise HTTPException(
            403, f"角色 {principal.role} 不能执行 the {principal.role} role may not {body.action}"
        )
    _in_scope(session, code, principal)
    if body.action in REAUTH_ACTIONS:
        try:
            with DbSession(engine) as s, s.begin():
                auth.verify_password(s, name=principal.name, password=body.password or "")
        except auth.AuthError as exc:
            raise HTTPException(
                401,
                "审核销号需要再次输入密码 approving a closure needs your "
                "password again (field 'password')",
            ) from exc
    with committing(session):
        ledger.transition(
            session,
            code,
            body.action,
            actor=principal.name,
            reason=body.reason,
            deadline=body.deadline,
            attachment_ids=body.attachment_ids,
            inspection_ids=body.inspection_ids,
            passed=body.passed,
        )
    return _one(session, code, today)


@router.get(
    "/problems/{code}/history",
    response_model=list[EventOut],
    summary="Every step of the problem, oldest first",
)
def problems_history(principal: Reader, code: str, session: SessionDep) -> list:
    _in_scope(session, code, principal)
    return ledger.history(session, code)


@router.post(
    "/problems/{code}/milestones", status_code=201, summary="Add a milestone to a long-term problem"
)
def milestones_create(
    principal: MilestoneWriter, code: str, body: MilestoneCreate, session: SessionDep
) -> dict:
    _in_scope(session, code, principal)
    with committing(session):
        m = ledger.add_milestone(
            session, code, title=body.title, due_date=body.due_date, actor=principal.name
        )
        return {"id": m.id, "title": m.title, "due_date": m.due_date, "met_on": m.met_on}


@router.post("/milestones/{milestone_id}/met", summary="Record a milestone as met")
def milestones_met(
    principal: MilestoneWriter, milestone_id: int, body: MilestoneMet, session: SessionDep
) -> dict:
    code = records.milestone_problem_code(session, milestone_id)
    if code is None and principal.townships is None:
        raise ledger.NotFound(f"no milestone {milestone_id}")
    _in_scope(session, code or "", principal)
    with committing(session):
        m = ledger.meet_milestone(
            session,
            milestone_id,
            met_on=body.met_on,
            note=body.note,
            actor=principal.name,
            role=principal.role,
        )
        return {
            "id": m.id,
            "title": m.title,
            "due_date": m.due_date,
            "met_on": m.met_on,
            "claimed_on": m.claimed_on,
        }
