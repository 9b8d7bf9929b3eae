"""Writing a backup: the dump from an exported snapshot, then the attachments, then the manifest."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from gis.db.backup.archive import (
    DUMP_MEMBER,
    MANIFEST_MEMBER,
    MANIFEST_SUM_MEMBER,
    BackupError,
    Manifest,
    Progress,
)
from gis.db.backup.files import (
    _attachment_files,
    _fsync_dir,
    _HashingReader,
    _private_file,
    _writable_error,
)
from gis.db.backup.tools import (
    _Conn,
    _engine,
    _libpq,
    _revision,
    _server_major,
    _tool_version,
    pg_tools,
    table_counts,
)


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
