"""Checking an archive: its members, their checksums and the manifest, before restoring."""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from gis.db.backup.archive import (
    CHUNK,
    DUMP_MEMBER,
    MANIFEST_MEMBER,
    MANIFEST_SUM_MEMBER,
    SAFE_MEMBER,
    BackupError,
    Manifest,
    Progress,
)


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
