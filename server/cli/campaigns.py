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
            a = assessment.period_assessment(session, first, last, by=by)
    except (LookbackError, ValueError) as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    title = f"{first} – {last}" + (" (stored 已结算)" if a.stored else "")
    table = Table("rank", by, *assessment.COUNTED, "score", title=title)
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


@campaign_app.command("close-period")
def campaign_close_period(
    year: Annotated[int, typer.Option(help="the quarter's year")],
    quarter: Annotated[int, typer.Option(help="1–4")],
    actor: Annotated[str, typer.Option(help="who closes it")] = "cli",
) -> None:
    """Close a quarter (考核期结算): store its results per township and unit with the rules."""
    from gis.campaigns import assessment
    from gis.ledger.deadlines import local_today

    engine = _engine()
    try:
        first, last = assessment.quarter(year, quarter)
        with Session(engine) as session, session.begin():
            period = assessment.close_period(
                session, first, last, actor=actor, today=local_today()
            )
            info, stored = assessment.period_dict(period), len(period.results)
    except (LookbackError, ValueError) as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    console.print(f"{info['name']}: closed, {stored} results stored", highlight=False)


@campaign_app.command("report")
def campaign_report(
    campaign: Annotated[str, typer.Argument(help="campaign id or name")],
    township: Annotated[str, typer.Argument(help="12-digit township code")],
    progress: Annotated[str, typer.Argument(help="the day's progress (今日调度情况)")],
    day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today)")] = None,
    actor: Annotated[str, typer.Option(help="who reports")] = "cli",
) -> None:
    """A township's daily dispatch report; prints who has not reported that day."""
    from gis.ledger.deadlines import local_today

    engine = _engine()
    try:
        today = local_today()
        the_day = date.fromisoformat(day) if day else today
        with Session(engine) as session, session.begin():
            c = cases.find_campaign(session, campaign)
            dispatch.report_progress(
                session, c, township_code=township, day=the_day, progress=progress,
                reported_by=actor, today=today,
            )
            status = dispatch.dispatch_status(session, c, the_day, scope=None)
    except (LookbackError, ValueError) as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    missing = "、".join(t["township"] for t in status["not_reported"]) or "none"
    console.print(f"{the_day}: reported; not reported yet: {missing}", highlight=False)


@campaign_app.command("record")
def campaign_record(
    kind: Annotated[str, typer.Argument(help="summons (约谈) or accountability (问责)")],
    person: Annotated[str, typer.Option(help="who was summoned or held accountable")],
    unit: Annotated[str, typer.Option(help="their unit")],
    reason: Annotated[str, typer.Option(help="why")],
    held_on: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    township: Annotated[str | None, typer.Option(help="12-digit township code")] = None,
    outcome: Annotated[str, typer.Option(help="the outcome")] = "",
    problem: Annotated[
        list[str] | None, typer.Option("--problem", help="a linked problem code (repeatable)")
    ] = None,
    notice: Annotated[
        list[str] | None, typer.Option("--notice", help="a linked notice number (repeatable)")
    ] = None,
    actor: Annotated[str, typer.Option(help="who records it")] = "cli",
) -> None:
    """Put a summons or an accountability on record (约谈、问责)."""
    from gis.campaigns.accountability import AccountabilityInput, record_accountability
    from gis.ledger.deadlines import local_today

    engine = _engine()
    try:
        data = AccountabilityInput(
            kind, date.fromisoformat(held_on), person, unit, reason, township, outcome,
            list(problem or []), list(notice or []),
        )
        with Session(engine) as session, session.begin():
            record = record_accountability(
                session, data, recorded_by=actor, today=local_today()
            )
            record_id = record.id
    except (LookbackError, ValueError) as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    console.print(f"record {record_id}: {kind} {person} ({unit}) on {held_on}", highlight=False)


@campaign_app.command("records")
def campaign_records(
    township: Annotated[str | None, typer.Option(help="12-digit township code")] = None,
    unit: Annotated[str | None, typer.Option(help="a unit")] = None,
) -> None:
    """Summons and accountability held, with counts per unit."""
    from gis.campaigns.accountability import list_accountability

    engine = _engine()
    try:
        with Session(engine) as session:
            result = list_accountability(session, scope=None, township=township, unit=unit)
    finally:
        engine.dispose()
    table = Table("held on", "kind", "person", "unit", "township", "reason", "problems")
    for i in result["items"]:
        table.add_row(i["held_on"], i["kind_zh"], i["person"], i["unit"], i["township"] or "",
                      i["reason"], ", ".join(i["problem_codes"]))
    console.print(table)
    per_unit = Table("unit", "约谈 summons", "问责 accountability", title="per unit")
    for g in result["by_unit"]:
        per_unit.add_row(g["unit"], str(g["summons"]), str(g["accountability"]))
    console.print(per_unit)


@campaign_app.command("rules")
def campaign_rules(
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="item=points, e.g. overdue_day=-0.5")
    ] = None,
    actor: Annotated[str, typer.Option(help="who changes them")] = "cli",
) -> None:
    """Show the assessment rules, or change some (--set item=points)."""
    from gis.campaigns import assessment

    changes: dict[str, float] = {}
    for pair in set_ or []:
        item, sep, value = pair.partition("=")
        try:
            changes[item.strip()] = float(value)
        except ValueError:
            _fail(f"应为 item=分值 expected item=points, got {pair!r}")
        if not sep:
            _fail(f"应为 item=分值 expected item=points, got {pair!r}")
    engine = _engine()
    try:
        with Session(engine) as session, session.begin():
            rules = (
                assessment.set_rules(session, changes, actor=actor)
                if changes else assessment.load_rules(session)
            )
    except LookbackError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    table = Table("item", "points")
    for item, points in rules.items():
        table.add_row(item, f"{points:g}")
    console.print(table)
