"""Files: hashing while reading, the attachments to archive, private files and durable folders."""

from __future__ import annotations

import errno
import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, BinaryIO

from gis.db.backup.archive import (
    ATTACHMENTS_PREFIX,
    SAFE_MEMBER,
    BackupError,
)


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
