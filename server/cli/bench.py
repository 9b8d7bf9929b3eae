"""``lookback bench [--quick]``: the benchmark suite of ``bench/`` from the command line.

The suite lives in the source tree (``bench/`` beside ``server/``), not in the installed package,
so this command works from a checkout (``pip install -e .``). ``make bench`` runs the same suite
in full with ``.venv/bin/python -m bench.run``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

bench_app = typer.Typer(
    help="Benchmarks against what users would otherwise use (needs the source tree's bench/).",
    invoke_without_command=True,
    no_args_is_help=False,
)

SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _import_suite():  # type: ignore[no-untyped-def]
    if not (SOURCE_ROOT / "bench" / "run.py").exists():
        typer.echo(
            "error: the benchmark suite is in the source tree's bench/ folder, which this "
            "installation does not have; run it from a checkout (pip install -e .)",
            err=True,
        )
        raise typer.Exit(1)
    if str(SOURCE_ROOT) not in sys.path:
        sys.path.insert(0, str(SOURCE_ROOT))
    from bench import run

    return run


@bench_app.callback(invoke_without_command=True)
def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="the reduced run: 10k problems, under a minute")
    ] = False,
    scale: Annotated[
        int | None, typer.Option(help="demo problems (full run 100,000; quick 10,000)", min=100)
    ] = None,
    join_points: Annotated[
        int | None,
        typer.Option(help="points of the large township-join table (full 1,000,000; 0 skips)",
                     min=0),
    ] = None,
    demo_scale: Annotated[
        int | None,
        typer.Option(help="also time demo generation at this many problems (e.g. 1000000)",
                     min=0),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="folder for results.json and RESULTS.md (default bench/)")
    ] = None,
    no_pygeoapi: Annotated[
        bool, typer.Option("--no-pygeoapi", help="do not start the pygeoapi peer")
    ] = False,
    cases: Annotated[
        str | None,
        typer.Option(help="only these cases, comma-separated (hotspots, wall, ogc, ingest, "
                     "townships); the demo load always runs"),
    ] = None,
) -> None:
    """Run the benchmark suite in a private PostGIS cluster; print a table, write the results.

    Each comparison runs its peer (plain FastAPI + ORM, GeoPandas + Folium, esda, pygeoapi,
    GeoPandas sjoin) on the same data in the same run. Writes bench/results.json and
    bench/RESULTS.md.
    """
    suite = _import_suite()
    argv = ["--quick"] if quick else []
    if scale is not None:
        argv += ["--scale", str(scale)]
    if join_points is not None:
        argv += ["--join-points", str(join_points)]
    if demo_scale:
        argv += ["--demo-scale", str(demo_scale)]
    if out is not None:
        argv += ["--out", str(out)]
    if no_pygeoapi:
        argv.append("--no-pygeoapi")
    if cases:
        argv += ["--cases", cases]
    config = suite.config_from(suite.parse_args(argv))
    suite.run_suite(config, command=" ".join(["lookback bench", *argv]))
