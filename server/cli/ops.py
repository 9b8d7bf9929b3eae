"""``lookback backup FILE`` and ``lookback restore FILE [--force]``, with progress bars."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from gis.config import get_settings
from gis.db.backup import BackupError, create_backup, restore_backup
from gis.db.embedded import ClusterError
from gis.db.engine import database_url, embedded_cluster, upgrade, uses_embedded_cluster
from server.cli.common import fail
from server.ops import validate_settings_or_exit

ops_app = typer.Typer(
    help="Backups: the database and the attachments in one verified archive.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

console = Console(stderr=True)


def _fail(message: str) -> NoReturn:
    fail(message, on=console)


@contextmanager
def _database() -> Iterator[str]:
    """The database URL; the embedded cluster is started for the command and stopped after."""
    validate_settings_or_exit()
    settings = get_settings()
    started_here = False
    if uses_embedded_cluster(settings):
        cluster = embedded_cluster(settings)
        started_here = cluster.running_pid() is None
        try:
            cluster.start()
        except ClusterError as exc:
            _fail(str(exc))
    try:
        yield database_url(settings)
    finally:
        if started_here:
            embedded_cluster(settings).stop()


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int | None], None]]:
    """A progress callback drawing one bar per stage."""
    tasks: dict[str, TaskID] = {}
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<22}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:

        def note(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                for other in tasks.values():  # earlier stages are finished
                    task = progress.tasks[other]
                    progress.update(other, total=task.completed or 1, completed=task.completed or 1)
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield note
        for task_id in tasks.values():
            task = progress.tasks[task_id]
            progress.update(task_id, total=task.completed or 1, completed=task.completed or 1)


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


@ops_app.command("backup")
def backup(
    file: Annotated[
        Path, typer.Argument(help="archive to write, e.g. /srv/backup/lookback-2026-11-23.tar")
    ],
) -> None:
    """Write the database and the attachments to FILE (a tar with a checksummed manifest)."""
    with _database() as url:
        settings = get_settings()
        try:
            with _progress() as note:
                manifest = create_backup(
                    file, url=url, attachments_dir=settings.attachments_dir, progress=note
                )
        except BackupError as exc:
            _fail(str(exc))
    rows = sum(manifest.tables.values())
    attachments = sum(1 for name in manifest.members if name.startswith("attachments/"))
    console.print(
        f"backup written to {file} ({_size(file.stat().st_size)}): {rows:,} rows in "
        f"{len(manifest.tables)} tables, {attachments:,} attachments, "
        f"schema {manifest.schema_revision or 'none'}",
        highlight=False,
    )


@ops_app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="archive written by `lookback backup`")],
    force: Annotated[
        bool, typer.Option("--force", help="replace a database that already holds data")
    ] = False,
) -> None:
    """Check FILE's checksums, then restore the database and the attachments from it."""
    with _database() as url:
        settings = get_settings()
        try:
            with _progress() as note:
                report = restore_backup(
                    file,
                    url=url,
                    attachments_dir=settings.attachments_dir,
                    force=force,
                    progress=note,
                )
        except BackupError as exc:
            _fail(str(exc))
        try:
            upgrade(url)
        except Exception as exc:  # noqa: BLE001 - say what failed without a traceback
            _fail(f"restored, but migrating to the current schema failed: {exc}")
    rows = sum(report.tables.values())
    replaced = f"; replaced {report.replaced_rows:,} rows" if report.replaced_rows else ""
    console.print(
        f"restored {file} (made {report.manifest.created_at}): {rows:,} rows in "
        f"{len(report.tables)} tables, {report.attachments:,} attachments{replaced}",
        highlight=False,
    )
