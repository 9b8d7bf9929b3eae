"""An uploaded Excel ledger between its dry run and its confirmation (导入预览 → 确认导入).

The preview keeps the workbook under ``<LOOKBACK_HOME>/imports/<sha256>.xlsx``, named by the
SHA-256 of its bytes, and hands the page that hash and a fingerprint of the preview's outcomes
(row, outcome, code). Confirming reads the file back by its hash — a file that is gone or whose
bytes no longer hash to the name is refused — and imports it in one transaction that commits
only when the outcomes are still those the preview showed; otherwise nothing is written and the
new report is shown for a fresh look. A confirmed file is removed; staged files older than a day
are swept at the next upload.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gis.errors import LookbackError
from gis.io.excel import LedgerImportReport, import_ledger

STAGING_DIR = "imports"
KEEP_SECONDS = 24 * 3600
MAX_IMPORT_BYTES = 10_000_000
DIGEST = re.compile(r"^[0-9a-f]{64}$")
XLSX_SUFFIXES = (".xlsx", ".xlsm")


class UploadRefused(LookbackError, ValueError):
    """The upload is not something to import: empty, too large or not an .xlsx workbook."""

    kind = "invalid"


class StagedFileGone(LookbackError, ValueError):
    """The previewed file is no longer staged, or it changed since the preview."""

    kind = "conflict"


class PreviewChanged(LookbackError, ValueError):
    """Applying the file now would give other outcomes than the preview showed: not applied."""

    kind = "conflict"

    def __init__(self, message: str, report: LedgerImportReport) -> None:
        super().__init__(message)
        self.report = report


def staging_dir(home: Path) -> Path:
    return Path(home).resolve() / STAGING_DIR


def check_upload(data: bytes, filename: str, *, limit: int = MAX_IMPORT_BYTES) -> None:
    """Refuse an empty, oversized or non-.xlsx upload with a bilingual reason."""
    if not data:
        raise UploadRefused("文件为空 the file is empty")
    if len(data) > limit:
        raise UploadRefused(
            f"文件过大（上限 {limit / 1_000_000:g} MB） the file is over "
            f"{limit / 1_000_000:g} MB ({len(data) / 1_000_000:.1f} MB)"
        )
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise UploadRefused(
            "这是旧版 .xls 文件，请另存为 .xlsx 后上传 an old .xls workbook: save it as .xlsx"
        )
    if not filename.lower().endswith(XLSX_SUFFIXES) or data[:2] != b"PK":
        raise UploadRefused("只能导入 Excel .xlsx 文件 only Excel .xlsx workbooks can be imported")


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sweep(folder: Path, now: float) -> None:
    for path in folder.glob("*"):
        try:
            if now - path.stat().st_mtime > KEEP_SECONDS:
                path.unlink()
        except OSError:
            continue


def stage(home: Path, data: bytes, filename: str) -> str:
    """Keep ``data`` for its confirmation; returns its SHA-256 (the name it is kept under)."""
    folder = staging_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    _sweep(folder, time.time())
    digest = digest_of(data)
    target = folder / f"{digest}.xlsx"
    partial = folder / f"{digest}.part"
    partial.write_bytes(data)
    partial.replace(target)
    (folder / f"{digest}.json").write_text(json.dumps({"filename": filename}), encoding="utf-8")
    return digest


def staged(home: Path, digest: str) -> tuple[bytes, str]:
    """The staged workbook and its file name; refused when gone or changed since the preview."""
    if not DIGEST.match(digest or ""):
        raise StagedFileGone("预览的文件标识无效 the previewed file's id is not valid")
    folder = staging_dir(home)
    try:
        data = (folder / f"{digest}.xlsx").read_bytes()
    except OSError:
        raise StagedFileGone(
            "预览的文件已不存在（已导入或已过期），请重新上传 the previewed file is gone "
            "(imported already or expired); upload it again"
        ) from None
    if digest_of(data) != digest:
        raise StagedFileGone(
            "文件在预览后被改动，未导入，请重新上传 the file changed since the preview; "
            "nothing was imported, upload it again"
        )
    try:
        meta = json.loads((folder / f"{digest}.json").read_text(encoding="utf-8"))
        filename = str(meta.get("filename") or "ledger.xlsx")
    except (OSError, ValueError):
        filename = "ledger.xlsx"
    return data, filename


def discard(home: Path, digest: str) -> None:
    if not DIGEST.match(digest or ""):
        return
    for suffix in (".xlsx", ".json"):
        (staging_dir(home) / f"{digest}{suffix}").unlink(missing_ok=True)


def fingerprint(report: LedgerImportReport) -> str:
    """What a preview promises: every row's outcome and code, hashed."""
    material = json.dumps([(r.row, r.outcome, r.code) for r in report.rows])
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def apply_previewed(
    engine: Engine,
    data: bytes,
    *,
    expected: str,
    actor: str,
    filename: str,
    default_source: str | None = None,
    now: datetime | None = None,
) -> LedgerImportReport:
    """Import ``data`` in one transaction, kept only if the outcomes match the preview's."""
    with Session(engine) as session:
        try:
            report = import_ledger(
                session,
                data,
                actor=actor,
                filename=filename,
                default_source=default_source,
                now=now,
            )
        except BaseException:
            session.rollback()
            raise
        if fingerprint(report) != expected:
            session.rollback()
            report.dry_run = True
            raise PreviewChanged(
                "台账在预览后已有变化，本次未导入，请核对新的预览后再确认 the ledger changed "
                "since the preview; nothing was imported: check the new preview and confirm again",
                report,
            )
        session.commit()
    return report
