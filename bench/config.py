"""How big and how long each benchmark runs: the full run, the quick run, and what they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path

from bench.env import Database, Server

OUT_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Config:
    mode: str  # "full", "quick" or a test's own name
    scale: int  # demo problems (complaints 0.6×, inspections 1.2×)
    seed: int = 20261123
    as_of: date = date(2026, 11, 23)
    # ingest over HTTP: each side for ingest_s seconds after an unmeasured warm-up
    ingest_s: float = 10.0
    ingest_warmup_s: float = 1.5
    ingest_concurrency: int = 16
    # the wall: page opens, refresh rounds over the views, naive Folium renders
    wall_opens: int = 3
    wall_rounds: int = 4
    peer_wall_reps: int = 2
    # hotspots: repetitions; hex cell width and distance band in metres
    hotspot_reps: int = 5
    peer_hotspot_reps: int = 3
    hotspot_cell_m: float = 250.0
    hotspot_band_m: float = 1000.0
    # OGC items pages of ogc_limit features, each side for ogc_s seconds
    ogc_s: float = 10.0
    ogc_concurrency: int = 4
    ogc_limit: int = 1000
    run_pygeoapi: bool = True
    # township assignment: repetitions; the extra synthetic points table (0: skipped)
    join_reps: int = 2
    join_points: int = 1_000_000
    join_points_reps: int = 1
    # demo generation measured again at this scale in a database of its own (0: not run)
    demo_scale: int = 0
    out_dir: Path = OUT_DIR
    write_markdown: bool = True
    # which cases run (empty: all of them)
    cases: tuple[str, ...] = ()

    def runs(self, case: str) -> bool:
        """Whether ``case`` is selected (every case when none was named)."""
        return not self.cases or case in self.cases

    def settings(self) -> dict:
        """The knobs worth printing with the results."""
        skip = {"out_dir", "write_markdown", "mode"}
        return {k: (str(v) if isinstance(v, date) else v)
                for k, v in asdict(self).items() if k not in skip}


FULL = Config(mode="full", scale=100_000)
QUICK = Config(
    mode="quick",
    scale=10_000,
    ingest_s=2.0,
    ingest_warmup_s=0.5,
    wall_opens=1,
    wall_rounds=1,
    peer_wall_reps=1,
    hotspot_reps=3,
    peer_hotspot_reps=1,
    ogc_s=2.0,
    join_reps=1,
    join_points=0,
)


def preset(quick: bool, **overrides: object) -> Config:
    base = QUICK if quick else FULL
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


@dataclass
class Context:
    """What the cases share: the config, the database, the Lookback server and a token."""

    config: Config
    db: Database
    headers: dict[str, str]
    server: Server
    log: Callable[[str], None]
    extent: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    seat: tuple[float, float] = (0.0, 0.0)
    notes: list[str] = field(default_factory=list)
