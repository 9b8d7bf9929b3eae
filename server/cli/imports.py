"""``lookback import``: township boundaries and sites from GeoJSON, Shapefile or GeoPackage."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from gis import vocab
from gis.io.boundaries import BoundaryImportError, ImportReport, import_sites, import_townships
from server.cli.common import open_engine as _engine

import_app = typer.Typer(
    help="Import township boundaries and sites (GeoJSON, Shapefile, GeoPackage; any CRS).",
    no_args_is_help=True,
)

console = Console()

FileArg = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="the file to import")
]
LayerOpt = Annotated[str | None, typer.Option(help="layer of a multi-layer file (GeoPackage)")]
CrsOpt = Annotated[
    str | None, typer.Option(help="CRS when the file has none or a wrong one, e.g. EPSG:4547")
]
EncodingOpt = Annotated[
    str | None, typer.Option(help="text encoding of a Shapefile without .cpg, e.g. gbk")
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="check and report, then roll back: nothing is written")
]


def print_report(report: ImportReport, *, dry_run: bool = False) -> None:
    """The report as rich tables: counts, fields, rejections, warnings, overlaps and gaps."""
    title = f"{report.kind} from {report.source}" + (" (dry run: rolled back)" if dry_run else "")
    summary = Table(title=title, show_header=False)
    summary.add_row("source CRS", report.source_crs or "—")
    for role, column in report.fields.items():
        summary.add_row(f"{role} field", column)
    summary.add_row("rows read", str(report.rows_read))
    summary.add_row("imported (new)", str(len(report.imported)))
    summary.add_row("updated", str(len(report.updated)))
    summary.add_row("rejected", str(len(report.rejected)))
    if report.merged_rows:
        summary.add_row("merged into another row", str(report.merged_rows))
    console.print(summary)
    for note in report.notes:
        console.print(f"[cyan]note:[/] {note}")
    if report.rejected:
        table = Table(title="rejected rows")
        for column in ("row", "code / name", "reason"):
            table.add_column(column)
        for r in report.rejected:
            table.add_row(str(r.row), r.identifier, r.reason)
        console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if report.overlaps:
        table = Table(title="overlapping townships")
        for column in ("township", "township", "shared area (m²)"):
            table.add_column(column)
        for o in report.overlaps:
            table.add_row(o.a, o.b, f"{o.area_m2:,.0f}")
        console.print(table)
    if report.gaps:
        table = Table(title="gaps between townships")
        for column in ("area (m²)", "point inside (lon, lat)", "bordering townships"):
            table.add_column(column)
        for g in report.gaps:
            table.add_row(f"{g.area_m2:,.0f}", f"{g.lon:.6f}, {g.lat:.6f}", ", ".join(g.neighbours))
        console.print(table)


def _run(action: Callable[[Session], ImportReport], dry_run: bool) -> ImportReport:
    """Run an import in one transaction; commit it, or roll back for a dry run or an error."""
    engine = _engine()
    try:
        with Session(engine) as session:
            try:
                report = action(session)
            except BoundaryImportError as exc:
                session.rollback()
                console.print(f"[bold red]error:[/] {exc}")
                raise typer.Exit(2) from None
            if dry_run:
                session.rollback()
            else:
                session.commit()
    finally:
        engine.dispose()
    print_report(report, dry_run=dry_run)
    return report


@import_app.command("townships")
def townships(
    file: FileArg,
    code_field: Annotated[
        str | None, typer.Option(help="column of 12-digit codes (guessed when not given)")
    ] = None,
    name_field: Annotated[
        str | None, typer.Option(help="column of names (guessed when not given)")
    ] = None,
    layer: LayerOpt = None,
    crs: CrsOpt = None,
    encoding: EncodingOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Import or update township boundaries by code; report rejections, overlaps and gaps."""
    _run(
        lambda s: import_townships(
            s, file, code_field, name_field, layer=layer, crs=crs, encoding=encoding
        ),
        dry_run,
    )


@import_app.command("sites")
def sites(
    file: FileArg,
    kind: Annotated[
        str, typer.Option(help=f"site kind: {', '.join(vocab.values(vocab.SiteKind))}")
    ],
    name_field: Annotated[
        str | None, typer.Option(help="column of names (guessed when not given)")
    ] = None,
    zone_level_field: Annotated[
        str | None, typer.Option(help="column of protection-zone levels (protection_zone only)")
    ] = None,
    layer: LayerOpt = None,
    crs: CrsOpt = None,
    encoding: EncodingOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Import or update sites of one kind by name; other columns are kept as properties."""
    _run(
        lambda s: import_sites(
            s,
            file,
            kind=kind,
            name_field=name_field,
            zone_level_field=zone_level_field,
            layer=layer,
            crs=crs,
            encoding=encoding,
        ),
        dry_run,
    )
