"""The command-centre wall: open (page + first refresh) and refresh, latency and bytes.

A refresh is what ``static/wall/wall.js`` does every few seconds: ``/api/wall/summary``,
``/api/wall/problems?zoom=&bbox=`` and ``/api/wall/complaints-heat`` at once, over keep-alive
connections, finished when the last one is. The views are a 1920×1080 wall at zooms 10 to 15,
from the whole county (township bubbles, then grid cells) down to streets around the county seat
(points). Opening is ``GET /wall`` (the HTML; scripts and styles are static and cached) plus the
first refresh at the county view. The peer is the naive map of :mod:`bench.peers.naive_wall`.
"""

from __future__ import annotations

import math
import statistics
from urllib.parse import urlencode

import numpy as np

from bench.config import Context
from bench.loadgen import Browser, _gather, build_request
from bench.peers import naive_wall
from bench.report import Metric, at_most, ratio

WALL_PX = (1920, 1080)
ENDPOINT_LABELS = ("summary", "problems", "heat")
OPEN_ZOOM = 12  # a 1920×1080 wall showing the whole demo county


def wall_bbox(centre: tuple[float, float], zoom: int) -> tuple[float, float, float, float]:
    """The lon/lat box a 1920×1080 Web-Mercator view at ``zoom`` shows around ``centre``."""
    deg_per_px = 360.0 / (256 * 2**zoom)
    half_w = WALL_PX[0] * deg_per_px / 2
    half_h = WALL_PX[1] * deg_per_px * math.cos(math.radians(centre[1])) / 2
    return (centre[0] - half_w, centre[1] - half_h, centre[0] + half_w, centre[1] + half_h)


def views(ctx: Context) -> list[tuple[str, int, tuple[float, float, float, float]]]:
    county = ctx.extent
    return [
        ("county z10", 10, county),
        ("county z12", 12, county),
        ("seat z13", 13, wall_bbox(ctx.seat, 13)),
        ("seat z14", 14, wall_bbox(ctx.seat, 14)),
        ("seat z15", 15, wall_bbox(ctx.seat, 15)),
    ]


def refresh_paths(zoom: int, bbox: tuple[float, float, float, float]) -> list[str]:
    box = ",".join(f"{v:.6f}" for v in bbox)
    return [
        "/api/wall/summary",
        "/api/wall/problems?" + urlencode({"zoom": zoom, "bbox": box}),
        "/api/wall/complaints-heat",
    ]


def _check(responses, what: str) -> None:  # type: ignore[no-untyped-def]
    for r in responses:
        if r.status != 200:
            raise RuntimeError(f"{what}: HTTP {r.status}: {r.body[:300]!r}")


