"""One table from exceptions to HTTP responses, registered once on the app."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gis.errors import Kind, LookbackError

log = logging.getLogger("lookback.server")


def database_unavailable(exc: Exception) -> bool:
    """True when an exception means the database cannot be reached."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


async def _db_error(request: Request, exc: DBAPIError) -> Response:
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


# The one table from the domain's kinds of failure to HTTP statuses.
STATUS: dict[Kind, int] = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "refused": 403,
    "too_large": 413,
    "unsupported": 415,
    "failed": 500,
}


async def _domain_error(request: Request, exc: LookbackError) -> JSONResponse:
    status = STATUS[exc.kind]
    if status >= 500:
        log.error("%s: %s", type(exc).__name__, exc)
        return _error(status, "内部错误 internal error")
    return _error(status, str(exc), **exc.details())


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
    app.add_exception_handler(LookbackError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _server_error)
