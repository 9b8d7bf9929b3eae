"""Backup and restore: the database (``pg_dump`` custom format) and the attachments, in one tar.

An archive holds ``database.dump``, every attachment under ``attachments/`` (content-addressed,
as :mod:`gis.field.photos` stores them), ``manifest.json`` (format version, schema revision,
creation time, server version, row counts per table and the SHA-256 and size of every member) and
``manifest.sha256`` (the manifest's own checksum). The dump and the row counts come from one
exported snapshot, so they agree; attachments are read after the dump, so every file a dumped
row names is in the archive.

Restoring refuses a database that holds ledger rows unless ``force`` is given, checks every
member's checksum before touching anything, unpacks the attachments into a staging folder next
to their final place, then drops the database's objects and loads the dump in one transaction
(``pg_restore`` piped into ``psql --single-transaction``): a failure leaves the database as it
was. The staged attachments are then moved into place and the row counts compared.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from gis.db.embedded import PG_MAJOR_VERSIONS, ClusterError, find_pg_bin
from gis.errors import LookbackError

FORMAT = "lookback-backup"
FORMAT_VERSION = 1
DUMP_MEMBER = "database.dump"
ATTACHMENTS_PREFIX = "attachments/"
MANIFEST_MEMBER = "manifest.json"
MANIFEST_SUM_MEMBER = "manifest.sha256"
CHUNK = 1 << 20
SAFE_MEMBER = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")

DATA_TABLES = frozenset(
    {
        "townships",
        "sites",
        "problems",
        "complaints",
        "inspections",
        "events",
        "attachments",
        "milestones",
        "users",
    }
)
"""Tables whose rows make a database "not empty" (tables that migrations seed do not count)."""

Progress = Callable[[str, int, int | None], None]
"""``progress(stage, done, total)``: bytes (or files) done of ``total`` (None when unknown)."""


class BackupError(LookbackError, RuntimeError):
    """A backup or restore that cannot go on, worded for the person at the terminal."""

    kind = "failed"


@dataclass
class Manifest:
    """What an archive holds; ``members`` maps each member name to its sha256 and size."""

    created_at: str
    schema_revision: str | None
    server_version: str
    pg_dump_version: str
    database: str
    tables: dict[str, int]
    members: dict[str, dict[str, Any]]
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        """The manifest as stable, indented JSON."""
        body = {
            "format": self.format,
            "format_version": self.format_version,
            "created_at": self.created_at,
            "schema_revision": self.schema_revision,
            "server_version": self.server_version,
            "pg_dump_version": self.pg_dump_version,
            "database": self.database,
            "tables": self.tables,
            "members": self.members,
        }
        return (json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """Parse a manifest, refusing other formats and newer format versions."""
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BackupError(f"{MANIFEST_MEMBER} is damaged: {exc}") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise BackupError(f"not a Lookback backup ({MANIFEST_MEMBER} has another format)")
        version = body.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise BackupError(
                f"backup format version {version!r} is newer than this Lookback reads "
                f"({FORMAT_VERSION}); restore it with the Lookback that wrote it"
            )
        try:
            return cls(
                created_at=str(body["created_at"]),
                schema_revision=body.get("schema_revision"),
                server_version=str(body["server_version"]),
                pg_dump_version=str(body["pg_dump_version"]),
                database=str(body["database"]),
                tables={str(k): int(v) for k, v in body["tables"].items()},
                members={str(k): dict(v) for k, v in body["members"].items()},
                format_version=version,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BackupError(f"{MANIFEST_MEMBER} is incomplete: {exc!r}") from None


@dataclass
class RestoreReport:
    """What a restore did."""

    manifest: Manifest
    tables: dict[str, int] = field(default_factory=dict)
    attachments: int = 0
    replaced_rows: int = 0


# -- connections and tools -----------------------------------------------------------------------


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


class _HashingReader(io.RawIOBase):
    """A file wrapper that hashes and counts what is read through it."""

    def __init__(self, inner: IO[bytes], tick: Callable[[int], None] | None = None) -> None:
        self.inner = inner
        self.sha = hashlib.sha256()
        self.size = 0
        self.tick = tick

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        data = self.inner.read(n)
        self.sha.update(data)
        self.size += len(data)
        if self.tick:
            self.tick(len(data))
        return data


def _writable_error(path: Path, exc: OSError) -> BackupError:
    """A failed write, explained with what to do about it."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        hint = "the disk is full; free space or choose another folder"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        hint = "the folder is read-only or not writable by this user; choose a writable folder"
    else:
        hint = "check the folder and try again"
    return BackupError(f"cannot write {path}: {reason} ({hint})")


