"""Run the benchmark suite: ``python -m bench.run [--quick]`` (``make bench`` is the full run).

Starts a private PostgreSQL + PostGIS cluster in a temporary folder, loads the demo county with
:func:`gis.demo.county.load_demo`, runs each comparison with its peer on the same data in the same
run, prints a table and writes ``results.json`` and ``RESULTS.md`` (by default into ``bench/``).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bench.cases import demo, hotspots, ingest, ogc, townships, wall
from bench.config import Config, Context, preset
from bench.env import BENCH_DB, lookback_server, machine_info, make_token, open_database
from bench.geo import county_frame
from bench.report import (
    Metric,
    markdown,
    results_document,
    text_table,
    write_json,
    write_markdown,
)
from gis.db.embedded import Cluster

FULL_COMMAND = ".venv/bin/python -m bench.run"
QUICK_COMMAND = "lookback bench --quick"


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _guarded(name: str, case: Callable[[Context], list[Metric]], ctx: Context) -> list[Metric]:
    """Run one case; a failure is logged and noted, and the other cases still run."""
    t0 = time.perf_counter()
    try:
        found = case(ctx)
    except Exception as exc:  # noqa: BLE001 - one broken case must not lose the others
        ctx.log(f"{name} FAILED: {exc!r}\n{traceback.format_exc()}")
        ctx.notes.append(f"{name} failed: {exc!r}")
        return []
    ctx.log(f"{name}: done in {time.perf_counter() - t0:.1f} s")
    return found


def _demo_at_scale(ctx: Context) -> Metric:
    """Demo generation again at ``demo_scale`` problems, in a database of its own, dropped after."""
    big = open_database(ctx.db.cluster, f"{ctx.db.name}_demo")
    try:
        metric = demo.run(big, replace(ctx.config, scale=ctx.config.demo_scale), ctx.log)
    finally:
        big.close()
    metric.name = "demo_load_large_rate"
    return metric


def run_suite(
    cfg: Config,
    *,
    cluster: Cluster | None = None,
    db_name: str = BENCH_DB,
    command: str = FULL_COMMAND,
    log: Callable[[str], None] = _log,
) -> dict:
    """Run every case; write ``results.json`` (and ``RESULTS.md``) into ``cfg.out_dir``.

    Without ``cluster`` a private cluster is started in a temporary folder and removed at the
    end; with one (a test's), a fresh database ``db_name`` is made in it.
    """
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    log(f"{cfg.mode} run: " + ("a private PostGIS cluster in a temporary folder" if cluster is None
                               else f"database {db_name} in the given cluster"))
    db = open_database(cluster, db_name)
    metrics: list[Metric] = []
    notes: list[str] = []
    try:
        machine = machine_info(db.engine)
        metrics.append(demo.run(db, cfg, log))
        extent, seat = county_frame(db.engine)
        headers = make_token(db.engine, "admin")
        server = lookback_server(db, cfg.as_of.isoformat())
        ctx = Context(cfg, db, headers, server, log, extent, seat, notes)
        if cfg.runs("hotspots"):
            metrics += _guarded("hotspots", hotspots.run, ctx)
        with server:
            for name, case in (("wall", wall.run), ("ogc", ogc.run), ("ingest", ingest.run)):
                if cfg.runs(name):
                    metrics += _guarded(name, case, ctx)
        if cfg.runs("townships"):
            metrics += _guarded("townships", townships.run, ctx)
        if cfg.demo_scale:
            metrics += _guarded("demo at scale", lambda c: [_demo_at_scale(c)], ctx)
    finally:
        db.close()
    duration = time.perf_counter() - t0
    commands = [command] + [c for c in (FULL_COMMAND, QUICK_COMMAND) if c != command]
    doc = results_document(
        metrics, machine=machine, mode=cfg.mode, commands=commands, settings=cfg.settings(),
        started=started.isoformat(timespec="seconds"), duration_s=duration, notes=notes,
    )
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(doc, out / "results.json")
    if cfg.write_markdown:
        write_markdown(markdown(doc, metrics), out / "RESULTS.md")
    print(text_table(metrics))
    print(f"\n{cfg.mode} run in {duration:.0f} s; wrote {out / 'results.json'}"
          + (f" and {out / 'RESULTS.md'}" if cfg.write_markdown else ""))
    for note in notes:
        print(f"note: {note}")
    return doc


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    p.add_argument("--quick", action="store_true", help="the reduced run (10k problems, < 1 min)")
    p.add_argument("--scale", type=int, help="demo problems (full 100,000; quick 10,000)")
    p.add_argument("--join-points", type=int,
                   help="points of the large township-join table (full 1,000,000; 0 skips it)")
    p.add_argument("--demo-scale", type=int,
                   help="also time demo generation at this many problems, e.g. 1000000 "
                   "(a database of its own; adds about 4 minutes per million on 2 cores)")
    p.add_argument("--out", type=Path, help="folder for results.json and RESULTS.md (bench/)")
    p.add_argument("--no-pygeoapi", action="store_true", help="do not start the pygeoapi peer")
    p.add_argument("--no-markdown", action="store_true", help="write results.json only")
    p.add_argument("--cases", help="comma-separated cases to run (hotspots, wall, ogc, ingest, "
                   "townships; default all); the demo load always runs")
    return p.parse_args(argv)


def config_from(args: argparse.Namespace) -> Config:
    return preset(
        args.quick,
        scale=args.scale,
        join_points=args.join_points,
        demo_scale=args.demo_scale,
        out_dir=args.out,
        run_pygeoapi=False if args.no_pygeoapi else None,
        write_markdown=False if args.no_markdown else None,
        cases=tuple(c.strip() for c in args.cases.split(",") if c.strip()) if args.cases else None,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    run_suite(config_from(args), command=" ".join([FULL_COMMAND, *argv]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
