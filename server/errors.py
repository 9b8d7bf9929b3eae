"""One table from exceptions to HTTP responses, registered once on the app."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gis.ledger.lifecycle import TransitionError
from gis.ledger.writes import Conflict, LedgerError, NotFound

log = logging.getLogger("lookback.server")


def database_unavailable(exc: Exception) -> bool:
    """True when an exception means the database cannot be reached."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


async def _db_error(request: Request, exc: DBAPIError) -> Response:
    if isinstance(exc, DataError):
        # Values the database cannot hold (NUL characters, out-of-range numbers): bad input.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "invalid value"
        return JSONResponse(
            status_code=422, content={"detail": f"无效的值 invalid value: {reason}"}
        )
    if database_unavailable(exc):
        log.warning("database unavailable: %s", str(exc.orig).strip().splitlines()[0:1])
        from server.pages import error_page, wants_html

        if wants_html(request):
            return error_page(request, 503, headers={"Retry-After": "5"})
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


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Browsers get a friendly page for 403, 404 and 5xx; the API keeps its JSON."""
    from server.pages import error_page, wants_html

    if wants_html(request) and (exc.status_code in (403, 404) or exc.status_code >= 500):
        return error_page(request, exc.status_code, str(exc.detail or ""))
    return await http_exception_handler(request, exc)


async def _server_error(request: Request, exc: Exception) -> Response:
    from server.pages import error_page, wants_html

    log.exception("unhandled error", exc_info=exc)
    if wants_html(request):
        return error_page(request, 500)
    return PlainTextResponse("Internal Server Error", status_code=500)


def register(app: FastAPI) -> None:
    """Map domain and database exceptions to HTTP statuses, once for the whole app."""
    app.add_exception_handler(DBAPIError, _db_error)  # type: ignore[arg-type]
    app.add_exception_handler(TransitionError, _transition_error)  # type: ignore[arg-type]
    app.add_exception_handler(LedgerError, _ledger_error)  # type: ignore[arg-type]
    app.add_exception_handler(NotFound, _not_found)  # type: ignore[arg-type]
    app.add_exception_handler(Conflict, _conflict)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _server_error)
