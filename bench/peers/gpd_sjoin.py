"""Peer for township assignment: GeoPandas in memory — read the points, ``sjoin``, write back.

The points and townships come out of PostGIS with ``read_postgis``, ``geopandas.sjoin``
(``predicate="intersects"``, STRtree inside) pairs them, a point on a shared border keeps the
smaller code (Lookback's rule), and the codes go back with ``COPY`` into a temporary table and
one ``UPDATE … FROM``. Each stage is timed; the peak resident memory of this process is
sampled.
"""

from __future__ import annotations

import os
import time

from sqlalchemy import Engine

from bench.env import PeakMemory


def assign(engine: Engine, table: str, *, write_back: bool = True) -> dict:
    """Assign townships to every point of ``table`` in memory; seconds per stage, memory, codes."""
    import geopandas as gpd

    with PeakMemory(os.getpid()) as mem:
        t0 = time.perf_counter()
        points = gpd.read_postgis(f"SELECT id, geom FROM {table} WHERE geom IS NOT NULL",
                                  engine, geom_col="geom")
        towns = gpd.read_postgis("SELECT code, geom FROM townships", engine, geom_col="geom")
        t1 = time.perf_counter()
        joined = gpd.sjoin(points, towns, how="inner", predicate="intersects")
        codes = joined.sort_values("code").drop_duplicates("id")[["id", "code"]]
        t2 = time.perf_counter()
        t3 = t2
        if write_back:
            raw = engine.raw_connection()
            try:
                conn = raw.driver_connection
                with conn.transaction():
                    conn.execute("CREATE TEMP TABLE peer_codes (id bigint, code text) "
                                 "ON COMMIT DROP")
                    with conn.cursor() as cur, cur.copy(
                        "COPY peer_codes (id, code) FROM STDIN"
                    ) as copy:
                        for row in codes.itertuples(index=False):
                            copy.write_row((int(row.id), row.code))
                    conn.execute(f"UPDATE {table} x SET township_code = c.code "
                                 "FROM peer_codes c WHERE x.id = c.id")
                t3 = time.perf_counter()  # committed
            finally:
                raw.close()
    return {
        "read_s": t1 - t0,
        "sjoin_s": t2 - t1,
        "write_s": t3 - t2,
        "total_s": t3 - t0,
        "in_memory_s": t2 - t0,
        "peak_mb": mem.peak_mb,
        "points": len(points),
        "codes": dict(zip(codes["id"].astype(int), codes["code"], strict=True)),
    }


def agreement(ours: dict[int, str | None], theirs: dict[int, str]) -> float:
    """Share of points given the same township by both (no township on both counts as equal)."""
    if not ours:
        return 1.0
    return sum(1 for i, code in ours.items() if theirs.get(i) == code) / len(ours)
