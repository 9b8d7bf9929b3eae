"""Operations: JSON logs with request ids, Prometheus metrics, and configuration checks at start.

:func:`install_ops` adds to an app, once:

- a pure-ASGI middleware that takes a well-formed ``X-Request-ID`` from the client (or makes
  one), returns it on the response, makes it part of every log line written while the request
  runs, and logs one JSON line per request (method, path, route template, status, duration_ms,
  request_id, and the request's database query count and time);
- Prometheus metrics: requests and latency by method, route template and status; database query
  time by statement kind, database errors (disconnects apart) from SQLAlchemy engine events;
  pool connections by state;
- ``GET /metrics`` (:mod:`server.routes.metrics`), open unless ``LOOKBACK_METRICS_TOKEN`` is set.

Several worker processes share metrics when ``PROMETHEUS_MULTIPROC_DIR`` names an empty folder
(see docs/deploy.md). Settings of this module are read from the environment by
:class:`OpsSettings` (``LOOKBACK_METRICS_TOKEN``, ``LOOKBACK_LOG_FORMAT``, ``LOOKBACK_LOG_LEVEL``).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
import weakref
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import FastAPI
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection, Engine, event
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CONTENT_TYPE_LATEST",
    "JsonFormatter",
    "OpsMiddleware",
    "OpsSettings",
    "configure_logging",
    "install_ops",
    "instrument_engine",
    "metrics_payload",
    "request_id",
    "route_template",
    "settings_problems",
    "validate_settings_or_exit",
]

REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)

access_log = logging.getLogger("lookback.access")


class OpsSettings(BaseSettings):
    """Operations settings, from ``LOOKBACK_`` environment variables like the others."""

    model_config = SettingsConfigDict(env_prefix="LOOKBACK_", extra="ignore")

    metrics_token: SecretStr | None = Field(
        None, description="if set, GET /metrics needs `Authorization: Bearer <token>`"
    )
    metrics_open: bool = Field(
        False,
        description="GET /metrics without a token or a signed-in user (restrict it at the proxy)",
    )
    log_format: Literal["json", "text"] = Field("json", description="json or text log lines")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="level of Lookback's own loggers"
    )


# -- request ids and logging ---------------------------------------------------------------------


@dataclass
class _DbTally:
    """Database work done while serving one request."""

    queries: int = 0
    seconds: float = 0.0


_request_id: ContextVar[str | None] = ContextVar("lookback_request_id", default=None)
_db_tally: ContextVar[_DbTally | None] = ContextVar("lookback_db_tally", default=None)


def request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    return _request_id.get()


_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "color_message",  # uvicorn's coloured copy of the message
}


class RequestIdFilter(logging.Filter):
    """Give every record a ``request_id`` attribute (None outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or _request_id.get()
        if rid:
            body["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                body[key] = value
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # type: ignore[no-untyped-def]
        pass


class _TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


def configure_logging(settings: OpsSettings) -> None:
    """Send log records to stderr as JSON (or text) lines, once per process."""
    root = logging.getLogger()
    formatter: logging.Formatter = (
        JsonFormatter() if settings.log_format == "json" else _TextFormatter()
    )
    handler = next((h for h in root.handlers if getattr(h, "_lookback", False)), None)
    if handler is None:
        handler = _StderrHandler()
        handler._lookback = True  # type: ignore[attr-defined]
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    handler.setFormatter(formatter)
    logging.getLogger("lookback").setLevel(settings.log_level)
    if settings.log_format == "json":
        # uvicorn configured its own loggers before calling the app factory: same line format.
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            for h in logging.getLogger(name).handlers:
                h.setFormatter(formatter)
                if not any(isinstance(f, RequestIdFilter) for f in h.filters):
                    h.addFilter(RequestIdFilter())


# -- metrics -------------------------------------------------------------------------------------

_MULTIPROC = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

HTTP_REQUESTS = Counter(
    "lookback_http_requests",
    "HTTP requests served, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "lookback_http_request_duration_seconds",
    "Time to serve an HTTP request, by method, route template and status",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_PROGRESS = Gauge(
    "lookback_http_requests_in_progress",
    "HTTP requests being served",
    multiprocess_mode="livesum",
)
DB_QUERY = Histogram(
    "lookback_db_query_duration_seconds",
    "Time of one database statement, by kind (select, insert, update, delete, other)",
    ["operation"],
    buckets=DB_BUCKETS,
)
DB_ERRORS = Counter(
    "lookback_db_errors",
    "Database errors seen by the engine; kind=disconnect when the connection was lost",
    ["kind"],
)
DB_POOL = Gauge(
    "lookback_db_pool_connections",
    "Connections of the database pool by state (checked_out, idle, overflow)",
    ["state"],
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "lookback_db_pool_size",
    "Configured size of the database pool",
    multiprocess_mode="livesum",
)


def metrics_registry() -> CollectorRegistry:
    """The registry to expose: all worker processes' metrics when running multi-process."""
    if _MULTIPROC:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def metrics_payload(engine: Engine | None = None) -> bytes:
    """The Prometheus text exposition of every metric (pool gauges refreshed first)."""
    if engine is not None:
        _pool_gauges(engine)
    return generate_latest(metrics_registry())


def _operation(statement: str) -> str:
    word = statement.lstrip(" \t\r\n(").split(None, 1)[0].lower() if statement.strip() else ""
    if word in ("select", "insert", "update", "delete"):
        return word
    if word == "with":
        return "select"
    return "other"


def _pool_gauges(engine: Engine) -> None:
    pool = engine.pool
    if not all(hasattr(pool, name) for name in ("checkedout", "checkedin", "overflow", "size")):
        return
    DB_POOL.labels("checked_out").set(pool.checkedout())  # type: ignore[attr-defined]
    DB_POOL.labels("idle").set(pool.checkedin())  # type: ignore[attr-defined]
    DB_POOL.labels("overflow").set(max(pool.overflow(), 0))  # type: ignore[attr-defined]
    DB_POOL_SIZE.set(pool.size())  # type: ignore[attr-defined]


_instrumented: weakref.WeakSet[Engine] = weakref.WeakSet()


def instrument_engine(engine: Engine) -> None:
    """Time every statement of ``engine``, count its errors and follow its pool (idempotent)."""
    if engine in _instrumented:
        return
    _instrumented.add(engine)
    ref = weakref.ref(engine)

    def before(conn: Connection, *_: Any) -> None:
        conn.info["lookback_t0"] = time.perf_counter()

    def after(conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        started = conn.info.pop("lookback_t0", None)
        if started is None:
            return
        elapsed = time.perf_counter() - started
        DB_QUERY.labels(_operation(statement)).observe(elapsed)
        tally = _db_tally.get()
        if tally is not None:
            tally.queries += 1
            tally.seconds += elapsed

    def on_error(ctx) -> None:  # type: ignore[no-untyped-def]
        DB_ERRORS.labels("disconnect" if ctx.is_disconnect else "error").inc()
        if ctx.connection is not None:
            ctx.connection.info.pop("lookback_t0", None)

    def pool_changed(*_: object) -> None:
        eng = ref()
        if eng is not None:
            _pool_gauges(eng)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", on_error)
    event.listen(engine, "checkout", pool_changed)
    event.listen(engine, "checkin", pool_changed)


# -- the middleware ------------------------------------------------------------------------------


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/problems/{code}``), never the raw path."""
    fastapi_scope = scope.get("fastapi")
    if isinstance(fastapi_scope, dict):
        context = fastapi_scope.get("effective_route_context")
        path = getattr(context, "path", "")
        if path:
            return str(path)
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path:
        return str(path)
    return UNMATCHED


class OpsMiddleware:
    """Request ids, one JSON access line per request, and HTTP metrics (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        root_path = scope.get("root_path", "")
        status = 500
        rid_token = _request_id.set(rid)
        tally = _DbTally()
        tally_token = _db_tally.set(tally)
        started = time.perf_counter()
        HTTP_IN_PROGRESS.inc()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = 500
            raise
        finally:
            elapsed = time.perf_counter() - started
            HTTP_IN_PROGRESS.dec()
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            route = route_template(scope)
            if route == UNMATCHED and scope.get("root_path", "") != root_path:
                route = scope["root_path"][len(root_path) :] + "/{path}"  # a mount (static files)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route, str(status)).observe(elapsed)
            level = logging.ERROR if status >= 500 else logging.INFO
            access_log.log(
                level,
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope.get("path", ""),
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "db_queries": tally.queries,
                    "db_ms": round(tally.seconds * 1000, 2),
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )
            _db_tally.reset(tally_token)
            _request_id.reset(rid_token)


def install_ops(app: FastAPI, settings: OpsSettings | None = None) -> None:
    """Add logging, request ids and metrics to ``app`` (once); ``GET /metrics`` is
    :mod:`server.routes.metrics`, which the app includes like every other route."""
    if getattr(app.state, "ops_installed", False):
        return
    settings = settings or OpsSettings()
    app.state.ops_settings = settings
    configure_logging(settings)
    engine = getattr(app.state, "engine", None)
    if isinstance(engine, Engine):
        instrument_engine(engine)
    app.add_middleware(OpsMiddleware)
    app.state.ops_installed = True


# -- warming up ----------------------------------------------------------------------------------


WARM_PATH = "/__lookback_warm_up__"


def warm_up(app: FastAPI) -> None:
    """Build the router's per-route state before the first request instead of during it.

    FastAPI builds each included router's route contexts (dependencies, body fields) the
    first time a request walks past them, which costs the first requests after a start one to
    two seconds on a small machine. One request for a path nobody serves walks every route;
    it is sent straight to the router (no middleware: no access line, no metric), on a loop of
    its own in a thread, so this works from inside a running event loop too (an app factory).
    Then the heap built so far is frozen out of the garbage collector's passes.
    """
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": WARM_PATH, "raw_path": WARM_PATH.encode(), "root_path": "",
        "query_string": b"", "headers": [], "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0), "state": {},
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    async def walk() -> None:
        try:
            await app.router(scope, receive, send)
        except Exception:  # noqa: BLE001 - a 404 raised as an exception is the expected end
            pass

    thread = threading.Thread(target=lambda: asyncio.run(walk()), name="lookback-warm-up")
    thread.start()
    thread.join()
    # What exists now (modules, routes, models) lives as long as the process: keep it out of
    # the garbage collector's full passes, which otherwise rescan it and pause requests.
    gc.collect()
    gc.freeze()


# -- configuration checks ------------------------------------------------------------------------


def _env_name(model: type[BaseSettings], field: str) -> str:
    info = model.model_fields.get(field)
    alias = getattr(info, "validation_alias", None)
    if isinstance(alias, str):
        return alias
    prefix = str(model.model_config.get("env_prefix", ""))
    return (prefix + field).upper()


def _describe(model: type[BaseSettings], exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        name = _env_name(model, field) if field else model.__name__
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{name}={_shown(name, err.get('input'))!r}: {message}")
    return lines


SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "KEY")


def _shown(name: str, value: object) -> object:
    """A setting's value as it may be printed: no passwords, tokens or secrets."""
    if name == "DATABASE_URL" and isinstance(value, str):
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(value).render_as_string(hide_password=True)
        except (ArgumentError, ValueError):
            return "***"
    if any(word in name.upper() for word in SECRET_WORDS):
        return "***"
    return value


def settings_models() -> tuple[type[BaseSettings], ...]:
    """Every group of settings read from the environment, each with its own prefix: the
    start-up check validates them all (a test holds this list to every settings class)."""
    from gis.config import Settings, WarningThresholds
    from gis.field.inspections import FieldSettings
    from gis.ledger.evidence import EvidenceSettings
    from gis.notices.config import NoticeSettings

    return (
        Settings, WarningThresholds, FieldSettings, EvidenceSettings, NoticeSettings, OpsSettings,
    )  # fmt: skip


def settings_problems() -> list[str]:
    """What is wrong with the configuration in the environment, one line per variable."""
    problems: list[str] = []
    for model in settings_models():
        try:
            model()
        except ValidationError as exc:
            problems.extend(_describe(model, exc))
        except (KeyError, OSError) as exc:
            # zoneinfo raises ZoneInfoNotFoundError (a KeyError) or IsADirectoryError, which
            # pydantic does not wrap; the time zone is the only setting that reads files.
            value = os.environ.get("LOOKBACK_TIMEZONE", "")
            problems.append(
                f"LOOKBACK_TIMEZONE={value!r}: unknown time zone ({exc.__class__.__name__}); "
                "use an IANA name such as Asia/Shanghai"
            )
            try:  # the zone aborted validation: check the other variables too
                model(timezone="UTC")  # type: ignore[call-arg]
            except ValidationError as again:
                problems.extend(_describe(model, again))
            except (KeyError, OSError):
                pass
    return problems


def validate_settings_or_exit() -> None:
    """Exit with status 2 and a message naming each bad environment variable, if any."""
    problems = settings_problems()
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        sys.stderr.write(f"error: invalid configuration in the environment:\n{lines}\n")
        raise SystemExit(2)
