"""Where the time goes: ``EXPLAIN (ANALYZE, BUFFERS)`` of the SQL behind each benchmark.

``python -m bench.profile [--scale N] [--url URL] [wall ogc join ingest ...]`` runs the product
functions a benchmark exercises (the wall's three endpoints, an OGC items page, the township
assignment, a complaint's insert), captures every statement they send, and prints each with its
wall time and the plan PostgreSQL executed. Without ``--url`` it starts a private cluster and
loads the demo at ``--scale`` (default 100,000) first. Nothing is changed in the database: every
case runs in a transaction that is rolled back. Plans come from ``auto_explain``, as executed.

For Python-side time, run the benchmark under py-spy instead, e.g.
``py-spy record -o profile.svg --subprocesses -- .venv/bin/python -m bench.run --quick``.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

AS_OF = date(2026, 11, 23)


def profile(engine: Engine, name: str, work: Callable[[Session], object], top: int = 3) -> None:
    """Run ``work`` in a rolled-back session under ``auto_explain``; print the slowest plans.

    ``auto_explain`` (loaded for this session only; it needs a superuser, which the embedded
    cluster's owner is) sends each statement's executed plan back as a notice, so the plans are
    those of the statements as they really ran, in their transaction.
    """
    plans: list[tuple[float, str]] = []

    def on_notice(diag) -> None:  # type: ignore[no-untyped-def]
        message = diag.message_primary or ""
        match = re.match(r"duration: ([0-9.]+) ms", message)
        if match:
            plans.append((float(match.group(1)), message))

    with Session(engine) as session:
        conn = session.connection()
        raw = conn.connection.driver_connection
        for setting in (
            "LOAD 'auto_explain'",
            "SET auto_explain.log_min_duration = 0",
            "SET auto_explain.log_analyze = on",
            "SET auto_explain.log_buffers = on",
            "SET auto_explain.log_nested_statements = on",
            "SET auto_explain.log_level = 'notice'",
            "SET client_min_messages = 'notice'",
        ):
            session.execute(text(setting))
        raw.add_notice_handler(on_notice)
        try:
            t0 = time.perf_counter()
            work(session)
            total = time.perf_counter() - t0
        finally:
            raw.remove_notice_handler(on_notice)
            session.rollback()
    print(f"\n=== {name}: {total * 1000:.0f} ms, {len(plans)} statements")
    for elapsed, message in sorted(plans, key=lambda p: -p[0])[:top]:
        print(f"\n--- {elapsed:.0f} ms\n{message}")


def _wall(engine: Engine) -> None:
    from bench.cases.wall import wall_bbox
    from bench.geo import county_frame
    from gis.ledger.query import ProblemQuery, map_class_counts
    from gis.ledger.scorecard import township_scorecard
    from gis.maps.live import complaint_heat, problems_for_view

    extent, seat = county_frame(engine)
    for zoom, bbox in ((12, extent), (14, wall_bbox(seat, 14))):
        profile(engine, f"wall problems zoom {zoom}", lambda s, z=zoom, b=bbox: problems_for_view(
            s, today=AS_OF, zoom=z, query=ProblemQuery(bbox=b)))
    profile(engine, "wall summary: counts", lambda s: map_class_counts(s, today=AS_OF))
    profile(engine, "wall summary: scorecard", lambda s: township_scorecard(
        s, today=AS_OF, query=ProblemQuery()))
    profile(engine, "wall heat", lambda s: complaint_heat(s, today=AS_OF))


def _ogc(engine: Engine) -> None:
    from bench.geo import county_frame
    from gis.ogc.features import PROBLEMS, FeatureQuery, count_features, features_page

    (x0, y0, x1, y1), _ = county_frame(engine)
    box = (x0 + (x1 - x0) * 0.4, y0 + (y1 - y0) * 0.4, x0 + (x1 - x0) * 0.6, y0 + (y1 - y0) * 0.6)
    query = FeatureQuery(bbox=box, limit=1000)
    profile(engine, "ogc items page", lambda s: features_page(s, PROBLEMS, query, today=AS_OF))
    profile(engine, "ogc count", lambda s: count_features(s, PROBLEMS, query, today=AS_OF))


def _join(engine: Engine) -> None:
    """The township assignment's own EXPLAIN ANALYZE, which also times its foreign-key checks
    (auto_explain would add its overhead to each of those 100k nested statements)."""
    from gis.geo.townships import township_of_sql

    sql = f"""
        UPDATE problems AS x SET township_code = {township_of_sql("x.geom")}
        WHERE x.township_code IS NULL AND x.geom IS NOT NULL
          AND EXISTS (SELECT 1 FROM townships t WHERE ST_Intersects(t.geom, x.geom))
    """  # the statement of gis.geo.townships.assign_missing_townships
    with Session(engine) as s:
        s.execute(text("UPDATE problems SET township_code = NULL"))
        t0 = time.perf_counter()
        plan = s.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql)).scalars().all()
        total = time.perf_counter() - t0
        s.rollback()
    print(f"\n=== township assignment: {total * 1000:.0f} ms\n" + "\n".join(plan))


def _ingest(engine: Engine) -> None:
    from gis.ledger.complaints import ComplaintInput, create_complaint

    def work(s: Session) -> None:
        create_complaint(s, ComplaintInput(
            code="PROFILE-1", channel="online", kind="air", category="dust",
            received_at=datetime.now(UTC),
            geometry={"type": "Point", "coordinates": [113.32, 34.41]}))

    profile(engine, "one complaint", work, top=5)


CASES = {"wall": _wall, "ogc": _ogc, "join": _join, "ingest": _ingest}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cases", nargs="*", help=f"any of {', '.join(CASES)} (default: all)")
    p.add_argument("--url", help="an existing database holding the demo (else a private one)")
    p.add_argument("--scale", type=int, default=100_000, help="demo problems to load first")
    args = p.parse_args(argv)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        p.error(f"unknown case {unknown[0]!r}; choose from {', '.join(CASES)}")
    db = None
    if args.url:
        from gis.db.engine import make_engine

        engine = make_engine(args.url)
    else:
        from bench.env import open_database
        from gis.demo.county import load_demo

        db = open_database()
        engine = db.engine
        load_demo(engine, scale=args.scale, as_of=AS_OF)
    try:
        for name in args.cases or CASES:
            CASES[name](engine)
    finally:
        if db is not None:
            db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
