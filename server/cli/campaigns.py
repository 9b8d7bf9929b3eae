"""``lookback campaign``: campaigns, transfer lists, daily bulletins, disclosure, assessment."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from gis.campaigns import cases, dispatch
from gis.campaigns.transfers import run_transfer_import
from gis.errors import LookbackError
from server.cli.common import fail
from server.cli.common import open_engine as _engine

campaign_app = typer.Typer(
    help="Inspection campaigns (督察进驻): transferred cases, daily dispatch, disclosure, "
    "assessment.",
    no_args_is_help=True,
)
console = Console()


def _fail(message: str) -> NoReturn:
    fail(message, on=console)


def _campaign_id(session: Session, key: str) -> int:
    return cases.find_campaign(session, key).id


@campaign_app.command("create")
def campaign_create(
    name: Annotated[str, typer.Argument(help="e.g. 第三轮中央生态环境保护督察")],
    level: Annotated[str, typer.Option(help="central, provincial or municipal")],
    stationed_from: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
    stationed_to: Annotated[str, typer.Option("--to", help="YYYY-MM-DD")],
    reply_days: Annotated[int, typer.Option(help="reply deadline of a case in days")] = 7,
    working_days: Annotated[
        bool, typer.Option("--working-days", help="count the reply deadline in working days")
    ] = False,
) -> None:
    """Register a campaign."""
    try:
        start, end = date.fromisoformat(stationed_from), date.fromisoformat(stationed_to)
    except ValueError as exc:
        _fail(f"日期格式应为 YYYY-MM-DD dates are YYYY-MM-DD: {exc}")
    engine = _engine()
    try:
        with Session(engine) as session, session.begin():
            campaign = cases.create_campaign(
                session,
                cases.CampaignInput(
                    name, level, start, end, reply_days, "working" if working_days else "calendar"
                ),
            )
            console.print(f"campaign {campaign.id}: {campaign.name}", highlight=False)
    except LookbackError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()


@campaign_app.command("list")
def campaign_list() -> None:
    """The campaigns."""
    engine = _engine()
    try:
        with Session(engine) as session:
            items = cases.list_campaigns(session)
    finally:
        engine.dispose()
    table = Table("id", "name", "level", "stationed", "reply")
    for c in items:
        table.add_row(
            str(c["id"]), c["name"], c["level_zh"],
            f"{c['stationed_from']}–{c['stationed_to']}",
            f"{c['reply_days']} {'working' if c['reply_day_kind'] == 'working' else 'calendar'} d",
        )
    console.print(table)


@campaign_app.command("import")
def campaign_import(
    campaign: Annotated[str, typer.Argument(help="campaign id or name")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the .xlsx list")],
    batch: Annotated[int | None, typer.Option(help="第N批 when the list does not say")] = None,
    received_on: Annotated[
        str | None, typer.Option(help="交办时间 (YYYY-MM-DD) when rows leave it empty")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report, write nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Import a transfer list (转办件清单); exits 1 when a row was rejected."""
    engine = _engine()
    try:
        with Session(engine) as session:
            campaign_id = _campaign_id(session, campaign)
        report = run_transfer_import(
            engine,
            campaign_id,
            file.read_bytes(),
            filename=file.name,
            batch=batch,
            received_on=date.fromisoformat(received_on) if received_on else None,
            dry_run=dry_run,
        )
    except (LookbackError, ValueError) as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        title = f"{report.filename}: " + ", ".join(f"{k} {v}" for k, v in report.counts().items())
        table = Table("row", "outcome", "受理编号", "reason", title=title + (
            " (dry run: nothing written)" if report.dry_run else ""
        ))
        for r in report.rows:
            table.add_row(str(r.row), r.outcome, r.code or "", r.reason or ", ".join(r.changed))
        console.print(table)
    if report.counts()["rejected"]:
        raise typer.Exit(1)


