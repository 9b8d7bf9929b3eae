"""Map pages built with Folium from the ledger."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from layers.county_map import county_map, render_page
from server.deps import SessionDep, SettingsDep, TodayDep
from server.security import Reader, Requires, html_page

router = APIRouter(tags=["maps"])


@router.get("/favicon.ico", include_in_schema=False, dependencies=[Depends(Requires("public"))])
def favicon() -> RedirectResponse:
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/map", response_class=HTMLResponse, summary="County map of rectification problems")
def county_page(
    request: Request,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    today: TodayDep,
) -> HTMLResponse:
    fmap = county_map(session, today=today, settings=settings, scope=principal.townships)
    return html_page(request, render_page(fmap, nonce=request.state.csp_nonce))
