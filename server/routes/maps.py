"""Map pages built with Folium from the ledger."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import text

from layers.county_map import county_map, render_page
from server.deps import SessionDep, SettingsDep, TodayDep

router = APIRouter(tags=["maps"])


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> RedirectResponse:
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/", response_class=HTMLResponse, summary="County map of rectification problems")
def county_page(session: SessionDep, settings: SettingsDep, today: TodayDep) -> HTMLResponse:
    return HTMLResponse(render_page(county_map(session, today=today, settings=settings)))


@router.get(
    "/map/township/{code}", response_class=HTMLResponse, summary="One township's problem map"
)
def township_page(
    code: str, session: SessionDep, settings: SettingsDep, today: TodayDep
) -> HTMLResponse:
    exists = session.execute(text("SELECT 1 FROM townships WHERE code = :c"), {"c": code}).first()
    if not exists:
        raise HTTPException(404, f"no township with code {code}")
    fmap = county_map(session, today=today, settings=settings, township_code=code)
    return HTMLResponse(render_page(fmap))
