"""``lookback import inspections FILE``: GPX tracks and waypoints, GeoJSON points, as inspections.

Every point goes through the same validation and flags as the field app's API. UUIDs derive from
the file's SHA-256 and the point's index, so importing the same file again reports duplicates and
adds nothing. A per-point report is printed as a table and can be written to CSV.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from gis import vocab
from gis.field.inspections import PointImport, import_point_file
from gis.geo import coords
from gis.io.pointfiles import PointFileError, read_points
from server.cli.common import fail
from server.cli.common import open_engine as _engine

field_app = typer.Typer(
    help="Import field inspections from point files (GPX, GeoJSON).", no_args_is_help=True
)

console = Console()


def _fail(message: str) -> NoReturn:
    fail(message, on=console)
STYLE = {"imported": "green", "duplicate": "yellow", "rejected": "red"}


def _choices(enum: type[vocab.Labelled]) -> str:
    return ", ".join(vocab.values(enum))


def print_report(report: PointImport, *, show: int, dry_run: bool) -> None:
    """Print the summary and the per-point table (rejections first when it is cut)."""
    title = f"inspections from {report.source}" + (" (dry run: rolled back)" if dry_run else "")
    summary = Table(title=title, show_header=False)
    summary.add_row("file SHA-256", report.file_sha256)
    summary.add_row("format / CRS", f"{report.file_format or '?'} / {report.crs}")
    summary.add_row("points", str(len(report.points)))
    for status in ("imported", "duplicate", "rejected"):
        summary.add_row(status, f"[{STYLE[status]}]{report.count(status)}[/]")
    flagged = sum(1 for p in report.points if p.flags)
    summary.add_row("flagged (imported or duplicate)", str(flagged))
    console.print(summary)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    rows = sorted(report.points, key=lambda p: (p.status != "rejected", p.index))
    table = Table(title="per point", show_lines=False)
    for column in ("#", "kind", "name", "time", "lon", "lat", "result", "flags / reason"):
        table.add_column(column, overflow="fold")
    for p in sorted(rows[:show], key=lambda p: p.index):
        table.add_row(
            str(p.index),
            p.kind,
            p.name or "",
            (p.observed_at or "")[:19],
            f"{p.lon:.6f}" if p.lon is not None else "",
            f"{p.lat:.6f}" if p.lat is not None else "",
            f"[{STYLE[p.status]}]{p.status}[/]",
            p.reason or ", ".join(p.flags),
        )
    if show > 0:
        console.print(table)
    if len(rows) > show:
        console.print(f"… {len(rows) - show} more points (use --show or --report FILE.csv)")


def write_csv(report: PointImport, target: Path) -> None:
    """Write the per-point report as CSV (UTF-8 with BOM, so spreadsheets read the Chinese)."""
    with target.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["index", "status", "uuid", "kind", "name", "observed_at", "lon", "lat", "flags",
             "reason"]
        )
        for p in report.points:
            writer.writerow(
                [p.index, p.status, p.uuid, p.kind, p.name or "", p.observed_at or "",
                 p.lon if p.lon is not None else "", p.lat if p.lat is not None else "",
                 " ".join(p.flags), p.reason]
            )


@field_app.command("inspections")
def import_inspections(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="GPX or GeoJSON")
    ],
    inspector: Annotated[str, typer.Option(help="who walked the points (recorded on each)")],
    finding: Annotated[str, typer.Option(help=f"one of {_choices(vocab.Finding)}")] = "checked",
    category: Annotated[
        str | None, typer.Option(help=f"one of {_choices(vocab.Category)}")
    ] = None,
    problem: Annotated[
        str | None, typer.Option(help="problem code every point checks (its history records it)")
    ] = None,
    crs: Annotated[
        str, typer.Option(help="datum of the file's lon/lat: wgs84, cgcs2000, gcj02 or bd09")
    ] = "wgs84",
    accuracy: Annotated[
        float | None, typer.Option(min=0, help="accuracy in metres to record for every point")
    ] = None,
    time: Annotated[
        str | None,
        typer.Option(help="time for points without one, ISO-8601 with a zone (else rejected)"),
    ] = None,
    show: Annotated[int, typer.Option(min=0, help="rows of the per-point table to print")] = 50,
    report: Annotated[
        Path | None, typer.Option(help="write the full per-point report to this CSV file")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check and report, then roll back: nothing is written")
    ] = False,
) -> None:
    """Import GPX waypoints/tracks and GeoJSON points as inspections, with a per-point report."""
    if finding not in vocab.values(vocab.Finding):
        _fail(f"--finding must be one of {_choices(vocab.Finding)}")
    if category is not None and category not in vocab.values(vocab.Category):
        _fail(f"--category must be one of {_choices(vocab.Category)}")
    try:
        crs = coords.normalize_crs(crs)
    except ValueError as exc:
        _fail(str(exc))
    default_time = None
    if time is not None:
        try:
            default_time = datetime.fromisoformat(time)
        except ValueError:
            _fail(f"--time {time!r} is not an ISO-8601 time")
        if default_time is None or default_time.tzinfo is None:
            _fail("--time needs a time zone, e.g. 2026-03-02T10:00:00+08:00")
    try:
        total = read_points(file).total
    except PointFileError as exc:
        _fail(str(exc))
    engine = _engine()
    try:
        with Session(engine) as session, Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(f"importing {file.name}", total=total)
            outcome = import_point_file(
                session,
                file,
                inspector=inspector,
                finding=finding,
                category=category,
                problem_code=problem,
                crs=crs,
                accuracy_m=accuracy,
                default_time=default_time,
                progress=lambda n: progress.advance(task, n),
            )
            if dry_run:
                session.rollback()
            else:
                session.commit()
    except PointFileError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    print_report(outcome, show=show, dry_run=dry_run)
    if report is not None:
        write_csv(outcome, report)
        console.print(f"per-point report written to {report}")
