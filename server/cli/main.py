"""The ``lookback`` command line."""

from __future__ import annotations

import signal
import sys
from datetime import date
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from gis.config import get_settings
from gis.db.embedded import ClusterError
from gis.db.engine import (
    current_revision,
    database_url,
    downgrade,
    embedded_cluster,
    make_engine,
    upgrade,
    uses_embedded_cluster,
)
from server.cli.bench import bench_app
from server.cli.calendar import calendar_app
from server.cli.campaigns import campaign_app
from server.cli.common import fail
from server.cli.field import import_inspections
from server.cli.hotspots import hotspots_app
from server.cli.imports import import_app
from server.cli.ledger import export_app, import_ledger
from server.cli.notices import notices_app
from server.cli.ops import ops_app
from server.cli.reports import report_app
from server.ops import validate_settings_or_exit

app = typer.Typer(
    help="Lookback: 环保督察整改 field inspection and hotspot mapping.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(
    help="The database: the embedded PostGIS cluster or DATABASE_URL.", no_args_is_help=True
)
demo_app = typer.Typer(help="The demo county.", no_args_is_help=True)
user_app = typer.Typer(
    help="Users and roles (admin, office, township, inspector, viewer).", no_args_is_help=True
)
token_app = typer.Typer(
    help="Bearer tokens for scripts, the field app and walls.", no_args_is_help=True
)

app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(import_app, name="import")
app.add_typer(hotspots_app, name="hotspots")
app.add_typer(report_app, name="report")
app.add_typer(notices_app, name="notices")
import_app.command("ledger")(import_ledger)
import_app.command("inspections")(import_inspections)
app.add_typer(export_app, name="export")
app.add_typer(ops_app)
app.add_typer(bench_app, name="bench")
app.add_typer(calendar_app, name="calendar")
app.add_typer(campaign_app, name="campaign")


@app.callback()
def _check_configuration() -> None:
    """Lookback: 环保督察整改 field inspection and hotspot mapping."""
    validate_settings_or_exit()


console = Console(stderr=True)


def _fail(message: str) -> NoReturn:
    fail(message, on=console)


def _require_embedded() -> None:
    if not uses_embedded_cluster():
        _fail(
            "DATABASE_URL is set: the embedded cluster is not used, so there is nothing to manage"
        )


