"""Demo generation: ``lookback demo load --scale N`` into the empty benchmark database.

This is also how every other benchmark gets its data. The target is a 1M-problem county in
under 60 s, i.e. at least 16,667 problems per second (each problem also brings 0.6 complaints,
1.2 inspections, its events and milestones). The full run loads 100k; the 1M time is projected
linearly from the measured rate, and said to be a projection.
"""

from __future__ import annotations

import time

from bench.config import Config
from bench.env import Database
from bench.report import Metric, at_least
from gis.demo.county import load_demo

TARGET_PROBLEMS = 1_000_000
TARGET_S = 60.0


def run(db: Database, cfg: Config, log) -> Metric:  # type: ignore[no-untyped-def]
    stages: dict[str, float] = {}
    last = [time.perf_counter()]

    def progress(stage: str, _n: int) -> None:
        now = time.perf_counter()
        stages[stage] = round(now - last[0], 2)
        last[0] = now

    log(f"demo: load_demo(scale={cfg.scale:,})")
    t0 = last[0] = time.perf_counter()
    summary = load_demo(db.engine, scale=cfg.scale, seed=cfg.seed, as_of=cfg.as_of,
                        progress=progress)
    seconds = time.perf_counter() - t0
    stages["ANALYZE"] = round(time.perf_counter() - last[0], 2)
    rate = cfg.scale / seconds
    projected = TARGET_PROBLEMS / rate
    return Metric(
        "demo_load_rate",
        f"Demo generation: load_demo(scale={cfg.scale:,}) into an empty database",
        rate, "problems/s", target=at_least(TARGET_PROBLEMS / TARGET_S),
        detail={
            "problems": cfg.scale,
            "seconds": round(seconds, 1),
            "rows written": summary.counts,
            "seconds by stage": stages,
            "1M problems, projected from this rate": f"{projected:.0f} s (target < {TARGET_S:g} s)",
        },
        note=f"measured at {cfg.scale:,} problems; the target is 1M in under 60 s",
    )