@campaign_app.command("bulletin")
def campaign_bulletin(
    campaign: Annotated[str, typer.Argument(help="campaign id or name")],
    out: Annotated[Path, typer.Option("--out", "-o", help="file to write: .pdf, .html or .json")],
    day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today)")] = None,
) -> None:
    """Write the campaign's daily dispatch bulletin (每日调度通报)."""
    from gis.ledger.deadlines import local_today
    from layers.campaign_render import render_daily_html, render_daily_pdf

    if out.suffix not in (".pdf", ".html", ".json"):
        _fail("输出文件须为 .pdf、.html 或 .json the output is .pdf, .html or .json")
    engine = _engine()
    try:
        with Session(engine) as session:
            c = cases.find_campaign(session, campaign)
            b = dispatch.daily_bulletin(
                session, c, date.fromisoformat(day) if day else local_today()
            )
    except (LookbackError, ValueError) as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    if out.suffix == ".pdf":
        out.write_bytes(render_daily_pdf(b))
    elif out.suffix == ".html":
        out.write_text(render_daily_html(b), encoding="utf-8")
    else:
        out.write_text(json.dumps(b.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    missing = "、".join(t.name for t in b.not_reported) or "none"
    console.print(
        f"{out}: {b.totals['cases']} cases, {b.totals['reply_overdue']} overdue replies;"
        f" not reported: {missing}",
        highlight=False,
    )


@campaign_app.command("disclosure")
def campaign_disclosure(
    campaign: Annotated[str, typer.Argument(help="campaign id or name")],
    out: Annotated[Path, typer.Option("--out", "-o", help="file to write: .xlsx, .pdf or .html")],
    batch: Annotated[int | None, typer.Option(help="one batch (default: every batch)")] = None,
) -> None:
    """Write the public disclosure list (边督边改公开), personal data removed."""
    from gis.campaigns.disclosure import disclosure, disclosure_xlsx
    from layers.campaign_render import render_disclosure_html, render_disclosure_pdf

    if out.suffix not in (".xlsx", ".pdf", ".html"):
        _fail("输出文件须为 .xlsx、.pdf 或 .html the output is .xlsx, .pdf or .html")
    engine = _engine()
    try:
        with Session(engine) as session:
            c = cases.find_campaign(session, campaign)
            batches = disclosure(session, c, batch=batch)
            info = cases.campaign_dict(c)
            if out.suffix == ".xlsx":
                out.write_bytes(disclosure_xlsx(c, batches))
    except LookbackError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    if out.suffix == ".pdf":
        out.write_bytes(render_disclosure_pdf(info, batches))
    elif out.suffix == ".html":
        out.write_text(render_disclosure_html(info, batches), encoding="utf-8")
    rows = sum(len(b.rows) for b in batches)
    console.print(f"{out}: {rows} cases in {len(batches)} batch(es)", highlight=False)


@campaign_app.command("assess")
def campaign_assess(
    year: Annotated[int | None, typer.Option(help="with --quarter")] = None,
    quarter: Annotated[int | None, typer.Option(help="1–4")] = None,
    start: Annotated[str | None, typer.Option(help="YYYY-MM-DD (instead of a quarter)")] = None,
    end: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    by: Annotated[str, typer.Option(help="township or unit")] = "township",
    out: Annotated[Path | None, typer.Option("--out", "-o", help=".xlsx or .pdf")] = None,
) -> None:
    """Scores per township or responsible unit for a period, from the stored rules."""
    from gis.campaigns import assessment
    from layers.campaign_render import render_assessment_pdf

    engine = _engine()
    try:
        if year is not None and quarter is not None:
            first, last = assessment.quarter(year, quarter)
        elif start and end:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        else:
            _fail("请给出 --year 和 --quarter，或 --start 和 --end give a quarter or a period")
        with Session(engine) as session:
            a = assessment.assess(session, first, last, by=by)
    except (LookbackError, ValueError) as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    table = Table("rank", by, *assessment.COUNTED, "score", title=f"{first} – {last}")
    for r in a.rows:
        table.add_row(str(r.rank), r.name, *(str(r.counts[i]) for i in assessment.COUNTED),
                      f"{r.score:g}")
    console.print(table)
    if out is not None:
        if out.suffix == ".xlsx":
            out.write_bytes(assessment.assessment_xlsx(a))
        elif out.suffix == ".pdf":
            out.write_bytes(render_assessment_pdf(a))
        else:
            _fail("输出文件须为 .xlsx 或 .pdf the output is .xlsx or .pdf")
