"""``lookback import ledger`` (an office's Excel ledger) and ``lookback export ledger``."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from gis import vocab
from gis.io.excel import LedgerImportReport, run_ledger_import
from gis.io.exports import ExportFormat, export_ledger
from gis.ledger.deadlines import local_today
from gis.ledger.query import ProblemQuery
from gis.ledger.writes import LedgerError
from server.cli.common import open_engine as _engine

export_app = typer.Typer(
    help="Export the ledger (Excel template, GeoPackage, GeoJSON, CSV).", no_args_is_help=True
)

console = Console()
errors = Console(stderr=True)
OUTCOME_STYLE = {
    "imported": "green",
    "updated": "cyan",
    "unchanged": "dim",
    "merged": "cyan",
    "skipped": "dim",
    "rejected": "bold red",
}


def print_ledger_report(report: LedgerImportReport) -> None:
    """The report as rich tables: counts, the columns found, then every row's outcome."""
    title = f"ledger {report.filename}, sheet {report.sheet!r}" + (
        " (dry run: nothing written)" if report.dry_run else ""
    )
    summary = Table(title=title, show_header=False)
    summary.add_row("header row", str(report.header_row))
    summary.add_row("columns", ", ".join(f"{k}={v}" for k, v in report.columns.items()))
    for outcome, n in report.counts().items():
        summary.add_row(outcome, str(n))
    console.print(summary)
    table = Table(title="rows")
    for column in ("row", "outcome", "问题编号", "reason / changes / notes"):
        table.add_column(column)
    for r in report.rows:
        parts = [r.reason] if r.reason else []
        parts += [f"changed: {', '.join(r.changed)}"] if r.changed else []
        detail = "; ".join(parts + r.notes)
        style = OUTCOME_STYLE.get(r.outcome, "")
        table.add_row(str(r.row), f"[{style}]{r.outcome}[/]", r.code or "", detail)
    console.print(table)


def import_ledger(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="the .xlsx ledger"),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check and report every row; write nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    default_source: Annotated[
        str | None,
        typer.Option(
            help=f"问题来源 of rows that leave it empty: {', '.join(vocab.values(vocab.Source))}"
        ),
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="who is recorded in the events (default: your login)")
    ] = None,
) -> None:
    """Import an office's Excel ledger (整改台账); exits 1 when a row was rejected."""
    engine = _engine()
    try:
        report = run_ledger_import(
            engine,
            file.read_bytes(),
            actor=actor or getpass.getuser(),
            filename=file.name,
            dry_run=dry_run,
            default_source=default_source,
        )
    except LedgerError as exc:
        errors.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print_ledger_report(report)
    if report.counts()["rejected"]:
        raise typer.Exit(1)


def _values(enum: type[vocab.Labelled], given: list[str] | None, name: str) -> tuple[str, ...]:
    allowed = vocab.values(enum)
    for value in given or []:
        if value not in allowed:
            raise typer.BadParameter(f"{value!r}; one of: {', '.join(allowed)}", param_hint=name)
    return tuple(given or ())


@export_app.command("ledger")
def export_ledger_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="the file to write")],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="xlsx, gpkg, geojson or csv")
    ] = ExportFormat.XLSX,
    township: Annotated[
        list[str] | None, typer.Option(help="township code (repeat for several)")
    ] = None,
    status: Annotated[list[str] | None, typer.Option(help="status (repeatable)")] = None,
    category: Annotated[list[str] | None, typer.Option(help="category (repeatable)")] = None,
    source: Annotated[list[str] | None, typer.Option(help="source (repeatable)")] = None,
    overdue: Annotated[
        bool | None, typer.Option("--overdue/--not-overdue", help="only (not) overdue")
    ] = None,
    q: Annotated[str | None, typer.Option(help="text in code, description, unit, person")] = None,
) -> None:
    """Write the ledger, filtered like /api/problems, to a file."""
    query = ProblemQuery(
        township_codes=tuple(township) if township else None,
        statuses=_values(vocab.Status, status, "--status") or None,
        categories=_values(vocab.Category, category, "--category") or None,
        sources=_values(vocab.Source, source, "--source") or None,
        overdue=overdue,
        text=q,
    )
    engine = _engine()
    try:
        with Session(engine) as session:
            export = export_ledger(session, query, fmt, today=local_today())
    finally:
        engine.dispose()
    output.write_bytes(export.content)
    errors.print(f"wrote {output} ({fmt.value}, {len(export.content):,} bytes)")
