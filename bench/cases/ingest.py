"""Ingest over HTTP: field reports accepted per second by one endpoint, p50/p99 latency.

``POST /api/inspections`` is used when the app serves it, else ``POST /api/complaints`` (the
metric's detail says which). Every request is a new report at a random point of the county with
its own code or UUID, prepared before the clock starts and sent from ``ingest_concurrency``
keep-alive connections. The peer is :mod:`bench.peers.orm_ingest` on the same database.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np

from bench.config import Context
from bench.env import Server
from bench.loadgen import LoadResult, build_request, run_load
from bench.report import Metric, at_least, at_most, ratio

RATE_CAP = 3000  # requests prepared per second of load (far above what one worker answers)
BATCH_SIZE = 500  # items per POST /api/inspections/batch (its limit)
BATCH_RATE_CAP = 60  # batches prepared per second of load (30,000 inspections/s)
BATCH_CONNECTIONS = 4
RATE_TARGET_X = 3  # the single-inspection rate to beat: 3x the ORM peer's, same run
P99_TARGET_MS = 50
CHANNELS = ("hotline_12345", "hotline_12369", "online")
KINDS = {"air": "dust", "water": "river_outfall", "noise": "other"}


def inspections_route_served() -> bool:
    """Whether the app built by ``create_app`` serves ``POST /api/inspections`` (its OpenAPI)."""
    from server.app import create_app

    paths = create_app(engine=_null_engine()).openapi().get("paths", {})
    return "post" in paths.get("/api/inspections", {})


def _null_engine():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")


def _points(ctx: Context, n: int, seed: int) -> np.ndarray:
    x0, y0, x1, y1 = ctx.extent
    rng = np.random.default_rng(seed)
    cx, cy = ctx.seat
    # Around the county seat, as reports cluster; clipped to the county's box.
    pts = np.column_stack([rng.normal(cx, (x1 - x0) / 6, n), rng.normal(cy, (y1 - y0) / 6, n)])
    pts[:, 0] = pts[:, 0].clip(x0, x1)
    pts[:, 1] = pts[:, 1].clip(y0, y1)
    return pts


def complaint_bodies(ctx: Context, n: int, tag: str, seed: int) -> list[dict]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    kinds = list(KINDS)
    out = []
    for i, (lon, lat) in enumerate(_points(ctx, n, seed)):
        kind = kinds[i % len(kinds)]
        out.append({
            "code": f"BENCH-{tag}-{i:07d}",
            "channel": CHANNELS[i % len(CHANNELS)],
            "kind": kind,
            "category": KINDS[kind],
            "received_at": now,
            "text": "基准测试 benchmark report",
            "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
        })
    return out


def inspection_bodies(ctx: Context, n: int, seed: int) -> list[dict]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rng = np.random.default_rng(seed + 1)
    return [
        {
            "uuid": str(uuid.UUID(int=int(rng.integers(0, 2**62)) << 64 | i, version=4)),
            "lon": round(lon, 6), "lat": round(lat, 6), "accuracy_m": 8,
            "observed_at": now, "finding": "persists", "category": "dust",
            "note": "基准测试 benchmark report",
        }
        for i, (lon, lat) in enumerate(_points(ctx, n, seed))
    ]


def _run(srv: Server, path: str, bodies: list[dict], headers: dict, ctx: Context) -> LoadResult:
    cfg = ctx.config
    raws = [build_request("POST", path, srv.host, srv.port, headers, b) for b in bodies]
    return run_load(
        srv.host, srv.port, raws, concurrency=cfg.ingest_concurrency, duration_s=cfg.ingest_s,
        warmup_s=cfg.ingest_warmup_s,
    )


def _server_stack() -> str:
    """The event loop and HTTP parser uvicorn picks with ``auto`` (as both servers run)."""
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"{loop} + {http}"


def _summary(r: LoadResult) -> str:
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(r.statuses.items()))
    text = (f"{r.rate:.0f}/s, p50 {r.percentile_ms(50) or 0:.1f} ms, p99 "
            f"{r.percentile_ms(99) or 0:.1f} ms, {r.count} requests in {r.elapsed_s:.1f} s "
            f"(HTTP {statuses}; connection errors {r.errors})")
    if r.first_error:
        text += f"; first error: {r.first_error[:200]}"
    return text


def run(ctx: Context) -> list[Metric]:
    from bench.peers import orm_ingest

    cfg = ctx.config
    n = int((cfg.ingest_s + cfg.ingest_warmup_s) * RATE_CAP)
    srv = ctx.server
    actor = {"X-Lookback-Actor": "bench"}
    if inspections_route_served():
        endpoint = "POST /api/inspections"
        path, bodies = "/api/inspections", inspection_bodies(ctx, n, cfg.seed)
    else:
        endpoint = "POST /api/complaints (POST /api/inspections is not served by the app yet)"
        path, bodies = "/api/complaints", complaint_bodies(ctx, n, "lookback", cfg.seed)
    ctx.log(f"ingest: {endpoint}, {cfg.ingest_concurrency} connections, {cfg.ingest_s:g} s")
    ours = _run(srv, path, bodies, {**ctx.headers, **actor}, ctx)
    if ours.ok == 0:
        raise RuntimeError(f"ingest: no request succeeded: {ours.first_error}")

    ctx.log("ingest: ORM peer")
    peer_srv = Server("bench.peers.orm_ingest:create_app", {"LOOKBACK_BENCH_URL": ctx.db.url},
                      ctx.db.root / "orm-peer.log", factory=True)
    with peer_srv:
        if path == "/api/inspections":
            theirs = _run(peer_srv, "/inspections", inspection_bodies(ctx, n, cfg.seed + 7), {},
                          ctx)
        else:
            theirs = _run(peer_srv, "/complaints", complaint_bodies(ctx, n, "peer", cfg.seed),
                          {}, ctx)
    peer_name = (f"plain FastAPI + SQLAlchemy ORM insert-per-request ({orm_ingest.__name__}, "
                 "no auth, no township, no flags, no rebound check, no hints)")
    our_p50, our_p99 = ours.percentile_ms(50), ours.percentile_ms(99)
    their_p50, their_p99 = theirs.percentile_ms(50), theirs.percentile_ms(99)
    detail = {
        "endpoint": endpoint,
        "connections": cfg.ingest_concurrency,
        "Lookback": _summary(ours),
        "peer": _summary(theirs),
        "server": f"uvicorn, 1 worker, {_server_stack()}, the same for both",
        "target": "3x the peer's rate in this run, p99 < 50 ms (the Scale issue)",
    }
    batch = _batch_metric(ctx, theirs.rate, peer_name) if path == "/api/inspections" else []
    return [*batch,
        Metric("ingest_rate", f"Ingest over HTTP: {endpoint.split(' (')[0]} accepted per second",
               ours.rate, "req/s", target=at_least(round(RATE_TARGET_X * theirs.rate)),
               peer=peer_name,
               peer_value=theirs.rate, ratio=ratio(ours.rate, theirs.rate, higher_is_better=True),
               detail=detail),
        Metric("ingest_p50_ms", "Ingest over HTTP: median latency", our_p50, "ms",
               peer=peer_name, peer_value=their_p50,
               ratio=ratio(our_p50, their_p50, higher_is_better=False)),
        Metric("ingest_p99_ms", "Ingest over HTTP: 99th-percentile latency", our_p99, "ms",
               target=at_most(P99_TARGET_MS), peer=peer_name, peer_value=their_p99,
               ratio=ratio(our_p99, their_p99, higher_is_better=False)),
    ]


def _batch_metric(ctx: Context, peer_rate: float, peer_name: str) -> list[Metric]:
    """``POST /api/inspections/batch``: inspections stored per second, 500 per request."""
    import json
    import urllib.request

    cfg = ctx.config
    srv = ctx.server
    n = max(4, int((cfg.ingest_s + cfg.ingest_warmup_s) * BATCH_RATE_CAP))
    points = inspection_bodies(ctx, n * BATCH_SIZE, cfg.seed + 11)
    batches = [{"items": points[i:i + BATCH_SIZE]} for i in range(0, len(points), BATCH_SIZE)]
    headers = {**ctx.headers, "Content-Type": "application/json"}
    probe = urllib.request.Request(f"http://{srv.host}:{srv.port}/api/inspections/batch",
                                   data=json.dumps(batches[0]).encode(), headers=headers)
    with urllib.request.urlopen(probe, timeout=120) as answer:  # noqa: S310 - our own server
        first = json.loads(answer.read())
    if first.get("stored") != BATCH_SIZE:
        raise RuntimeError(f"ingest batch: the probe batch was not stored: {str(first)[:300]}")
    ctx.log(f"ingest: POST /api/inspections/batch, {BATCH_SIZE} per request, "
            f"{BATCH_CONNECTIONS} connections")
    raws = [build_request("POST", "/api/inspections/batch", srv.host, srv.port, ctx.headers, b)
            for b in batches[1:]]
    result = run_load(srv.host, srv.port, raws, concurrency=BATCH_CONNECTIONS,
                      duration_s=cfg.ingest_s, warmup_s=cfg.ingest_warmup_s)
    rate = result.rate * BATCH_SIZE
    detail = {
        "endpoint": "POST /api/inspections/batch",
        "items_per_request": BATCH_SIZE,
        "connections": BATCH_CONNECTIONS,
        "Lookback": _summary(result) + f" = {rate:,.0f} inspections/s",
        "peer": f"{peer_rate:.0f} inspections/s, one per request (the single-insert peer, "
                "16 connections)",
    }
    return [Metric("ingest_batch_rate",
                   "Ingest over HTTP: inspections stored per second by the batch endpoint",
                   rate, "inspections/s", target=at_least(10_000), peer=peer_name,
                   peer_value=peer_rate, ratio=ratio(rate, peer_rate, higher_is_better=True),
                   detail=detail)]
