"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from gis.config import Settings, get_settings
from gis.db.engine import default_engine
from gis.notices.scheduler import start_scheduler
from layers.assets import STATIC_DIR, VENDOR_DIR, VENDOR_URL
from server import errors
from server.ops import install_ops
from server.routes import (
    auth,
    calendar,
    campaigns,
    complaints,
    docs,
    evidence,
    field,
    geojson,
    health,
    hotspots,
    ledger_io,
    lookbacks,
    maps,
    metrics,
    notices,
    ogc,
    problems,
    rebounds,
    reports,
    townships,
    users,
    wall,
    workbench,
    workbench_admin,
    workbench_campaigns,
    workbench_evidence,
    workbench_queues,
)
from server.security import (
    BodyLimitMiddleware,
    LoginRedirect,
    SecurityMiddleware,
    content_security_policy,
)


def tile_origin(url: str | None) -> str | None:
    """The CSP source of an XYZ tile URL; a templated subdomain becomes a wildcard."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.netloc
    if "{" in host:
        host = "*." + host.split(".", 1)[1] if "." in host else "*"
    return f"{parts.scheme}://{host}"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the notice scheduler when LOOKBACK_NOTICES_INTERVAL_S > 0; stop it on shutdown."""
    scheduler = start_scheduler(app.state.engine, clock=app.state.clock)
    yield
    if scheduler is not None:
        scheduler.stop()


def create_app(
    *,
    engine: Engine | None = None,
    settings: Settings | None = None,
    clock: Callable[[], date] | None = None,
) -> FastAPI:
    """Build the app around an engine (default: the configured database)."""
    app = FastAPI(
        title="Lookback",
        summary="环保督察整改 field inspection and hotspot mapping",
        description=(
            "Ledger, maps and layers for environmental-inspection rectification in a county: "
            "problems, deadlines and warnings, look-backs and rebounds, inspections and complaints."
        ),
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # own /docs and /redoc with local assets (server.routes.docs)
        redoc_url=None,
    )
    app.state.engine = engine or default_engine()
    app.state.settings = settings or get_settings()
    app.state.clock = clock
    errors.register(app)
    app.add_middleware(
        SecurityMiddleware,
        max_body_bytes=app.state.settings.max_body_mb * 1_000_000,
        csp=content_security_policy(tile_origin(app.state.settings.tile_url)),
        tls=app.state.settings.tls,
    )
    app.add_middleware(
        BodyLimitMiddleware, max_body_bytes=app.state.settings.max_body_mb * 1_000_000
    )
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    install_ops(app)  # request ids, /metrics

    @app.exception_handler(LoginRedirect)
    async def _to_login(request: Request, exc: LoginRedirect) -> RedirectResponse:
        return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)

    # First: field ingest is the busiest path, and routes are matched in order (no overlaps).
    app.include_router(field.router)
    app.include_router(auth.router)
    app.include_router(health.router)
    app.include_router(calendar.router)
    app.include_router(campaigns.router)
    app.include_router(campaigns.assessment_router)
    app.include_router(maps.router)
    app.include_router(geojson.router)
    app.include_router(problems.router)
    app.include_router(evidence.router)
    app.include_router(complaints.router)
    app.include_router(lookbacks.router)
    app.include_router(rebounds.router)
    app.include_router(townships.router)
    app.include_router(wall.router)
    app.include_router(ogc.router)
    app.include_router(hotspots.router)
    app.include_router(reports.router)
    app.include_router(notices.router)
    app.include_router(ledger_io.router)
    app.include_router(metrics.router)
    app.include_router(docs.router)
    app.include_router(workbench.router)
    app.include_router(workbench_queues.router)
    app.include_router(users.router)
    app.include_router(workbench_admin.router)
    app.include_router(workbench_evidence.router)
    app.include_router(workbench_campaigns.router)
    if VENDOR_DIR.exists():
        app.mount(VENDOR_URL, StaticFiles(directory=VENDOR_DIR), name="vendor")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