def _attachment_files(root: Path) -> list[tuple[str, Path]]:
    """Every stored attachment under ``root`` as (archive name, path); temporary files skipped."""
    if not root.exists():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            if not SAFE_MEMBER.match(rel):
                raise BackupError(f"unexpected file name in the attachments folder: {path}")
            found.append((ATTACHMENTS_PREFIX + rel, path))
    return found


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (new names, renames) to disk."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _private_file(path: Path) -> BinaryIO:
    """``path`` opened for writing, created (or reset) readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def _run_dump(bin_dir: Path, conn: _Conn, snapshot: str, out: Path, progress: Progress) -> None:
    """Run pg_dump on the exported snapshot into ``out``, reporting its size as it grows."""
    argv = [
        str(bin_dir / "pg_dump"),
        "--format=custom",
        "--compress=6",
        "--no-owner",
        "--no-privileges",
        f"--snapshot={snapshot}",
        f"--file={out}",
        f"--dbname={conn.conninfo}",
    ]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=err, env=conn.env(), umask=0o077
        )
        while proc.poll() is None:
            progress("dumping database", out.stat().st_size if out.exists() else 0, None)
            time.sleep(0.2)
        err.seek(0)
        message = err.read().decode(errors="replace").strip()
    if proc.returncode != 0:
        if "No space left" in message:
            raise BackupError(f"cannot write {out}: the disk is full ({message.splitlines()[-1]})")
        raise BackupError(f"pg_dump failed: {message or f'exit status {proc.returncode}'}")
    progress("dumping database", out.stat().st_size, out.stat().st_size)


def create_backup(
    dest: Path,
    *,
    url: str,
    attachments_dir: Path,
    progress: Progress | None = None,
) -> Manifest:
    """Write a backup of the database at ``url`` and of ``attachments_dir`` to the tar ``dest``."""
    note: Progress = progress or (lambda stage, done, total: None)
    dest = Path(dest).absolute()
    folder = dest.parent
    if dest.is_dir():
        raise BackupError(f"{dest} is a folder; give the backup file's name")
    if not folder.is_dir():
        raise BackupError(f"the folder {folder} does not exist")
    files = _attachment_files(Path(attachments_dir))
    try:
        attachment_bytes = sum(p.stat().st_size for _, p in files)
    except OSError as exc:
        raise BackupError(f"cannot read the attachments folder {attachments_dir}: {exc}") from None
    stem = f".{dest.name}.{os.getpid()}"
    tmp_dump, tmp_tar = folder / f"{stem}.dump.part", folder / f"{stem}.tar.part"
    try:
        # A backup holds every account's hashes and every channel's settings: owner-only files.
        tmp_dump.touch(mode=0o600, exist_ok=False)
        tmp_dump.chmod(0o600)
    except OSError as exc:
        raise _writable_error(dest, exc) from None
    free = shutil.disk_usage(folder).free
    if free < attachment_bytes + (1 << 20):
        tmp_dump.unlink(missing_ok=True)
        raise BackupError(
            f"cannot write {dest}: not enough free space in {folder} ({free / 1e6:.1f} MB free; "
            f"the attachments alone need {attachment_bytes / 1e6:.1f} MB)"
        )
    try:
        manifest = _write(dest, tmp_dump, tmp_tar, url, files, attachment_bytes, note)
    except OSError as exc:
        raise _writable_error(dest, exc) from None
    finally:
        tmp_dump.unlink(missing_ok=True)
        tmp_tar.unlink(missing_ok=True)
    return manifest


def _write(
    dest: Path,
    tmp_dump: Path,
    tmp_tar: Path,
    url: str,
    files: list[tuple[str, Path]],
    attachment_bytes: int,
    note: Progress,
) -> Manifest:
    """Dump, then pack dump, attachments and manifest into ``dest`` (atomically renamed)."""
    conn_params = _libpq(url)
    engine = _engine(url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            major, server_version = _server_major(conn)
            bin_dir = pg_tools(major)
            snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
            counts = table_counts(conn)
            revision = _revision(conn)
            _run_dump(bin_dir, conn_params, snapshot, tmp_dump, note)
            conn.commit()
    except BackupError:
        raise
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - connection problems, worded plainly
        first = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
        raise BackupError(f"cannot read the database: {first[0] if first else exc!r}") from None
    finally:
        engine.dispose()
    members: dict[str, dict[str, Any]] = {}
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        note("packing attachments", done, attachment_bytes)

    with (
        _private_file(tmp_tar) as raw,
        tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, path in [(DUMP_MEMBER, tmp_dump), *files]:
            info = tarfile.TarInfo(name)
            try:
                stat = path.stat()
                handle = open(path, "rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from None
            with handle:
                info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o644
                reader = _HashingReader(handle, tick if name != DUMP_MEMBER else None)
                tar.addfile(info, reader)  # type: ignore[arg-type]
            if reader.size != info.size:
                raise BackupError(f"{path} changed while it was being read; run the backup again")
            members[name] = {"sha256": reader.sha.hexdigest(), "size": reader.size}
        manifest = Manifest(
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            schema_revision=revision,
            server_version=server_version,
            pg_dump_version=str(_tool_version(bin_dir / "pg_dump")),
            database=conn_params.database,
            tables=counts,
            members=members,
        )
        body = manifest.to_json()
        digest = hashlib.sha256(body).hexdigest()
        for name, data in (
            (MANIFEST_MEMBER, body),
            (MANIFEST_SUM_MEMBER, f"{digest}  {MANIFEST_MEMBER}\n".encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))
        tar.close()
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(tmp_tar, dest)
    _fsync_dir(dest.parent)
    return manifest


# -- verifying -----------------------------------------------------------------------------------


def _open_tar(archive: Path) -> tarfile.TarFile:
    """Open an archive for reading, or say plainly why not."""
    try:
        return tarfile.open(archive, mode="r:")
    except FileNotFoundError:
        raise BackupError(f"no such backup file: {archive}") from None
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{archive} is not a readable backup archive: {exc}") from None


def _check_clean_end(tar: tarfile.TarFile, previous: str) -> None:
    """tarfile stops quietly at a corrupt header: only zero blocks may follow the last member."""
    handle = tar.fileobj
    assert handle is not None
    handle.seek(tar.offset)
    while block := handle.read(CHUNK):
        if block.count(0) != len(block):
            raise BackupError(
                f"the archive is damaged after {previous} (a member header is corrupt); "
                "nothing was restored"
            )


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """Every member in order, a damaged header named by the member before it."""
    previous = "the start of the archive"
    while True:
        try:
            info = tar.next()
        except tarfile.TarError as exc:
            raise BackupError(
                f"the archive is damaged after {previous} (a member header is corrupt: {exc}); "
                "nothing was restored"
            ) from None
        if info is None:
            _check_clean_end(tar, previous)
            return
        if not info.isreg() or not SAFE_MEMBER.match(info.name) or ".." in info.name.split("/"):
            raise BackupError(f"the archive holds an unexpected member {info.name!r}; refused")
        previous = f"member '{info.name}'"
        yield info


def _hash_member(
    tar: tarfile.TarFile, info: tarfile.TarInfo, sink: IO[bytes] | None = None
) -> tuple[str, int]:
    """sha256 and size of a member's data, copied to ``sink`` when given."""
    handle = tar.extractfile(info)
    assert handle is not None
    sha, size = hashlib.sha256(), 0
    while chunk := handle.read(CHUNK):
        sha.update(chunk)
        size += len(chunk)
        if sink is not None:
            sink.write(chunk)
    return sha.hexdigest(), size


