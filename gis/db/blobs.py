"""Files stored by content hash: ``root/ab/cd/<sha256>``, written durably, never inside ``static/``.

One home for the attachments folder's layout, shared by inspection photos
(:mod:`gis.field.photos`) and a problem's evidence documents (:mod:`gis.ledger.evidence`). A file
is written to a temporary name in its folder, fsync'd, renamed into place and the folder fsync'd,
so a file that was acknowledged survives a power cut. Files carry no extension.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path

__all__ = ["SHA256_RE", "blob_path", "sha256_hex", "store_blob"]

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_STATIC_DIR = (Path(__file__).resolve().parents[2] / "static").resolve()


def sha256_hex(data: bytes) -> str:
    """Return the lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def blob_path(root: Path, sha256: str) -> Path:
    """Return the content-addressed path ``root/ab/cd/<sha256>`` of a hash."""
    if not SHA256_RE.match(sha256):
        raise ValueError(f"not a lower-case hex SHA-256: {sha256!r}")
    return root / sha256[:2] / sha256[2:4] / sha256


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (new names, renames) to disk."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(folder: Path) -> None:
    """Create ``folder`` and missing parents, fsync'ing each parent that gained an entry."""
    missing: list[Path] = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o755)
        _fsync_dir(path.parent)


def _refuse_public(root: Path) -> None:
    """Refuse an attachments folder inside ``static/`` (it would be served to browsers)."""
    resolved = root.resolve()
    if resolved == _STATIC_DIR or _STATIC_DIR in resolved.parents:
        raise ValueError(f"attachments folder {resolved} lies inside static/; choose another")


def store_blob(root: Path, sha256: str, data: bytes) -> Path:
    """Write ``data`` durably at its content address under ``root``; return the path."""
    _refuse_public(root)
    if sha256_hex(data) != sha256:
        raise ValueError("data does not match its sha256")
    path = blob_path(root, sha256)
    if path.is_file() and path.stat().st_size == len(data):
        return path
    _make_dirs(path.parent)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".incoming-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path
