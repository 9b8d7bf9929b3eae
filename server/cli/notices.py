"""``lookback notices``: run the escalation-notice rules, manage contacts, channels and rules.

Register in the main app with ``app.add_typer(notices_app, name="notices")``.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from server.cli.common import fail

notices_app = typer.Typer(
    help="Escalation notices (提醒函/预警函/督办函/约谈通知): run the rules, contacts, channels.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
)
contacts_app = typer.Typer(help="People notices go to.", no_args_is_help=True)
channels_app = typer.Typer(
    help="E-mail (SMTP), DingTalk and WeCom robots, signed JSON webhooks.", no_args_is_help=True
)

rules_app = typer.Typer(help="Which trigger sends which notice to whom.", no_args_is_help=True)
notices_app.add_typer(contacts_app, name="contacts")
notices_app.add_typer(channels_app, name="channels")
notices_app.add_typer(rules_app, name="rules")

console = Console(stderr=True)


def _fail(message: str) -> NoReturn:
    fail(message, on=console)


class Role(StrEnum):
    """Contact roles."""

    responsible_person = "responsible_person"
    township_head = "township_head"
    office = "office"


class ChannelKind(StrEnum):
    """Channel kinds."""

    email = "email"
    dingtalk = "dingtalk"
    wecom = "wecom"
    webhook = "webhook"


def _engine() -> Engine:
    """The configured database (tests replace this)."""
    from gis.db.engine import database_url, make_engine

    return make_engine(database_url())


def _errors() -> tuple[type[Exception], ...]:
    from gis.ledger.writes import Conflict, LedgerError, NotFound

    return (LedgerError, NotFound, Conflict)


@notices_app.command("run")
def run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would be sent; write and send nothing")
    ] = False,
    today: Annotated[
        str | None, typer.Option(help="evaluate as of this date YYYY-MM-DD (default today)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Evaluate the rules once: issue due notices, deliver everything pending."""
    from gis.notices.runner import run_once

    day = date.fromisoformat(today) if today else None
    report = run_once(_engine(), today=day, dry_run=dry_run, trigger="cli")
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    if report.skipped:
        console.print(f"skipped: {report.skipped}")
        return
    rows = report.planned if dry_run else report.issued
    table = Table(
        "number" if not dry_run else "number (preview)",
        "rule",
        "problem / complaint",
        "channels",
        title=("would issue" if dry_run else "issued") + f" on {report.today.isoformat()}",
    )
    for row in rows:
        table.add_row(
            row.get("number") or row.get("number_preview", ""),
            row["rule"],
            row.get("problem_code") or row.get("complaint_code") or "",
            ", ".join(row.get("channels", [])),
        )
    Console().print(table)
    for error in report.errors:
        console.print(f"[red]not issued:[/] {error}")
    if dry_run:
        console.print(f"dry run: nothing written; {report.pending_deliveries} deliveries pending")
    else:
        d = report.deliveries
        console.print(
            f"deliveries: {d.get('sent', 0)} sent, {d.get('retrying', 0)} to retry,"
            f" {d.get('failed', 0)} failed, {d.get('skipped', 0)} skipped;"
            f" {report.pending_deliveries} pending"
        )


@contacts_app.command("add")
def contacts_add(
    name: str,
    role: Annotated[Role, typer.Option(help="responsible_person, township_head or office")],
    township: Annotated[str | None, typer.Option(help="12-digit township code")] = None,
    unit: Annotated[str, typer.Option(help="unit (责任单位) of a responsible person")] = "",
    email: Annotated[str, typer.Option(help="e-mail address")] = "",
    phone: Annotated[str, typer.Option(help="mobile number (for @-mentions in robots)")] = "",
) -> None:
    """Add a contact (the same person in the same post is updated)."""
    from gis.notices.directory import add_contact

    try:
        with Session(_engine()) as session, session.begin():
            contact = add_contact(
                session,
                name=name,
                role=role.value,
                township_code=township,
                unit=unit,
                email=email,
                phone=phone,
            )
            contact_id = contact.id
    except _errors() as exc:
        _fail(str(exc))
    console.print(f"contact {contact_id} {name} ({role.value}) saved")


