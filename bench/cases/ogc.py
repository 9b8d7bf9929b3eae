"""OGC API – Features: pages of 1,000 problems with a bbox, Lookback against pygeoapi; and
reading the whole collection through ``next`` links, Lookback against tipg.

Both servers get the same list of requests: boxes over the county that each hold at least two
pages of problems, first and second page (``offset`` 0 and 1,000), from ``ogc_concurrency``
keep-alive connections for ``ogc_s`` seconds. Both count the matches (``numberMatched``) on every
full page, as the standard asks.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode, urlsplit

from sqlalchemy import text

from bench.config import Context
from bench.loadgen import Browser, LoadResult, build_request, run_load
from bench.peers import pygeoapi_server, tipg_server
from bench.report import Metric, at_least, ratio

GRIDS = ((6, 4), (4, 3), (3, 2), (2, 2), (1, 1))  # boxes across and down the county
MIN_BOXES = 8
STORAGE_CRS = "http://www.opengis.net/def/crs/EPSG/0/4490"


def boxes(ctx: Context, limit: int) -> list[tuple[tuple[float, float, float, float], int]]:
    """Boxes over the county holding at least ``limit`` problems each, and how many they hold:
    from a 6×4 grid of the county's extent, then coarser grids until there are enough."""
    x0, y0, x1, y1 = ctx.extent
    found: list[tuple[tuple[float, float, float, float], int]] = []
    with ctx.db.engine.connect() as conn:
        for nx, ny in GRIDS:
            dx, dy = (x1 - x0) / nx, (y1 - y0) / ny
            for i in range(nx):
                for j in range(ny):
                    box = (x0 + i * dx, y0 + j * dy, x0 + (i + 1) * dx, y0 + (j + 1) * dy)
                    n = conn.execute(
                        text("SELECT count(*) FROM problems "
                             "WHERE ST_Intersects(geom, ST_MakeEnvelope(:a, :b, :c, :d, 4490))"),
                        {"a": box[0], "b": box[1], "c": box[2], "d": box[3]},
                    ).scalar_one()
                    if n >= limit:
                        found.append((box, int(n)))
            if len(found) >= MIN_BOXES:
                break
    return found or [(ctx.extent, 0)]  # a tiny demo: the whole county, one partial page


def queries(ctx: Context, limit: int) -> list[dict[str, str | int]]:
    out = []
    for box, n in boxes(ctx, limit):
        for offset in (0, limit) if n >= 2 * limit else (0,):
            out.append({"limit": limit, "offset": offset,
                        "bbox": ",".join(f"{v:.6f}" for v in box)})
    return out


def _load(host: str, port: int, paths: list[str], headers: dict, ctx: Context) -> LoadResult:
    raws = [build_request("GET", p, host, port, headers) for p in paths]
    cfg = ctx.config
    return run_load(
        host, port, lambda i: raws[i % len(raws)], concurrency=cfg.ogc_concurrency,
        duration_s=cfg.ogc_s, warmup_s=min(1.0, cfg.ogc_s / 4),
    )


def _first_page(host: str, port: int, path: str, headers: dict) -> dict:
    with Browser(host, port, headers) as browser:
        _, resp = browser.get(path, accept="application/geo+json")
    if resp.status != 200:
        raise RuntimeError(f"GET {path}: HTTP {resp.status}: {resp.body[:300]!r}")
    doc = resp.json()
    return {"bytes": len(resp.body), "returned": len(doc.get("features", [])),
            "matched": doc.get("numberMatched")}


def page_through(host: str, port: int, first: str, headers: dict, budget_s: float) -> dict:
    """Follow ``next`` links from ``first`` to the end, again and again for ``budget_s``
    seconds (one connection, as GDAL and QGIS read); features per second and what was seen."""
    features = pages = rounds = 0
    matched: set = set()
    t0 = time.perf_counter()
    with Browser(host, port, headers) as browser:
        while True:
            path, seen = first, 0
            while path:
                _, resp = browser.get(path, accept="application/geo+json")
                if resp.status != 200:
                    raise RuntimeError(f"GET {path}: HTTP {resp.status}: {resp.body[:300]!r}")
                doc = resp.json()
                seen += len(doc.get("features", []))
                pages += 1
                matched.add(doc.get("numberMatched"))
                nxt = [link["href"] for link in doc.get("links", []) if link.get("rel") == "next"]
                path = ""
                if nxt:
                    parts = urlsplit(nxt[0])
                    path = parts.path + (f"?{parts.query}" if parts.query else "")
            features += seen
            rounds += 1
            if time.perf_counter() - t0 >= budget_s:
                break
    elapsed = time.perf_counter() - t0
    return {"rate": features / elapsed, "features": features, "pages": pages, "rounds": rounds,
            "per_round": seen, "matched": sorted(m for m in matched if m is not None),
            "elapsed_s": elapsed}


def _paging_text(r: dict) -> str:
    return (f"{r['rate']:,.0f} features/s: {r['rounds']} reads of {r['per_round']:,} features "
            f"({r['pages']} pages) in {r['elapsed_s']:.1f} s; numberMatched {r['matched']}")