@db_app.command("start")
def db_start() -> None:
    """Start the embedded cluster (initialising it the first time); safe to repeat."""
    _require_embedded()
    cluster = embedded_cluster()
    try:
        cluster.start()
    except ClusterError as exc:
        _fail(str(exc))
    console.print(f"database running on port {cluster.port}, data in {cluster.data_dir}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded cluster."""
    _require_embedded()
    try:
        embedded_cluster().stop()
    except ClusterError as exc:
        _fail(str(exc))
    console.print("database stopped")


@db_app.command("status")
def db_status() -> None:
    """Say whether the database runs and which migration it is at."""
    if uses_embedded_cluster():
        status = embedded_cluster().status()
        state = (
            "running" if status.running else ("stopped" if status.initialised else "not created")
        )
        typer.echo(
            f"embedded cluster: {state} (port {status.port}, pid {status.pid}, "
            f"data {status.data_dir})"
        )
        if not status.running:
            raise typer.Exit(3)
    try:
        revision = current_revision(make_engine(database_url()))
    except Exception as exc:  # noqa: BLE001 - report any connection problem plainly
        _fail(f"cannot connect: {str(exc).splitlines()[0]}")
    typer.echo(f"schema revision: {revision or 'none (run `lookback db upgrade`)'}")


@db_app.command("url")
def db_url() -> None:
    """Print the SQLAlchemy URL of the database in use (the password shown as ***)."""
    from sqlalchemy.engine import make_url

    url = database_url()
    parsed = make_url(url)
    typer.echo(url if parsed.password is None else parsed.render_as_string(hide_password=True))


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Run the schema migrations (starting the embedded cluster if needed)."""
    if uses_embedded_cluster():
        db_start()
    upgrade(database_url(), revision)
    console.print(f"schema at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision, e.g. -1")]) -> None:
    """Undo schema migrations down to REVISION."""
    downgrade(database_url(), revision)
    console.print(f"schema at {revision}")


def _load_demo(scale: int, seed: int, as_of: date | None) -> None:
    from gis.demo.county import load_demo

    engine = make_engine(database_url())
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("demo county: generating", total=None)

        def note(stage: str, n: int) -> None:
            progress.update(task, description=f"demo county: {stage}" + (f" ({n:,})" if n else ""))

        summary = load_demo(engine, scale=scale, seed=seed, as_of=as_of, progress=note)
    parts = ", ".join(f"{n:,} {table}" for table, n in summary.counts.items())
    console.print(f"demo county loaded (seed {seed}, as of {summary.as_of}): {parts}")
    from sqlalchemy.orm import Session

    from gis.demo.users import create_demo_users

    with Session(engine) as session, session.begin():
        logins = create_demo_users(session)
    if logins:
        table = Table(
            title="演示账号 Demo sign-ins (shown once; change with `lookback user passwd`)"
        )
        for column in ("user", "role", "townships", "password"):
            table.add_column(column)
        for login in logins:
            table.add_row(
                login.name, login.role, ",".join(login.townships) or "all", login.password
            )
        console.print(table)


@demo_app.command("load")
def demo_load(
    scale: Annotated[int, typer.Option(min=1, help="number of problems")] = 300,
    seed: Annotated[int, typer.Option(help="random seed: same seed, same data")] = 20261123,
    as_of: Annotated[
        str | None, typer.Option(help="reference date YYYY-MM-DD (default today)")
    ] = None,
) -> None:
    """Write the synthetic demo county into an empty database."""
    if uses_embedded_cluster():
        db_start()
    upgrade(database_url())
    try:
        _load_demo(scale, seed, date.fromisoformat(as_of) if as_of else None)
    except ValueError as exc:
        _fail(str(exc))


def _session():  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import Session

    return Session(make_engine(database_url()))


def _read_password(from_stdin: bool, name: str) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
def user_add(
    name: str,
    role: Annotated[str, typer.Option(help="admin, office, township, inspector or viewer")],
    township: Annotated[list[str] | None, typer.Option(help="township code (repeatable)")] = None,
    password_stdin: Annotated[bool, typer.Option(help="read the password from stdin")] = False,
    no_password: Annotated[bool, typer.Option(help="token-only account (kiosks, scripts)")] = False,
) -> None:
    """Add a user; passwords need 12+ characters and must not be common."""
    from gis.access.auth import AuthError, add_user

    password = None if no_password else _read_password(password_stdin, name)
    try:
        with _session() as session, session.begin():
            add_user(
                session, name=name, role=role, password=password, townships=township, actor="cli"
            )
    except AuthError as exc:
        _fail(str(exc))
    console.print(f"user {name} added as {role}")


@user_app.command("list")
def user_list() -> None:
    """List users with their roles and townships."""
    from gis.access.users import list_users

    table = Table("user", "role", "townships", "disabled", "created")
    with _session() as session:
        for u in list_users(session):
            table.add_row(
                u["name"],
                u["role"],
                ",".join(u["townships"]) or "all",
                str(u["disabled"]),
                (u["created_at"] or "")[:10],
            )
    Console().print(table)


@user_app.command("disable")
def user_disable(name: str) -> None:
    """Disable a user and end their sessions and tokens."""
    from gis.access.auth import AuthError, disable_user

    try:
        with _session() as session, session.begin():
            disable_user(session, name=name, actor="cli")
    except AuthError as exc:
        _fail(str(exc))
    console.print(f"user {name} disabled")


@user_app.command("passwd")
def user_passwd(
    name: str,
    password_stdin: Annotated[bool, typer.Option(help="read the password from stdin")] = False,
) -> None:
    """Set a user's password."""
    from gis.access.auth import AuthError, set_password

    password = _read_password(password_stdin, name) or ""
    try:
        with _session() as session, session.begin():
            set_password(session, name=name, password=password, actor="cli")
    except AuthError as exc:
        _fail(str(exc))
    console.print(f"password of {name} changed")


@user_app.command("role")
def user_role(
    name: str,
    role: Annotated[str, typer.Option(help="the new role")],
    township: Annotated[list[str] | None, typer.Option(help="township code (repeatable)")] = None,
) -> None:
    """Change a user's role and townships."""
    from gis.access.auth import AuthError, set_role

    try:
        with _session() as session, session.begin():
            set_role(session, name=name, role=role, townships=township, actor="cli")
    except AuthError as exc:
        _fail(str(exc))
    console.print(f"{name} is now {role}")


@token_app.command("create")
def token_create(
    name: str,
    label: Annotated[str, typer.Option(help="what the token is for")] = "",
    days: Annotated[int, typer.Option(help="days until it expires; 0 never")] = 90,
) -> None:
    """Create a bearer token for NAME; the token is printed as the last line."""
    from gis.access.auth import AuthError, create_token

    try:
        with _session() as session, session.begin():
            raw = create_token(session, name=name, label=label, days=days or None, actor="cli")
    except AuthError as exc:
        _fail(str(exc))
    console.print(f"token for {name} (keep it secret; it is not shown again):")
    typer.echo(raw)


@token_app.command("list")
def token_list() -> None:
    """List tokens (ids, owners, expiry; never the tokens themselves)."""
    from gis.access.users import all_tokens

    table = Table("id", "user", "label", "expires", "revoked", "last used")
    with _session() as session:
        for t in all_tokens(session):
            table.add_row(
                str(t["id"]),
                t["user"],
                t["label"],
                t["expires_at"] or "never",
                t["revoked_at"] or "",
                t["last_used_at"] or "",
            )
    Console().print(table)


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke a token by id (see `lookback token list`)."""
    from gis.access.auth import AuthError, revoke_token

    try:
        with _session() as session, session.begin():
            revoke_token(session, token_id=token_id, actor="cli")
    except AuthError as exc:
        _fail(str(exc))
    console.print(f"token {token_id} revoked")


@app.command("up")
def up(
    host: Annotated[str | None, typer.Option(help="address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="port to bind")] = None,
    demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="load the demo county into an empty database")
    ] = True,
) -> None:
    """Start the database, migrate it, load the demo if empty, and serve the app."""
    import uvicorn

    from gis.demo.county import database_is_empty
    from server.app import create_app
    from server.ops import warm_up

    settings = get_settings()
    started_here = False
    if uses_embedded_cluster():
        cluster = embedded_cluster()
        started_here = cluster.running_pid() is None
        db_start()
    upgrade(database_url())
    engine = make_engine(database_url())
    if demo and database_is_empty(engine):
        _load_demo(300, 20261123, None)
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(f"Lookback is serving on http://{bind_host}:{bind_port}/  (Ctrl-C stops)")
    served = create_app(engine=engine, settings=settings)
    warm_up(served)  # route state built now, not during the first requests
    # uvicorn shuts down gracefully on SIGTERM (a service manager's stop), then raises the signal
    # again under the handler it found: make that an exit, so the database below is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        uvicorn.run(
            served,
            host=bind_host,
            port=bind_port,
            log_level="info",
            access_log=False,  # the app logs one JSON line per request itself
            # uvloop and httptools (dependencies) when importable; asyncio and h11 otherwise.
            loop="auto",
            http="auto",
        )
    finally:
        engine.dispose()
        if started_here:
            embedded_cluster().stop()
            console.print("database stopped")


def main() -> None:  # pragma: no cover - entry point wrapper
    app(prog_name="lookback")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
