"""``lookback calendar``: load a year's official holiday schedule, list what is loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from gis.ledger.workdays import CalendarFileError, is_provisional, load_calendar, load_schedule
from server.cli.common import fail
from server.cli.common import open_engine as _engine

calendar_app = typer.Typer(
    help="The official working-day calendar (节假日安排): load a year, list loaded years.",
    no_args_is_help=True,
)
console = Console()


def _fail(message: str) -> NoReturn:
    fail(message, on=console)


@calendar_app.command("load")
def calendar_load(
    file: Annotated[Path, typer.Argument(help="CSV: date[~date],休|班[,name] per line")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check the file, change nothing")
    ] = False,
    actor: Annotated[str, typer.Option(help="who loads it (recorded)")] = "cli",
) -> None:
    """Load (or replace) a year's schedule; recomputes the working-day deadlines it changes."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {file}: {exc}")
    engine = _engine()
    try:
        with Session(engine) as session, session.begin():
            result = load_schedule(
                session, text, actor=actor, source=file.name, dry_run=dry_run
            )
    except CalendarFileError as exc:
        for line in exc.problems:
            console.print(f"  {line}", highlight=False)
        _fail(f"{file} was not loaded ({len(exc.problems)} problem(s))")
    finally:
        engine.dispose()
    verb = "checked" if dry_run else "loaded"
    console.print(
        f"{result.year}: {verb} {result.holidays} holidays and {result.workdays} make-up workdays;"
        f" {result.complaints_recomputed} complaint deadlines recomputed",
        highlight=False,
    )


@calendar_app.command("list")
def calendar_list() -> None:
    """The years whose official schedule is loaded, and whether this year and next are."""
    from datetime import date

    engine = _engine()
    try:
        with Session(engine) as session:
            calendar = load_calendar(session)
    finally:
        engine.dispose()
    table = Table("year", "source")
    this = date.today().year
    for year in sorted(calendar.years | {this, this + 1}):
        provisional = is_provisional(date(year, 6, 30), calendar)
        source = (
            "loaded" if year in calendar.years else "provisional" if provisional else "package"
        )
        table.add_row(str(year), source)
    console.print(table)
