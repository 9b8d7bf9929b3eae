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

The package, in the order of a backup: archive (the format and the manifest), tools
(PostgreSQL's side), files, create, verify, restore.
"""

from __future__ import annotations

from gis.db.backup.archive import (
    ATTACHMENTS_PREFIX,
    CHUNK,
    DATA_TABLES,
    DUMP_MEMBER,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_MEMBER,
    MANIFEST_SUM_MEMBER,
    SAFE_MEMBER,
    BackupError,
    Manifest,
    Progress,
    RestoreReport,
)
from gis.db.backup.create import (
    create_backup,
)
from gis.db.backup.restore import (
    DROP_SQL,
    restore_backup,
)
from gis.db.backup.tools import (
    USER_TABLES_SQL,
    pg_tools,
    table_counts,
)
from gis.db.backup.verify import (
    verify_archive,
)

__all__ = [
    "ATTACHMENTS_PREFIX",
    "BackupError",
    "CHUNK",
    "DATA_TABLES",
    "DROP_SQL",
    "DUMP_MEMBER",
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_MEMBER",
    "MANIFEST_SUM_MEMBER",
    "Manifest",
    "Progress",
    "RestoreReport",
    "SAFE_MEMBER",
    "USER_TABLES_SQL",
    "create_backup",
    "pg_tools",
    "restore_backup",
    "table_counts",
    "verify_archive",
]
