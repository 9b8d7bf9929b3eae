"""Engines and sessions: the embedded cluster's URL, or ``DATABASE_URL`` when one is set."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from gis.config import Settings, get_settings
from gis.db.embedded import Cluster

MIGRATIONS = Path(__file__).parent / "migrations"


def embedded_cluster(settings: Settings | None = None) -> Cluster:
    """The private cluster under ``$LOOKBACK_HOME/pg``."""
    settings = settings or get_settings()
    return Cluster(settings.pg_dir, settings.pg_port, settings.pg_user)


def normalise_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs; use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def database_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.database_url:
        return normalise_url(settings.database_url)
    return embedded_cluster(settings).url()


def uses_embedded_cluster(settings: Settings | None = None) -> bool:
    return not (settings or get_settings()).database_url


def make_engine(url: str) -> Engine:
    """An engine that checks connections before use, so the app survives a database restart."""
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_recycle=1800,
        # JIT compilation costs more than these short map and list queries save (measured in
        # bench/RESULTS.md: wall refresh 1.5 s -> 0.6 s at 100k problems with it off).
        connect_args={"connect_timeout": 5, "options": "-c jit=off"},
    )


@lru_cache
def default_engine() -> Engine:
    return make_engine(database_url())


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with session_factory(engine)() as session, session.begin():
        yield session


def ping(engine: Engine) -> None:
    """Raise if the database does not answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def database_down(engine: Engine) -> str | None:
    """Why the database does not answer (the driver's first line), or None when it does."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        ping(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
        return reason[0] if reason else "?"
    return None


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
