"""``lookback report``: township hotspot reports and county bulletins as HTML or PDF files."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.db.engine import database_url, embedded_cluster, make_engine, uses_embedded_cluster
from gis.ledger.deadlines import local_today
from gis.ledger.worklist import township_names
from gis.reports import ReportDate, UnknownTownship, county_bulletin, load_county, township_report
from layers.report_render import html_to_pdf, render_bulletin_html, render_township_html
from server.cli.common import fail

report_app = typer.Typer(
    help="Township hotspot reports (乡镇热点报告) and county bulletins (通报), HTML or PDF.",
    no_args_is_help=True,
)

console = Console(stderr=True)


def _fail(message: str) -> NoReturn:
    fail(message, on=console)


class Format(StrEnum):
    """Output format."""

    html = "html"
    pdf = "pdf"


class Kind(StrEnum):
    """Bulletin kind."""

    daily = "daily"
    half_monthly = "half-monthly"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="html or pdf")]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="read the ledger as it stood at the end of this day (YYYY-MM-DD)"),
]


@contextmanager
def _session() -> Iterator[Session]:
    """A session on the configured database (starting the embedded cluster if it is stopped)."""
    settings = Settings()  # read now: DATABASE_URL may have been set after start-up
    started = None
    if uses_embedded_cluster(settings):
        cluster = embedded_cluster(settings)
        if cluster.running_pid() is None:
            try:
                cluster.start()
            except Exception as exc:  # noqa: BLE001 - report any start-up failure plainly
                _fail(f"cannot start the embedded database: {exc}")
            started = cluster
    engine = make_engine(database_url(settings))
    try:
        with Session(engine) as session:
            try:
                township_names(session)  # the database answers and is migrated
            except OperationalError as exc:
                _fail(f"cannot read the database: {str(exc.orig).strip().splitlines()[0]}")
            yield session
    finally:
        engine.dispose()
        if started is not None:
            started.stop()


def _report_date(as_of: str | None) -> ReportDate:
    try:
        day = date.fromisoformat(as_of) if as_of else None
        return ReportDate.for_request(local_today(), day)
    except ValueError as exc:
        _fail(f"--as-of: {exc}")


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def _render(html: str, fmt: Format) -> str | bytes:
    return html if fmt is Format.html else html_to_pdf(html)


def _unknown(session: Session, exc: UnknownTownship) -> NoReturn:
    codes = list(township_names(session).items())
    known = ", ".join(f"{c} {n}" for c, n in codes[:5]) + (" …" if len(codes) > 5 else "")
    _fail(f"{exc}. Known townships ({len(codes)}): {known or 'none'}")


@report_app.command("township")
def township(
    code: Annotated[str, typer.Argument(help="12-digit township code")],
    output: Annotated[Path, typer.Option("--output", "-o", dir_okay=False, help="file to write")],
    fmt: FormatOpt = Format.html,
    as_of: AsOfOpt = None,
) -> None:
    """Write one township's hotspot report."""
    started = time.perf_counter()
    with _session() as session:
        report_date = _report_date(as_of)
        try:
            report = township_report(session, code, report_date=report_date)
        except UnknownTownship as exc:
            _unknown(session, exc)
    _write(output, _render(render_township_html(report), fmt))
    console.print(f"{report.name} ({code}) → {output} in {time.perf_counter() - started:.1f} s")


def _warm_up() -> bool:
    """Load WeasyPrint and the fonts in a worker before the first real page."""
    html_to_pdf("<p>热点 warm-up</p>")
    return True


@report_app.command("all")
def all_townships(
    output: Annotated[
        Path, typer.Option("--output", "-o", file_okay=False, help="folder to write into")
    ],
    fmt: FormatOpt = Format.pdf,
    as_of: AsOfOpt = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=os.cpu_count() or 1,
            help="worker processes typesetting PDFs (spawned; call from a main-guarded program)",
        ),
    ] = 1,
) -> None:
    """Write every township's report into a folder (county data is read once)."""
    started = time.perf_counter()
    output.mkdir(parents=True, exist_ok=True)
    pool = None
    if fmt is Format.pdf and jobs > 1:
        pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))
        for _ in range(jobs):
            pool.submit(_warm_up)
    written: list[Path] = []
    try:
        with (
            _session() as session,
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress,
        ):
            task = progress.add_task("读取全县数据 reading county data", total=None)
            report_date = _report_date(as_of)
            county = load_county(session, report_date)
            progress.update(task, total=len(county.townships))
            pending: dict[Future[bytes], tuple[Path, str]] = {}

            def finish(future: Future[bytes]) -> None:
                path, html = pending.pop(future)
                try:
                    pdf = future.result()
                except Exception:  # noqa: BLE001 - a broken worker: typeset here instead
                    pdf = html_to_pdf(html)
                _write(path, pdf)
                written.append(path)
                progress.advance(task)

            for town in county.townships:
                progress.update(task, description=f"{town.name} {town.code}")
                report = township_report(session, town.code, report_date=report_date, county=county)
                html = render_township_html(report)
                path = output / f"{town.code}-{town.name}.{fmt.value}"
                if pool is None:
                    _write(path, _render(html, fmt))
                    written.append(path)
                    progress.advance(task)
                    continue
                pending[pool.submit(html_to_pdf, html)] = (path, html)
                for future in [f for f in pending if f.done()]:
                    finish(future)
            for future in as_completed(list(pending)):
                finish(future)
            progress.update(task, description="完成 done")
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    elapsed = time.perf_counter() - started
    console.print(f"wrote {len(written)} reports to {output} in {elapsed:.1f} s")


@report_app.command("bulletin")
def bulletin(
    kind: Annotated[Kind, typer.Argument(help="daily or half-monthly")],
    output: Annotated[Path, typer.Option("--output", "-o", dir_okay=False, help="file to write")],
    fmt: FormatOpt = Format.html,
    as_of: AsOfOpt = None,
) -> None:
    """Write the county's daily or half-monthly bulletin, numbered from its date."""
    started = time.perf_counter()
    with _session() as session:
        report_date = _report_date(as_of)
        data = county_bulletin(session, kind.value.replace("-", "_"), report_date=report_date)
    _write(output, _render(render_bulletin_html(data), fmt))
    console.print(
        f"{data.title_zh} {data.label} → {output} in {time.perf_counter() - started:.1f} s"
    )
