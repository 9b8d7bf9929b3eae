"""Liveness and database health."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from gis.db.engine import ping
from server.deps import EngineDep
from server.security import Requires

router = APIRouter(tags=["health"], dependencies=[Depends(Requires("public"))])


@router.get("/healthz", summary="Health of the app and its database")
def healthz(engine: EngineDep) -> JSONResponse:
    """``{"status": "ok", "db": "ok"}``, or 503 with the reason when the database is down."""
    try:
        ping(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
        return JSONResponse(
            status_code=503,
            content={"status": "degraded", "db": "down", "reason": reason[0] if reason else "?"},
        )
    return JSONResponse({"status": "ok", "db": "ok"})
