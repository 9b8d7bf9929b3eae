"""The archive's format: member names, the manifest with its checksums and counts, the report of a
restore, and the error for a backup or restore that cannot go on."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
