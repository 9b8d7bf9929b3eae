"""Liveness and database health."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from gis.db.engine import database_down
from server.deps import EngineDep
from server.security import Requires

router = APIRouter(tags=["health"], dependencies=[Depends(Requires("public"))])


@router.get("/healthz", summary="Health of the app and its database")
def healthz(engine: EngineDep) -> JSONResponse:
    """``{"status": "ok", "db": "ok"}``, or 503 with the reason when the database is down."""
    reason = database_down(engine)
    if reason is not None:
        return JSONResponse(
            status_code=503, content={"status": "degraded", "db": "down", "reason": reason}
        )
    return JSONResponse({"status": "ok", "db": "ok"})