def paging_metric(ctx: Context) -> Metric:
    """Reading the whole ``problems`` collection through ``next`` links, Lookback against tipg."""
    cfg = ctx.config
    limit = cfg.ogc_limit
    srv = ctx.server
    ctx.log(f"ogc: paging the whole collection, pages of {limit}, Lookback")
    ours = page_through(srv.host, srv.port, f"/ogc/collections/problems/items?limit={limit}",
                        ctx.headers, cfg.ogc_s)
    detail = {"Lookback": _paging_text(ours), "connections": 1}
    peer_name, peer_rate = "tipg", None
    try:
        with tipg_server.server(ctx.db) as peer:
            ctx.log("ogc: paging, tipg")
            theirs = page_through(
                peer.host, peer.port,
                f"/collections/{tipg_server.COLLECTION}/items?limit={limit}", {}, cfg.ogc_s,
            )
        peer_rate = theirs["rate"]
        peer_name = (f"tipg {tipg_server.version()} on the same table (asyncpg, offset paging, "
                     "1 uvicorn worker)")
        detail["tipg"] = _paging_text(theirs)
        if theirs["per_round"] != ours["per_round"]:
            ctx.notes.append(f"OGC paging: Lookback read {ours['per_round']} features, tipg "
                             f"{theirs['per_round']}")
    except (tipg_server.PeerUnavailable, RuntimeError) as exc:
        peer_name = f"tipg — peer unavailable: {exc}"
        ctx.log(f"ogc: {peer_name}")
    return Metric(
        "ogc_paging_rate",
        f"OGC API – Features: the whole problems collection through next links, pages of {limit:,}",
        ours["rate"], "features/s",
        target=at_least(5 * peer_rate) if peer_rate else None,
        peer=peer_name, peer_value=peer_rate,
        ratio=ratio(ours["rate"], peer_rate, higher_is_better=True), detail=detail,
    )


def _latency(r: LoadResult) -> str:
    return (f"{r.rate:.1f} req/s, p50 {r.percentile_ms(50) or 0:.0f} ms, "
            f"p99 {r.percentile_ms(99) or 0:.0f} ms, {r.count} requests, errors {r.errors}")


def run(ctx: Context) -> list[Metric]:
    cfg = ctx.config
    qs = queries(ctx, cfg.ogc_limit)
    ours_paths = ["/ogc/collections/problems/items?" + urlencode(q) for q in qs]
    # pygeoapi turns a CRS84 bbox into the storage CRS with EPSG:4490's latitude-first axis order
    # and then builds the envelope as if it were x/y, matching nothing; naming the storage CRS as
    # bbox-crs skips that transformation, so the same lon/lat numbers select the same rows.
    peer_q = [{"f": "json", **q, "bbox-crs": STORAGE_CRS} for q in qs]
    peer_paths = ["/collections/problems/items?" + urlencode(q) for q in peer_q]
    ctx.log(f"ogc: {len(qs)} bbox pages of {cfg.ogc_limit}, Lookback")
    srv = ctx.server
    headers = {**ctx.headers, "Accept": "application/geo+json"}
    our_first = _first_page(srv.host, srv.port, ours_paths[0], headers)
    ours = _load(srv.host, srv.port, ours_paths, headers, ctx)
    if ours.ok == 0:
        raise RuntimeError(f"OGC items failed: {ours.first_error}")

    detail = {
        "requests in the list": len(qs),
        "Lookback": _latency(ours),
        "Lookback page": f"{our_first['returned']} features, {our_first['bytes'] / 1e6:.2f} MB, "
        f"numberMatched {our_first['matched']}",
        "problems in the table": cfg.scale,
    }
    note = (f"measured at {cfg.scale:,} problems; 1M was out of reach in the ~10-minute budget "
            "(the 1M demo load alone takes several minutes on this machine)")
    peer_name = "pygeoapi PostgreSQL provider on the same table (Starlette, 1 uvicorn worker)"
    peer_rate = None
    if not cfg.run_pygeoapi:
        peer_name = "pygeoapi — not run in this configuration"
    else:
        try:
            with pygeoapi_server.server(ctx.db, ctx.extent) as peer:
                ctx.log("ogc: pygeoapi")
                peer_first = _first_page(peer.host, peer.port, peer_paths[0], {})
                theirs = _load(peer.host, peer.port, peer_paths, {}, ctx)
            if theirs.ok == 0:
                raise pygeoapi_server.PeerUnavailable(f"every request failed: {theirs.first_error}")
            peer_rate = theirs.rate
            detail["pygeoapi"] = _latency(theirs)
            detail["pygeoapi page"] = (
                f"{peer_first['returned']} features, {peer_first['bytes'] / 1e6:.2f} MB, "
                f"numberMatched {peer_first['matched']}"
            )
            if peer_first["matched"] != our_first["matched"]:
                ctx.notes.append(
                    f"OGC: numberMatched differs on the first box (Lookback "
                    f"{our_first['matched']}, pygeoapi {peer_first['matched']})"
                )
        except (pygeoapi_server.PeerUnavailable, RuntimeError) as exc:
            peer_name = f"pygeoapi — peer unavailable: {exc}"
            ctx.log(f"ogc: {peer_name}")
    return [
        paging_metric(ctx),
        Metric(
            "ogc_items_rate",
            f"OGC API – Features: pages of {cfg.ogc_limit:,} problems with a bbox",
            ours.rate, "req/s",
            target=at_least(3 * peer_rate) if peer_rate else None,
            peer=peer_name, peer_value=peer_rate,
            ratio=ratio(ours.rate, peer_rate, higher_is_better=True),
            detail=detail, note=note,
        )
    ]
