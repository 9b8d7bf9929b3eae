"""PostgreSQL's side: libpq parameters with the password out of argv, the pg_dump/pg_restore of the
server's major version, row counts per table and the schema revision."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from gis.db.backup.archive import (
    BackupError,
)
from gis.db.embedded import PG_MAJOR_VERSIONS, ClusterError, find_pg_bin


@dataclass
class _Conn:
    """libpq connection parameters of a SQLAlchemy URL, with the password kept out of argv."""

    conninfo: str
    password: str | None
    database: str

    def env(self) -> dict[str, str]:
        """The environment for a PostgreSQL client program."""
        env = {**os.environ, "PGAPPNAME": "lookback-backup"}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def _quote(value: str) -> str:
    """A libpq conninfo value, quoted."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _libpq(url: str) -> _Conn:
    """Translate a SQLAlchemy/psycopg URL into a libpq conninfo string."""
    u = make_url(url)
    params: dict[str, str] = {}
    if u.host:
        params["host"] = u.host
    if u.port:
        params["port"] = str(u.port)
    if u.username:
        params["user"] = u.username
    params["dbname"] = u.database or "postgres"
    for key, value in u.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    conninfo = " ".join(f"{k}={_quote(v)}" for k, v in params.items())
    return _Conn(conninfo, u.password, params["dbname"])


def _engine(url: str) -> Engine:
    """A pool-less engine for the few queries of a backup or restore."""
    return create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 10})


def _tool_version(path: Path) -> int:
    """The major version of a PostgreSQL client program."""
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else 0


def pg_tools(server_major: int) -> Path:
    """The bin folder whose ``pg_dump``/``pg_restore``/``psql`` match the server's major version."""
    exact = Path(f"/usr/lib/postgresql/{server_major}/bin")
    if (exact / "pg_dump").exists():
        return exact
    try:
        bin_dir = find_pg_bin()
    except ClusterError:
        found = [
            Path(f"/usr/lib/postgresql/{m}/bin")
            for m in PG_MAJOR_VERSIONS
            if Path(f"/usr/lib/postgresql/{m}/bin/pg_dump").exists()
        ]
        if not found:
            raise BackupError(
                "pg_dump not found (looked in /usr/lib/postgresql/<15..17>/bin); install "
                f"postgresql-client-{server_major}"
            ) from None
        bin_dir = found[0]
    if _tool_version(bin_dir / "pg_dump") < server_major:
        raise BackupError(
            f"the database server is PostgreSQL {server_major} but the newest pg_dump here is "
            f"from {bin_dir}; install postgresql-client-{server_major}"
        )
    return bin_dir


def _server_major(conn: Connection) -> tuple[int, str]:
    """The server's major version number and full version string."""
    num = int(conn.execute(text("SHOW server_version_num")).scalar_one())
    version = str(conn.execute(text("SHOW server_version")).scalar_one())
    return num // 10000, version


USER_TABLES_SQL = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'topology', 'tiger')
  AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (
    SELECT 1 FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""


def _ident(schema: str, name: str) -> str:
    """A quoted schema-qualified table name."""
    return '"' + schema.replace('"', '""') + '"."' + name.replace('"', '""') + '"'


def table_counts(conn: Connection) -> dict[str, int]:
    """Exact row counts of every user table (extension tables such as spatial_ref_sys left out)."""
    counts: dict[str, int] = {}
    for schema, name in conn.execute(text(USER_TABLES_SQL)).all():
        key = name if schema == "public" else f"{schema}.{name}"
        counts[key] = int(
            conn.execute(text(f"SELECT count(*) FROM {_ident(schema, name)}")).scalar_one()
        )
    return counts


def _revision(conn: Connection) -> str | None:
    """The Alembic revision the database is at, if it has one."""
    exists = conn.execute(text("SELECT to_regclass('public.alembic_version')")).scalar()
    if exists is None:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


# -- writing -------------------------------------------------------------------------------------
