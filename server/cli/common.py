"""What every command shares: the error exit and the database opener."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine

from gis.db.engine import (
    database_url,
    embedded_cluster,
    make_engine,
    upgrade,
    uses_embedded_cluster,
)

console = Console()


def fail(message: str, *, on: Console | None = None) -> NoReturn:
    """Print ``error: message`` in red on the command's console and exit with status 1."""
    (on or console).print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)


def open_engine() -> Engine:
    """The configured database, started and migrated if it is the embedded cluster."""
    if uses_embedded_cluster():
        embedded_cluster().start()
    url = database_url()
    upgrade(url)
    return make_engine(url)