@contacts_app.command("list")
def contacts_list(
    role: Annotated[Role | None, typer.Option(help="only this role")] = None,
    township: Annotated[str | None, typer.Option(help="only this township")] = None,
) -> None:
    """List contacts."""
    from gis.notices.directory import list_contacts

    table = Table("id", "name", "role", "township", "unit", "email", "phone", "enabled")
    with Session(_engine()) as session:
        for c in list_contacts(session, role=role.value if role else None, township_code=township):
            table.add_row(
                str(c.id),
                c.name,
                c.role,
                c.township_code or "",
                c.unit,
                c.email,
                c.phone,
                str(c.enabled),
            )
    Console().print(table)


def _channel_config(
    url: str | None,
    secret: str | None,
    host: str | None,
    port: int | None,
    from_addr: str | None,
    username: str | None,
    password_stdin: bool,
    security: str | None,
    test_to: str | None,
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "url": url,
        "secret": secret,
        "host": host,
        "port": port,
        "from_addr": from_addr,
        "username": username,
        "security": security,
        "test_to": test_to,
    }
    if secret == "-":
        config["secret"] = sys.stdin.readline().rstrip("\n")
    if password_stdin:
        config["password"] = sys.stdin.readline().rstrip("\n")
    return {k: v for k, v in config.items() if v is not None}


@channels_app.command("add")
def channels_add(
    name: str,
    kind: Annotated[ChannelKind, typer.Option(help="email, dingtalk, wecom or webhook")],
    url: Annotated[str | None, typer.Option(help="robot or webhook URL")] = None,
    secret: Annotated[
        str | None, typer.Option(help="DingTalk 加签 or webhook HMAC secret; - reads stdin")
    ] = None,
    host: Annotated[str | None, typer.Option(help="SMTP host")] = None,
    port: Annotated[int | None, typer.Option(help="SMTP port")] = None,
    from_addr: Annotated[str | None, typer.Option("--from", help="sender address")] = None,
    username: Annotated[str | None, typer.Option(help="SMTP user")] = None,
    password_stdin: Annotated[bool, typer.Option(help="read the SMTP password from stdin")] = False,
    security: Annotated[str | None, typer.Option(help="SMTP: none, starttls or ssl")] = None,
    test_to: Annotated[str | None, typer.Option(help="default address of test e-mails")] = None,
    township: Annotated[
        str | None, typer.Option(help="carry only this township's notices (a township's group)")
    ] = None,
) -> None:
    """Add a channel; its credentials are stored in the database."""
    from gis.notices.directory import add_channel

    config = _channel_config(
        url, secret, host, port, from_addr, username, password_stdin, security, test_to
    )
    try:
        with Session(_engine()) as session, session.begin():
            channel = add_channel(
                session, name=name, kind=kind.value, config=config, township_code=township
            )
            channel_id = channel.id
    except _errors() as exc:
        _fail(str(exc))
    console.print(f"channel {channel_id} {name} ({kind.value}) added")


@channels_app.command("list")
def channels_list() -> None:
    """List channels (credentials hidden)."""
    from gis.notices.directory import channel_dict, list_channels

    table = Table("id", "name", "kind", "township", "enabled", "settings")
    with Session(_engine()) as session:
        for c in list_channels(session):
            shown = channel_dict(c)
            table.add_row(
                str(c.id),
                c.name,
                c.kind,
                c.township_code or "",
                str(c.enabled),
                json.dumps(shown["config"], ensure_ascii=False),
            )
    Console().print(table)


@notices_app.command("rekey")
def rekey() -> None:
    """Encrypt every channel's credentials again with the newest key (after a key rotation)."""
    from gis.errors import LookbackError
    from gis.notices.directory import rekey_channels

    try:
        with Session(_engine()) as session, session.begin():
            n = rekey_channels(session)
    except LookbackError as exc:
        _fail(str(exc))
    Console().print(f"{n} 个渠道已用新密钥重新加密 · {n} channel(s) encrypted with the newest key")


