"""The ledger API: problems, their lifecycle actions, milestones and history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import ledger
from gis.onsite import assign_on_site
from gis.problems import SORTS, ProblemQuery, list_problems, problem_properties_sql
from gis.sqlgeo import as_geojson_sql
from gis.vocab import Category, Source, Status
from gis.vocab import Warning as WarningColour
from server.deps import ActorDep, SessionDep, TodayDep
from server.schemas import (
    EventOut,
    MilestoneCreate,
    MilestoneMet,
    OnSiteAssignment,
    ProblemCreate,
    ProblemPatch,
    TransitionRequest,
)

router = APIRouter(prefix="/api", tags=["problems"])
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


def _one(session: Session, code: str, today: date) -> dict:
    row = session.execute(
        text(
            f"SELECT {problem_properties_sql('p')} AS props, {as_geojson_sql('p.geom')} AS geometry"
            " FROM problems p LEFT JOIN townships t ON t.code = p.township_code WHERE p.code = :c"
        ),
        {"c": code, "today": today},
    ).first()
    if row is None:
        raise ledger.NotFound(f"no problem with code {code!r}")
    return {**row.props, "geometry": row.geometry}


@router.get("/problems", summary="List problems (JSON or GeoJSON), filtered and paginated")
def problems_list(
    request: Request,
    session: SessionDep,
    today: TodayDep,
    township: Annotated[list[str] | None, Query(description="township codes")] = None,
    status: Annotated[list[Status] | None, Query()] = None,
    category: Annotated[list[Category] | None, Query()] = None,
    source: Annotated[list[Source] | None, Query()] = None,
    overdue: bool | None = None,
    warning: Annotated[list[WarningColour] | None, Query()] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    q: Annotated[str | None, Query(description="text in code, description, unit, person")] = None,
    updated_since: datetime | None = None,
    as_of: Annotated[date | None, Query(description="the ledger as it stood on this day")] = None,
    sort: Literal[tuple(SORTS)] = "code",  # type: ignore[valid-type]
    order: Literal["asc", "desc"] = "asc",
    limit: Annotated[int, Query(ge=1)] = 100,
    cursor: str | None = None,
    f: Literal["json", "geojson"] | None = None,
) -> JSONResponse:
    """Problems with derived ``overdue``, ``warning``, ``days_overdue``; paged by cursor."""
    query = ProblemQuery(
        township_codes=tuple(township) if township else None,
        statuses=tuple(s.value for s in status) if status else None,
        categories=tuple(c.value for c in category) if category else None,
        sources=tuple(s.value for s in source) if source else None,
        overdue=overdue,
        warnings=tuple(w.value for w in warning) if warning else None,
        bbox=parse_bbox(bbox),
        text=q,
        updated_since=updated_since,
        as_of=as_of,
        sort=sort,
        descending=order == "desc",
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


@router.post("/problems", status_code=201, summary="Register a problem")
def problems_create(
    body: ProblemCreate, session: SessionDep, actor: ActorDep, today: TodayDep
) -> dict:
    data = ledger.ProblemInput(**body.model_dump(mode="python"))
    with session.begin():
        problem = ledger.create_problem(session, data, actor=actor)
        code = problem.code
    return _one(session, code, today)


@router.post(
    "/problems/on-site",
    status_code=201,
    summary="Register and assign a problem found on the spot (现场交办)",
)
def problems_on_site(
    body: OnSiteAssignment, session: SessionDep, actor: ActorDep, today: TodayDep
) -> dict:
    with session.begin():
        problem = assign_on_site(session, actor=actor, **body.model_dump(mode="python"))
        code = problem.code
    return _one(session, code, today)


@router.get("/problems/{code}", summary="One problem with its derived fields")
def problems_read(code: str, session: SessionDep, today: TodayDep) -> dict:
    return _one(session, code, today)


@router.patch("/problems/{code}", summary="Change ledger fields (recorded with a reason)")
def problems_update(
    code: str, body: ProblemPatch, session: SessionDep, actor: ActorDep, today: TodayDep
) -> dict:
    changes = body.model_dump(mode="python", exclude_unset=True)
    reason = changes.pop("reason", "")
    with session.begin():
        ledger.update_problem(session, code, changes, actor=actor, reason=reason)
    return _one(session, code, today)


@router.post("/problems/{code}/transitions", summary="Run a lifecycle action")
def problems_transition(
    code: str, body: TransitionRequest, session: SessionDep, actor: ActorDep, today: TodayDep
) -> dict:
    """Illegal actions answer 409 with the actions allowed from the current status."""
    with session.begin():
        ledger.transition(
            session,
            code,
            body.action,
            actor=actor,
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
def problems_history(code: str, session: SessionDep) -> list:
    return ledger.history(session, code)


@router.post(
    "/problems/{code}/milestones", status_code=201, summary="Add a milestone to a long-term problem"
)
def milestones_create(
    code: str, body: MilestoneCreate, session: SessionDep, actor: ActorDep
) -> dict:
    with session.begin():
        m = ledger.add_milestone(
            session, code, title=body.title, due_date=body.due_date, actor=actor
        )
        return {"id": m.id, "title": m.title, "due_date": m.due_date, "met_on": m.met_on}


@router.post("/milestones/{milestone_id}/met", summary="Record a milestone as met")
def milestones_met(
    milestone_id: int, body: MilestoneMet, session: SessionDep, actor: ActorDep
) -> dict:
    with session.begin():
        m = ledger.meet_milestone(
            session, milestone_id, met_on=body.met_on, note=body.note, actor=actor
        )
        return {"id": m.id, "title": m.title, "due_date": m.due_date, "met_on": m.met_on}
