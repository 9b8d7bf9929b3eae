"""Township assignment (属地), the spatial join of points to townships, against GeoPandas.

Lookback's :func:`gis.geo.townships.assign_missing_townships` runs in PostGIS: one ``UPDATE`` with a
GiST-indexed subquery per row, the border rule in SQL. It is timed on the demo's ``problems``
(every code cleared first in an earlier, committed transaction; the assignment committed), with
the peak private memory of the database backend doing it. The peer starts from the same cleared
table and commits its codes too. The full run repeats it on a scratch table of
``join_points`` points (the demo's problem points resampled with 300 m of jitter) with the very
statement the function runs, since the function only accepts the ledger's tables.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.config import Context
from bench.env import PeakMemory
from bench.peers import gpd_sjoin
from bench.report import Metric, at_most, ratio
from gis.geo.townships import assign_missing_townships, township_of_sql

SCRATCH = "bench_points"
SPEEDUP_TARGET = 2.0


def _vacuum(ctx: Context, table: str) -> None:
    with ctx.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM ANALYZE {table}"))


def clear(ctx: Context, table: str) -> None:
    """Forget every township code of ``table`` in a committed transaction, then vacuum, so the
    timed assignment starts from rows written by an earlier transaction, as in real use."""
    with ctx.db.engine.begin() as conn:
        conn.execute(text(f"UPDATE {table} SET township_code = NULL "
                          "WHERE township_code IS NOT NULL"))
    _vacuum(ctx, table)


def _timed(ctx: Context, table: str, assign: Callable[[Session], int]) -> dict:
    """Clear ``table``'s codes, then time ``assign`` and commit it, with the backend's memory."""
    clear(ctx, table)
    with Session(ctx.db.engine) as s:
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with PeakMemory(pid, private=True) as mem:
            t0 = time.perf_counter()
            n = assign(s)
            s.commit()
            seconds = time.perf_counter() - t0
        codes = dict(s.execute(text(f"SELECT id, township_code FROM {table}")).all())
    _vacuum(ctx, table)
    return {"seconds": seconds, "rows": n, "peak_mb": mem.peak_mb, "codes": codes}


def _ours_problems(ctx: Context) -> dict:
    return _timed(ctx, "problems", lambda s: assign_missing_townships(s, "problems"))


def _ours_scratch(ctx: Context) -> dict:
    sql = f"""
        UPDATE {SCRATCH} AS x SET township_code = {township_of_sql("x.geom")}
        WHERE x.township_code IS NULL AND x.geom IS NOT NULL
          AND EXISTS (SELECT 1 FROM townships t WHERE ST_Intersects(t.geom, x.geom))
    """  # the statement of gis.geo.townships.assign_missing_townships
    return _timed(ctx, SCRATCH, lambda s: int(s.execute(text(sql)).rowcount or 0))


def _peer(ctx: Context, table: str) -> dict:
    clear(ctx, table)
    found = gpd_sjoin.assign(ctx.db.engine, table)
    _vacuum(ctx, table)
    return found


def _make_scratch(ctx: Context, n: int) -> float:
    """Create the scratch points table with ``n`` points; seconds it took (not measured)."""
    t0 = time.perf_counter()
    with ctx.db.engine.connect() as conn:
        base = np.asarray(
            conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM problems "
                              "WHERE geom IS NOT NULL")).all(), dtype=float)
    rng = np.random.default_rng(ctx.config.seed)
    pick = rng.integers(0, len(base), n)
    jitter = rng.normal(0, 300, (n, 2)) / np.array([92_000.0, 111_000.0])  # metres → degrees
    xy = base[pick] + jitter
    raw = ctx.db.engine.raw_connection()
    try:
        conn = raw.driver_connection
        conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
        conn.execute(f"CREATE TABLE {SCRATCH} (id bigint PRIMARY KEY, township_code text, "
                     "geom geometry(Point, 4490))")
        with conn.cursor() as cur, cur.copy(f"COPY {SCRATCH} (id, geom) FROM STDIN") as copy:
            for i, (x, y) in enumerate(xy):
                copy.write_row((i + 1, f"SRID=4490;POINT({x:.7f} {y:.7f})"))
        conn.execute(f"CREATE INDEX {SCRATCH}_geom ON {SCRATCH} USING gist (geom)")
        raw.commit()
    finally:
        raw.close()
    _vacuum(ctx, SCRATCH)
    return time.perf_counter() - t0


def _metric(name: str, title: str, ours: list[dict], peer: list[dict], note: str) -> Metric:
    our_s = statistics.median(o["seconds"] for o in ours)
    peer_s = statistics.median(p["total_s"] for p in peer)
    peer_mem_s = statistics.median(p["in_memory_s"] for p in peer)
    sjoin_s = statistics.median(p["sjoin_s"] for p in peer)
    agree = gpd_sjoin.agreement(ours[0]["codes"], peer[0]["codes"])
    p0 = peer[0]
    detail = {
        "points": p0["points"],
        "repetitions": len(ours),
        "ours, all runs s": [round(o["seconds"], 2) for o in ours],
        "ours, peak backend memory MB": _max(o["peak_mb"] for o in ours),
        "peer stages s (read_postgis / sjoin+dedupe / COPY+UPDATE write-back)": (
            f"{p0['read_s']:.2f} / {p0['sjoin_s']:.2f} / {p0['write_s']:.2f}"
        ),
        "peer, peak process memory MB": _max(p["peak_mb"] for p in peer),
        "peer in memory only (read + sjoin, no write-back) s": peer_mem_s,
        "ratio against read + sjoin only": ratio(our_s, peer_mem_s, higher_is_better=False),
        "ratio against sjoin alone (points already in memory)": ratio(
            our_s, sjoin_s, higher_is_better=False),
        "same township as GeoPandas": f"{agree * 100:.3f} %",
    }
    return Metric(
        name, title.format(n=f"{p0['points']:,}"), our_s, "s",
        target=at_most(peer_s / SPEEDUP_TARGET),
        peer="GeoPandas read_postgis + sjoin(intersects) + write-back (COPY + UPDATE)",
        peer_value=peer_s, ratio=ratio(our_s, peer_s, higher_is_better=False),
        detail=detail, note=note,
    )


def run(ctx: Context) -> list[Metric]:
    cfg = ctx.config
    ctx.log(f"townships: assign_missing_townships on {cfg.scale:,} problems ×{cfg.join_reps}")
    ours, peer = [], []
    for _ in range(cfg.join_reps):  # alternating, so that drift on the machine hits both
        ours.append(_ours_problems(ctx))
        peer.append(_peer(ctx, "problems"))
    metrics = [
        _metric(
            "township_join_s", "Township assignment of {n} problem points", ours,
            peer, "target = 2× faster than GeoPandas end to end (the codes stored) in this run",
        )
    ]
    metrics.append(_memory_metric("township_join_peak_mb", peer[0]["points"], ours, peer))
    if cfg.join_points:
        ctx.log(f"townships: scratch table of {cfg.join_points:,} points")
        made = _make_scratch(ctx, cfg.join_points)
        ours_big, peer_big = [], []
        for _ in range(cfg.join_points_reps):
            ours_big.append(_ours_scratch(ctx))
            peer_big.append(_peer(ctx, SCRATCH))
        with ctx.db.engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {SCRATCH}"))
        metrics.append(_metric(
            "township_join_large_s", "Township assignment of {n} points (scratch table)",
            ours_big, peer_big,
            f"the statement of assign_missing_townships on a scratch table; building it took "
            f"{made:.0f} s (not measured)",
        ))
        metrics.append(_memory_metric("township_join_large_peak_mb", peer_big[0]["points"],
                                      ours_big, peer_big))
    return metrics


def _max(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _memory_metric(name: str, n: int, ours: list[dict], peer: list[dict]) -> Metric:
    our_mb = _max(o["peak_mb"] for o in ours)
    peer_mb = _max(p["peak_mb"] for p in peer)
    return Metric(
        name, f"Township assignment of {n:,} points: peak private memory", our_mb, "MB",
        peer="GeoPandas in this process (read_postgis + sjoin + write-back)", peer_value=peer_mb,
        ratio=ratio(our_mb, peer_mb, higher_is_better=False),
        note="ours: growth of the PostgreSQL backend's private anonymous memory while the UPDATE "
        "runs (shared buffers excluded), sampled every 50 ms; peer: growth of the bench "
        "process's resident set, sampled every 20 ms",
    )
