"""One table from exceptions to HTTP responses, registered once on the app."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from gis.ledger.lifecycle import TransitionError
from gis.ledger.writes import Conflict, LedgerError, NotFound

log = logging.getLogger("lookback.server")


def database_unavailable(exc: Exception) -> bool:
    """True when an exception means the database cannot be reached."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


async def _db_error(request: Request, exc: DBAPIError) -> JSONResponse:
    if isinstance(exc, DataError):
        # Values the database cannot hold (NUL characters, out-of-range numbers): bad input.
        # The database's own wording (names, types, the value) is logged, never sent.
        log.info("value refused by the database: %s", str(exc.orig).strip().splitlines()[:1])
        return JSONResponse(
            status_code=422,
            content={
                "detail": "无效的值（超出范围或含不可存储的字符） invalid value: out of range "
                "or holding characters the database cannot store"
            },
        )
    if database_unavailable(exc):
        log.warning("database unavailable: %s", str(exc.orig).strip().splitlines()[0:1])
        return JSONResponse(
            status_code=503,
            content={"detail": "数据库暂时不可用 The database is unavailable; retry shortly."},
            headers={"Retry-After": "5"},
        )
    log.exception("database error", exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "database error"})


def _error(status: int, message: str, **extra: object) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": message, **extra})


async def _ledger_error(request: Request, exc: LedgerError) -> JSONResponse:
    return _error(422, str(exc), field=exc.field)


async def _transition_error(request: Request, exc: TransitionError) -> JSONResponse:
    return _error(409, str(exc), allowed_actions=exc.allowed)


async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
    return _error(404, str(exc))


async def _conflict(request: Request, exc: Conflict) -> JSONResponse:
    return _error(409, str(exc))


def register(app: FastAPI) -> None:
    """Map domain and database exceptions to HTTP statuses, once for the whole app."""
    app.add_exception_handler(DBAPIError, _db_error)  # type: ignore[arg-type]
    app.add_exception_handler(TransitionError, _transition_error)  # type: ignore[arg-type]
    app.add_exception_handler(LedgerError, _ledger_error)  # type: ignore[arg-type]
    app.add_exception_handler(NotFound, _not_found)  # type: ignore[arg-type]
    app.add_exception_handler(Conflict, _conflict)  # type: ignore[arg-type]
