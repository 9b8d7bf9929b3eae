"""``GET /metrics``: Prometheus metrics, for the scraper's token or a signed-in reader.

The route resolves its own caller (Prometheus has no Lookback account). When
``LOOKBACK_METRICS_TOKEN`` is set it needs ``Authorization: Bearer <that token>``. Otherwise it
needs a signed-in user who may read (a session or a user's token), unless
``LOOKBACK_METRICS_OPEN=true`` opens it to anyone who can reach it (then restrict ``/metrics``
to the scrapers at the proxy, docs/deploy.md).
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from gis.access.permissions import allowed
from server.ops import CONTENT_TYPE_LATEST, OpsSettings, metrics_payload
from server.security import Requires, current_principal

router = APIRouter(tags=["operations"], dependencies=[Depends(Requires("public"))])


def _check_token(request: Request) -> None:
    settings: OpsSettings = getattr(request.app.state, "ops_settings", None) or OpsSettings()
    if settings.metrics_token is None:
        if settings.metrics_open:
            return
        principal = current_principal(request)
        if principal is None or not allowed("read", principal.role):
            raise HTTPException(
                401,
                "指标需要登录或 LOOKBACK_METRICS_TOKEN metrics need a signed-in reader or "
                "the token of LOOKBACK_METRICS_TOKEN",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return
    expected = settings.metrics_token.get_secret_value().encode()
    header = request.headers.get("authorization", "")
    sent = header[7:].strip().encode() if header.lower().startswith("bearer ") else b""
    if not sent or not secrets.compare_digest(sent, expected):
        raise HTTPException(
            401,
            "metrics need the token of LOOKBACK_METRICS_TOKEN",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )


@router.get(
    "/metrics",
    summary="Prometheus metrics (requests, latency, database timings, pool)",
    response_class=Response,
    include_in_schema=False,
)
def metrics(request: Request) -> Response:
    """Every metric in the Prometheus text format."""
    _check_token(request)
    payload = metrics_payload(getattr(request.app.state, "engine", None))
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
