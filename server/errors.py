"""One table from exceptions to HTTP responses, registered once on the app."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger("lookback.server")


def database_unavailable(exc: Exception) -> bool:
    """True when an exception means the database cannot be reached."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


async def _db_error(request: Request, exc: DBAPIError) -> JSONResponse:
    if database_unavailable(exc):
        log.warning("database unavailable: %s", str(exc.orig).strip().splitlines()[0:1])
        return JSONResponse(
            status_code=503,
            content={"detail": "数据库暂时不可用 The database is unavailable; retry shortly."},
            headers={"Retry-After": "5"},
        )
    log.exception("database error", exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "database error"})


def register(app: FastAPI) -> None:
    app.add_exception_handler(DBAPIError, _db_error)  # type: ignore[arg-type]
