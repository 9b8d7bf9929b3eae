"""Restoring: the dump in one transaction, the attachments staged and then moved into place, the
row counts compared."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gis.db.backup.archive import (
    ATTACHMENTS_PREFIX,
    CHUNK,
    DATA_TABLES,
    DUMP_MEMBER,
    BackupError,
    Manifest,
    Progress,
    RestoreReport,
)
from gis.db.backup.files import (
    _fsync_dir,
    _private_file,
)
from gis.db.backup.tools import (
    _Conn,
    _engine,
    _libpq,
    _server_major,
    _tool_version,
    pg_tools,
    table_counts,
)
from gis.db.backup.verify import (
    _hash_member,
    _known_revision,
    _members,
    _open_tar,
    verify_archive,
)

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