def run(ctx: Context) -> list[Metric]:
    cfg = ctx.config
    server = ctx.server
    the_views = views(ctx)
    open_view = ("county z12", OPEN_ZOOM, ctx.extent)

    opens, open_bytes, html_ms = [], [], []
    for _ in range(cfg.wall_opens):
        with Browser(server.host, server.port, ctx.headers) as browser:
            t_html, page = browser.get("/wall?refresh=15", accept="text/html")
            _check([page], "GET /wall")
            t_ref, responses = browser.get_parallel(refresh_paths(open_view[1], open_view[2]))
            _check(responses, "first refresh")
        opens.append(t_html + t_ref)
        html_ms.append(t_html * 1000)
        open_bytes.append(len(page.body) + sum(len(r.body) for r in responses))

    per_view: dict[str, dict[str, list]] = {n: {"ms": [], "bytes": []} for n, _, _ in the_views}
    per_endpoint: dict[str, list[float]] = {}
    modes: dict[str, str] = {}
    unchanged: dict[str, dict] = {}
    with Browser(server.host, server.port, ctx.headers) as browser:
        browser.get_parallel(refresh_paths(10, ctx.extent))  # connections open, off the clock
        for _ in range(cfg.wall_rounds):
            for name, zoom, bbox in the_views:
                elapsed, responses = browser.get_parallel(refresh_paths(zoom, bbox))
                _check(responses, f"refresh {name}")
                per_view[name]["ms"].append(elapsed * 1000)
                per_view[name]["bytes"].append(sum(len(r.body) for r in responses))
                for label, r in zip(ENDPOINT_LABELS, responses, strict=True):
                    key = label if label != "problems" else f"problems z{zoom}"
                    per_endpoint.setdefault(key, []).append(r.elapsed_s * 1000)
                fc = responses[1].json()
                modes[name] = (
                    f"{fc.get('mode')}, {len(fc.get('features', []))} features"
                    + (", truncated" if fc.get("truncated") else "")
                )
        # The same views again, sending the ETags of the answers just received (as wall.js
        # does): what an unchanged view costs.
        for name, zoom, bbox in the_views:
            paths = refresh_paths(zoom, bbox)
            _, first = browser.get_parallel(paths)
            _check(first, f"refresh {name}")
            raws = []
            for path, r in zip(paths, first, strict=True):
                etag = {k.lower(): v for k, v in r.headers.items()}.get("etag")
                headers = {"Accept": "application/json", **ctx.headers}
                if etag:
                    headers["If-None-Match"] = etag
                raws.append(build_request("GET", path, server.host, server.port, headers))
            elapsed, again = browser.run(
                _gather(server.host, server.port, browser.conns, raws)
            )
            unchanged[name] = {
                "ms": elapsed * 1000, "bytes": sum(len(r.body) for r in again),
                "statuses": [r.status for r in again],
            }
    all_ms = [t for v in per_view.values() for t in v["ms"]]
    refresh_p50 = float(np.percentile(all_ms, 50))
    refresh_p90 = float(np.percentile(all_ms, 90))
    view_bytes = {name: statistics.median(v["bytes"]) for name, v in per_view.items()}
    worst_view = max(view_bytes, key=view_bytes.__getitem__)
    max_bytes = view_bytes[worst_view]

    ctx.log(f"wall: naive peer ×{cfg.peer_wall_reps} (read_postgis + Folium of every point)")
    centre = ((ctx.extent[0] + ctx.extent[2]) / 2, (ctx.extent[1] + ctx.extent[3]) / 2)
    naive = [naive_wall.render(ctx.db.engine, centre) for _ in range(cfg.peer_wall_reps)]
    naive_ms = statistics.median(n["seconds"] for n in naive) * 1000
    naive_bytes = statistics.median(n["bytes"] for n in naive)
    peer_name = (
        f"GeoPandas read_postgis + Folium GeoJson of all {naive[0]['features']:,} points "
        "(a refresh rebuilds the page)"
    )
    read_ms = statistics.median(n["read_postgis_s"] for n in naive) * 1000
    folium_ms = statistics.median(n["folium_s"] for n in naive) * 1000
    naive_detail = (
        f"{naive_ms:,.0f} ms (read_postgis {read_ms:,.0f} ms, Folium {folium_ms:,.0f} ms), "
        f"{naive_bytes / 1e6:.1f} MB of HTML, ×{len(naive)}"
    )
    open_ms = statistics.median(opens) * 1000
    view_detail = {
        name: f"p50 {statistics.median(v['ms']):.0f} ms, {view_bytes[name] / 1e3:,.1f} kB, "
        f"{modes.get(name, '')}"
        for name, v in per_view.items()
    }
    return [
        Metric(
            "wall_open_ms", "Wall open: GET /wall + first refresh (county view)", open_ms, "ms",
            target=at_most(1000), peer=peer_name, peer_value=naive_ms,
            ratio=ratio(open_ms, naive_ms, higher_is_better=False),
            detail={
                "opens": len(opens),
                "all opens ms": [round(t * 1000) for t in opens],
                "GET /wall alone, median ms": statistics.median(html_ms),
                "bytes at open (HTML + first refresh)": int(statistics.median(open_bytes)),
                "naive page": naive_detail,
            },
            note="static scripts and styles are cached by the browser and not counted",
        ),
        Metric(
            "wall_refresh_p50_ms", "Wall refresh: summary + problems + heat in parallel, p50",
            refresh_p50, "ms", target=at_most(150), peer=peer_name, peer_value=naive_ms,
            ratio=ratio(refresh_p50, naive_ms, higher_is_better=False),
            detail={
                "refreshes": len(all_ms), "p90 ms": refresh_p90, "by view": view_detail,
                "median ms by request (in parallel)": {
                    k: round(statistics.median(v)) for k, v in per_endpoint.items()
                },
            },
        ),
        Metric(
            "wall_refresh_bytes", f"Wall refresh: bytes of the heaviest view ({worst_view})",
            max_bytes, "bytes", target=at_most(1_000_000), peer=peer_name,
            peer_value=naive_bytes, ratio=ratio(max_bytes, naive_bytes, higher_is_better=False),
            detail={"bytes by view": {k: int(v) for k, v in view_bytes.items()}},
            note="uncompressed JSON bodies (the app sends no Content-Encoding)",
        ),
        Metric(
            "wall_refresh_unchanged_bytes",
            "Wall refresh of an unchanged view (If-None-Match): bytes of the heaviest view",
            max(v["bytes"] for v in unchanged.values()), "bytes", target=at_most(300_000),
            peer=peer_name, peer_value=naive_bytes,
            ratio=ratio(max(v["bytes"] for v in unchanged.values()) or 1, naive_bytes,
                        higher_is_better=False),
            detail={name: f"{v['bytes']:,} bytes, {v['ms']:.0f} ms, HTTP {v['statuses']}"
                    for name, v in unchanged.items()},
            note="summary, problems and complaint heat answer 304 without a body",
        ),
    ]