@channels_app.command("test")
def channels_test(
    channel: Annotated[str, typer.Argument(help="channel name or id")],
    to: Annotated[str | None, typer.Option(help="e-mail: send the test here")] = None,
) -> None:
    """Send a test message through a channel (exit 1 when it fails)."""
    from gis.notices.channels import ChannelError, probe_payload, send
    from gis.notices.config import get_notice_settings
    from gis.notices.directory import find_channel

    try:
        with Session(_engine()) as session:
            found = find_channel(session, channel)
            kind, config, name = found.kind, dict(found.config), found.name
    except _errors() as exc:
        _fail(str(exc))
    try:
        settings = get_notice_settings()
        result = send(
            kind,
            config,
            probe_payload(kind, config, to),
            timeout=settings.timeout_s,
            allow_hosts=settings.allow_hosts,
        )
    except ChannelError as exc:
        _fail(f"{name}: {exc}")
    console.print(f"{name}: ok ({result})")


@rules_app.command("list")
def rules_list() -> None:
    """List the notice rules."""
    from gis.notices.rules import list_rules, rule_dict

    table = Table("id", "name", "trigger", "kind", "recipients", "channels", "repeat", "enabled")
    with Session(_engine()) as session:
        for rule in list_rules(session):
            r = rule_dict(rule)
            trigger = r["trigger"] + (
                f" {r['colour']}" if r["colour"] else (f" {r['days']}d" if r["days"] else "")
            )
            table.add_row(
                str(r["id"]),
                r["name"],
                trigger,
                r["kind_label"],
                ", ".join(r["recipients"]),
                ", ".join(r["channels"]) or "all",
                f"{r['min_interval_days']}d" if r["min_interval_days"] else "once",
                str(r["enabled"]),
            )
    Console().print(table)


@rules_app.command("enable")
def rules_enable(
    rule: Annotated[str, typer.Argument(help="rule name or id")],
    off: Annotated[bool, typer.Option("--off", help="disable instead")] = False,
) -> None:
    """Enable (or with --off disable) a rule."""
    from gis.notices.rules import find_rule, update_rule

    try:
        with Session(_engine()) as session, session.begin():
            found = find_rule(session, rule)
            update_rule(session, found.id, {"enabled": not off})
    except _errors() as exc:
        _fail(str(exc))
    console.print(f"rule {rule} {'disabled' if off else 'enabled'}")


@rules_app.command("reset")
def rules_reset() -> None:
    """Add the default rules that are missing (existing rules are left as they are)."""
    from gis.notices.rules import ensure_default_rules

    with Session(_engine()) as session, session.begin():
        added = ensure_default_rules(session)
    console.print(f"{added} default rules added")


@notices_app.command("log")
def log(
    status: Annotated[str | None, typer.Option(help="pending, sent, failed or skipped")] = None,
    limit: Annotated[int, typer.Option(min=1, help="how many deliveries")] = 50,
) -> None:
    """Show the delivery log, newest first."""
    from gis.notices.log import list_deliveries

    table = Table("id", "notice", "channel", "status", "attempts", "recipients", "result")
    with Session(_engine()) as session:
        items, total = list_deliveries(session, scope=None, status=status, limit=limit)
    for d in items:
        table.add_row(
            str(d["id"]),
            d["notice_number"] or "",
            d["channel"],
            d["status"],
            f"{d['attempts']}/{d['max_attempts']}",
            ", ".join(r["name"] for r in d["recipients"]),
            d["result"][:80],
        )
    Console().print(table)
    console.print(f"{len(items)} of {total}")


@notices_app.command("retry")
def retry_delivery(
    delivery_id: Annotated[int, typer.Argument(help="the delivery's id (see `notices log`)")],
) -> None:
    """Retry a failed or skipped delivery now, with a fresh set of attempts."""
    from gis.notices.delivery import retry

    try:
        delivery = retry(_engine(), delivery_id)
    except _errors() as exc:
        _fail(str(exc))
    console.print(
        f"delivery {delivery.id}: {delivery.status} ({delivery.attempts}/{delivery.max_attempts})"
        f" {delivery.result[:80]}"
    )