def verify_archive(archive: Path, progress: Progress | None = None) -> Manifest:
    """Check every member against the manifest; raise naming the first member that differs."""
    note: Progress = progress or (lambda stage, done, total: None)
    archive = Path(archive)
    total = archive.stat().st_size if archive.exists() else None
    seen: dict[str, tuple[str, int]] = {}
    manifest_raw = manifest_sum = b""
    with _open_tar(archive) as tar:
        for info in _members(tar):
            if info.name in seen:
                raise BackupError(f"the archive holds member '{info.name}' twice; refused")
            if info.name in (MANIFEST_MEMBER, MANIFEST_SUM_MEMBER):
                handle = tar.extractfile(info)
                assert handle is not None
                data = handle.read()
                if info.name == MANIFEST_MEMBER:
                    manifest_raw = data
                else:
                    manifest_sum = data
                seen[info.name] = (hashlib.sha256(data).hexdigest(), len(data))
                continue
            seen[info.name] = _hash_member(tar, info)
            note("verifying", info.offset_data + info.size, total)
    note("verifying", total or 0, total)
    if not manifest_raw:
        raise BackupError(f"the archive has no {MANIFEST_MEMBER}: not a Lookback backup")
    expected_sum = manifest_sum.decode(errors="replace").split(" ", 1)[0].strip()
    if not manifest_sum or expected_sum != hashlib.sha256(manifest_raw).hexdigest():
        raise BackupError(
            f"checksum mismatch for member '{MANIFEST_MEMBER}' (it does not match "
            f"{MANIFEST_SUM_MEMBER}): the archive is damaged or was altered; nothing was restored"
        )
    manifest = Manifest.from_json(manifest_raw)
    for name, expected in manifest.members.items():
        if name not in seen:
            raise BackupError(f"member '{name}' is listed in the manifest but missing; refused")
        sha, size = seen[name]
        if sha != expected.get("sha256") or size != expected.get("size"):
            raise BackupError(
                f"checksum mismatch for member '{name}': the archive is damaged or was "
                "altered; nothing was restored"
            )
    extra = sorted(set(seen) - set(manifest.members) - {MANIFEST_MEMBER, MANIFEST_SUM_MEMBER})
    if extra:
        raise BackupError(f"member '{extra[0]}' is not listed in the manifest; refused")
    if DUMP_MEMBER not in manifest.members:
        raise BackupError(f"the archive has no {DUMP_MEMBER}; refused")
    return manifest


