"""``GET /metrics``: Prometheus metrics, open on the intranet or behind ``LOOKBACK_METRICS_TOKEN``.

The route is public as far as users and roles go (Prometheus has no Lookback account). When
``LOOKBACK_METRICS_TOKEN`` is set it needs ``Authorization: Bearer <that token>``; otherwise keep
it off the internet at the proxy (docs/deploy.md restricts ``/metrics`` to the scrapers).
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from server.ops import CONTENT_TYPE_LATEST, OpsSettings, metrics_payload
from server.security import Requires

router = APIRouter(tags=["operations"], dependencies=[Depends(Requires("public"))])


def _check_token(request: Request) -> None:
    settings: OpsSettings = getattr(request.app.state, "ops_settings", None) or OpsSettings()
    if settings.metrics_token is None:
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