# -- restoring -----------------------------------------------------------------------------------


def _known_revision(revision: str | None) -> bool:
    """Whether this code's migrations know ``revision``."""
    if revision is None:
        return True
    from alembic.script import ScriptDirectory

    from gis.db.engine import alembic_config

    script = ScriptDirectory.from_config(alembic_config("postgresql://"))
    try:
        return script.get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        return False


DROP_SQL = """
SELECT 'DROP ' || CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
         WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END
       || ' IF EXISTS ' || c.oid::regclass::text || ' CASCADE;'
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT 'DROP ROUTINE IF EXISTS ' || p.oid::regprocedure::text || ' CASCADE;'
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'DROP TYPE IF EXISTS ' || t.oid::regtype::text || ' CASCADE;'
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r', 'c')
  AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                  AND d.objid = t.oid AND d.deptype = 'e')
"""


def _restore_list(bin_dir: Path, dump: Path) -> tuple[str, list[str]]:
    """The dump's table of contents without extension entries, and the extensions it needs."""
    proc = subprocess.run(
        [str(bin_dir / "pg_restore"), "--list", str(dump)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise BackupError(f"pg_restore cannot read the dump: {proc.stderr.strip()}")
    keep, extensions = [], []
    for line in proc.stdout.splitlines():
        match = re.match(r"^\d+; \d+ \d+ EXTENSION - (\S+)", line)
        if match:
            extensions.append(match.group(1))
            continue
        if re.match(r"^\d+; \d+ \d+ COMMENT - EXTENSION ", line):
            continue
        keep.append(line)
    return "\n".join(keep) + "\n", extensions


def _pipe_restore(bin_dir: Path, conn: _Conn, dump: Path, preamble: str, note: Progress) -> None:
    """Load ``dump`` after ``preamble`` in one transaction; roll back everything on any error."""
    work = Path(tempfile.mkdtemp(prefix="lookback-restore-"))
    try:
        toc, extensions = _restore_list(bin_dir, dump)
        (work / "toc.list").write_text(toc)
        head = "".join(f'CREATE EXTENSION IF NOT EXISTS "{e}";\n' for e in extensions)
        (work / "preamble.sql").write_text("SET client_min_messages = warning;\n" + head + preamble)
        restore = subprocess.Popen(
            [
                str(bin_dir / "pg_restore"),
                "--no-owner",
                "--no-privileges",
                f"--use-list={work / 'toc.list'}",
                "--file=-",
                str(dump),
            ],
            stdout=subprocess.PIPE,
            stderr=open(work / "pg_restore.err", "wb"),  # noqa: SIM115 - closed with the folder
        )
        with open(work / "psql.err", "wb") as psql_err:
            psql = subprocess.Popen(
                [
                    str(bin_dir / "psql"),
                    "--no-psqlrc",
                    "--quiet",
                    "--single-transaction",
                    "--set=ON_ERROR_STOP=1",
                    f"--file={work / 'preamble.sql'}",
                    "--file=-",
                    f"--dbname={conn.conninfo}",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=psql_err,
                env=conn.env(),
            )
            assert restore.stdout is not None and psql.stdin is not None
            fed = 0
            try:
                while chunk := restore.stdout.read(CHUNK):
                    psql.stdin.write(chunk)
                    fed += len(chunk)
                    note("restoring database", fed, None)
            except BrokenPipeError:
                pass
            finally:
                try:
                    psql.stdin.close()
                except BrokenPipeError:
                    pass
            restore.wait()
            psql.wait()
        errors = (work / "psql.err").read_text(errors="replace").strip()
        if psql.returncode != 0:
            lines = [ln for ln in errors.splitlines() if "ERROR" in ln] or errors.splitlines()
            raise BackupError(
                "the database restore failed and was rolled back (the database is unchanged): "
                + (lines[0] if lines else f"psql exit status {psql.returncode}")
            )
        if restore.returncode != 0:
            raise BackupError(
                "pg_restore failed: " + (work / "pg_restore.err").read_text(errors="replace")
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _stage_attachments(
    tar: tarfile.TarFile, manifest: Manifest, stage: Path, note: Progress
) -> int:
    """Unpack the attachments into ``stage``, checking each again; how many."""
    total = sum(
        int(m["size"]) for n, m in manifest.members.items() if n.startswith(ATTACHMENTS_PREFIX)
    )
    done = count = 0
    for info in _members(tar):
        if not info.name.startswith(ATTACHMENTS_PREFIX):
            continue
        target = stage / info.name[len(ATTACHMENTS_PREFIX) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            sha, size = _hash_member(tar, info, out)
            out.flush()
            os.fsync(out.fileno())
        if sha != manifest.members[info.name]["sha256"]:
            raise BackupError(f"checksum mismatch for member '{info.name}' while unpacking")
        done += size
        count += 1
        note("unpacking attachments", done, total)
    return count


def _place_attachments(stage: Path, attachments_dir: Path) -> None:
    """Move staged attachments into their final places."""
    for dirpath, _, filenames in os.walk(stage):
        for name in filenames:
            src = Path(dirpath) / name
            dst = attachments_dir / src.relative_to(stage)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
            _fsync_dir(dst.parent)


@contextmanager
def _staging(attachments_dir: Path) -> Iterator[Path]:
    """A staging folder inside the attachments folder (same file system), removed after."""
    try:
        attachments_dir.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".restore-", dir=attachments_dir))
    except OSError as exc:
        raise BackupError(
            f"cannot write to the attachments folder {attachments_dir}: "
            f"{exc.strerror or exc} (it must be writable, with space for the attachments)"
        ) from None
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def restore_backup(
    archive: Path,
    *,
    url: str,
    attachments_dir: Path,
    force: bool = False,
    progress: Progress | None = None,
) -> RestoreReport:
    """Restore ``archive`` into the database at ``url`` and ``attachments_dir``; see the module."""
    note: Progress = progress or (lambda stage, done, total: None)
    archive, attachments_dir = Path(archive), Path(attachments_dir)
    if not archive.is_file():
        raise BackupError(f"no such backup file: {archive}")
    conn_params = _libpq(url)
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            major, _ = _server_major(conn)
            counts = table_counts(conn)
    except Exception as exc:  # noqa: BLE001 - connection problems, worded plainly
        first = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
        raise BackupError(f"cannot reach the database: {first[0] if first else exc!r}") from None
    finally:
        engine.dispose()
    rows = sum(counts.values()) - counts.get("alembic_version", 0)
    held = {name: n for name, n in counts.items() if name in DATA_TABLES and n}
    if held and not force:
        busiest = sorted(held.items(), key=lambda kv: -kv[1])[:3]
        listed = ", ".join(f"{name}: {n:,}" for name, n in busiest)
        raise BackupError(
            f"the database {conn_params.database} is not empty ({listed}); "
            "restore with --force to replace it"
        )
    manifest = verify_archive(archive, note)
    if not _known_revision(manifest.schema_revision):
        raise BackupError(
            f"the backup's schema revision {manifest.schema_revision!r} is unknown to this "
            "Lookback (the backup comes from a newer version); upgrade Lookback first"
        )
    bin_dir = pg_tools(major)
    if _tool_version(bin_dir / "pg_restore") < int(manifest.pg_dump_version or 0):
        raise BackupError(
            f"the dump was written by pg_dump {manifest.pg_dump_version}; pg_restore in "
            f"{bin_dir} is older. Install postgresql-client-{manifest.pg_dump_version}"
        )
    # dropped inside the restore's transaction, so a failed restore drops nothing
    preamble = f"DO $lookback$ DECLARE stmt text; BEGIN FOR stmt IN {DROP_SQL}"
    preamble += " LOOP EXECUTE stmt; END LOOP; END $lookback$;\n"
    report = RestoreReport(manifest=manifest, replaced_rows=rows)
    with _staging(attachments_dir) as stage, _open_tar(archive) as tar:
        try:
            report.attachments = _stage_attachments(tar, manifest, stage, note)
            dump = stage / ".database.dump"
            info = tar.getmember(DUMP_MEMBER)
            with _private_file(dump) as out:
                sha, _ = _hash_member(tar, info, out)
        except OSError as exc:
            raise BackupError(
                f"cannot write to the attachments folder {attachments_dir}: "
                f"{exc.strerror or exc} (it must be writable, with space for the attachments)"
            ) from None
        if sha != manifest.members[DUMP_MEMBER]["sha256"]:
            raise BackupError(f"checksum mismatch for member '{DUMP_MEMBER}' while unpacking")
        _pipe_restore(bin_dir, conn_params, dump, preamble, note)
        dump.unlink()
        try:
            _place_attachments(stage, attachments_dir)
        except OSError as exc:
            raise BackupError(
                f"the database was restored but attachments could not be moved into "
                f"{attachments_dir}: {exc.strerror or exc}; fix the folder and restore again "
                "with --force"
            ) from None
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            report.tables = table_counts(conn)
    finally:
        engine.dispose()
    differing = {
        name: (n, report.tables.get(name))
        for name, n in manifest.tables.items()
        if report.tables.get(name) != n
    }
    if differing:
        name, (want, got) = next(iter(differing.items()))
        raise BackupError(f"after restoring, table {name} has {got} rows; the backup had {want}")
    return report
