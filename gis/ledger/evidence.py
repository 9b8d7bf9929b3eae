"""A problem's evidence documents (证据材料): photos before and after, plans, acceptance material.

A township or the office uploads a file of one kind (:data:`KINDS`). Its type is judged from its
bytes — PDF, JPEG, PNG, WebP, Word and Excel (docx, xlsx, doc, xls) — never from the name or the
content type a client claims; a name whose extension says otherwise is refused too. Files over
the limit (``LOOKBACK_EVIDENCE_MAX_MB``, 20 MB by default) are refused. The file is stored once
per content under the attachments folder exactly like inspection photos
(:func:`gis.db.blobs.store_blob`), and a file sent again to the same problem answers with the
record already there. Each new document leaves an ``evidence_added`` event in the history.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.db.blobs import blob_path, sha256_hex, store_blob
from gis.db.models import EVIDENCE_KINDS, Attachment, Problem
from gis.errors import LookbackError
from gis.ledger.writes import get_problem, record_event

__all__ = [
    "KINDS",
    "KIND_LABELS",
    "EvidenceRefused",
    "EvidenceSettings",
    "EvidenceTooLarge",
    "UnsupportedEvidence",
    "add_evidence",
    "check_document",
    "evidence_file",
    "list_evidence",
    "sniff_document",
]

KINDS = EVIDENCE_KINDS
KIND_LABELS: dict[str, tuple[str, str]] = {
    "before_photo": ("整改前照片", "Photo before"),
    "after_photo": ("整改后照片", "Photo after"),
    "plan": ("整改方案", "Rectification plan"),
    "acceptance": ("验收材料", "Acceptance material"),
    "other": ("其他", "Other"),
}
PHOTO_KINDS = frozenset({"before_photo", "after_photo"})

PDF = "application/pdf"
JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOC, XLS = "application/msword", "application/vnd.ms-excel"
# What each accepted type is called, and the extensions a file of that type may carry.
MEDIA: dict[str, tuple[str, str, tuple[str, ...]]] = {
    PDF: ("PDF 文档", "a PDF document", ("pdf",)),
    JPEG: ("JPEG 图像", "a JPEG image", ("jpg", "jpeg", "jpe", "jfif")),
    PNG: ("PNG 图像", "a PNG image", ("png",)),
    WEBP: ("WebP 图像", "a WebP image", ("webp",)),
    DOCX: ("Word 文档（docx）", "a Word document (docx)", ("docx",)),
    XLSX: ("Excel 表格（xlsx）", "an Excel workbook (xlsx)", ("xlsx",)),
    DOC: ("Word 文档（doc）", "a Word document (doc)", ("doc",)),
    XLS: ("Excel 表格（xls）", "an Excel workbook (xls)", ("xls",)),
}
_BY_EXTENSION = {ext: media for media, (_, _, exts) in MEDIA.items() for ext in exts}
ACCEPTED_ZH = "PDF、JPEG/PNG/WebP 图像或 Word/Excel 文件（docx、xlsx、doc、xls）"
ACCEPTED_EN = "a PDF, a JPEG/PNG/WebP image or a Word/Excel file (docx, xlsx, doc, xls)"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class EvidenceSettings(BaseSettings):
    """Limits of evidence uploads; each is env var ``LOOKBACK_EVIDENCE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="LOOKBACK_EVIDENCE_", extra="ignore")

    max_mb: int = Field(20, ge=1, description="largest evidence file accepted, MB (10^6 bytes)")

    @property
    def max_bytes(self) -> int:
        return self.max_mb * 1_000_000


class EvidenceRefused(LookbackError, ValueError):
    """An upload the ledger refuses, with the reason in both languages and the field at fault."""

    def __init__(self, zh: str, en: str, *, field: str = "file") -> None:
        super().__init__(f"{en} / {zh}")
        self.zh, self.en, self.field = zh, en, field

    def details(self) -> dict[str, Any]:
        return {"field": self.field}


class EvidenceTooLarge(EvidenceRefused):
    """Over the size limit (413)."""

    kind = "too_large"


class UnsupportedEvidence(EvidenceRefused):
    """Not an accepted type by its bytes, or named as another type (415)."""

    kind = "unsupported"


@dataclass(frozen=True)
class CheckedDocument:
    """A file that passed the checks: hash, media type judged from its bytes, size, name."""

    sha256: str
    media_type: str
    size_bytes: int
    filename: str


def _ole_stream_names(data: bytes) -> set[str]:
    """The names in an OLE2 compound file's directory (following its FAT), best effort."""
    if len(data) < 512:
        return set()
    sector = 1 << int.from_bytes(data[30:32], "little")
    if sector not in (512, 4096):
        return set()
    fat_sectors = [
        int.from_bytes(data[76 + 4 * i : 80 + 4 * i], "little") for i in range(109)
    ]
    fat: list[int] = []
    for fs in fat_sectors:
        if fs >= 0xFFFFFFFA:
            break
        start = (fs + 1) * sector
        chunk = data[start : start + sector]
        fat.extend(int.from_bytes(chunk[i : i + 4], "little") for i in range(0, len(chunk), 4))
    names: set[str] = set()
    current, seen = int.from_bytes(data[48:52], "little"), set()
    while current < 0xFFFFFFFA and current not in seen and len(seen) < 10_000:
        seen.add(current)
        start = (current + 1) * sector
        chunk = data[start : start + sector]
        for off in range(0, len(chunk) - 127, 128):
            length = int.from_bytes(chunk[off + 64 : off + 66], "little")
            if 2 <= length <= 64:
                raw = chunk[off : off + length - 2]
                names.add(raw.decode("utf-16-le", errors="replace"))
        current = fat[current] if current < len(fat) else 0xFFFFFFFE
    return names


def sniff_document(data: bytes) -> str | None:
    """The accepted media type of ``data`` judged from its bytes, or None."""
    if data[:5] == b"%PDF-":
        return PDF
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[:4] == b"PK\x03\x04":
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
        if "[Content_Types].xml" not in names:
            return None
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
        return None
    if data[:8] == _OLE_MAGIC:
        streams = _ole_stream_names(data)
        if "WordDocument" in streams:
            return DOC
        if "Workbook" in streams or "Book" in streams:
            return XLS
    return None


def safe_name(name: str, sha256: str, media_type: str) -> str:
    """A plain file name for display (no folders, printable, at most 200 characters)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = "".join(ch for ch in base if ch.isprintable())[:200]
    return base or f"{sha256[:16]}.{MEDIA[media_type][2][0]}"


def _extension(name: str) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[1].lower().strip() if "." in base else ""


def check_kind(kind: str) -> str:
    """The kind, or a refusal naming the kinds."""
    if kind not in KINDS:
        raise EvidenceRefused(
            "请选择材料类别：" + "、".join(zh for zh, _ in KIND_LABELS.values()),
            "choose the kind of document: " + ", ".join(KINDS),
            field="kind",
        )
    return kind


def check_document(data: bytes, *, filename: str, kind: str, max_bytes: int) -> CheckedDocument:
    """Check size, type by magic bytes (and that the name does not claim another), and kind."""
    check_kind(kind)
    if len(data) > max_bytes:
        raise EvidenceTooLarge(
            f"文件 {len(data):,} 字节，超过上限 {max_bytes:,} 字节（{max_bytes // 1_000_000} MB）",
            f"the file is {len(data):,} bytes, over the limit of {max_bytes:,} bytes"
            f" ({max_bytes // 1_000_000} MB)",
        )
    if not data:
        raise EvidenceRefused("文件为空，请选择要上传的文件", "the file is empty; choose a file")
    media_type = sniff_document(data)
    if media_type is None:
        raise UnsupportedEvidence(
            f"不支持此文件：须为{ACCEPTED_ZH}（按文件内容判断，不看文件名）",
            f"this file is not accepted: it must be {ACCEPTED_EN}, judged by its content,"
            " not its name",
        )
    claimed = _BY_EXTENSION.get(_extension(filename))
    if claimed is not None and claimed != media_type:
        zh, en, _ = MEDIA[media_type]
        raise UnsupportedEvidence(
            f"文件名为 .{_extension(filename)}，但内容是{zh}：请核对后重新上传",
            f"the name ends in .{_extension(filename)} but the file is {en}; check it and upload"
            " again",
        )
    if kind in PHOTO_KINDS and not media_type.startswith("image/"):
        raise UnsupportedEvidence(
            f"{KIND_LABELS[kind][0]}须为图像（JPEG、PNG 或 WebP）",
            f"a {KIND_LABELS[kind][1].lower()} must be an image (JPEG, PNG or WebP)",
        )
    digest = sha256_hex(data)
    return CheckedDocument(
        sha256=digest,
        media_type=media_type,
        size_bytes=len(data),
        filename=safe_name(filename, digest, media_type),
    )


@dataclass(frozen=True)
class EvidenceResult:
    """The stored document and whether this upload created it."""

    attachment: Attachment
    created: bool


def add_evidence(
    session: Session,
    code: str,
    data: bytes,
    *,
    filename: str,
    kind: str,
    actor: str,
    attachments_dir: Path,
    note: str = "",
    uploader_id: int | None = None,
    max_bytes: int | None = None,
    now: datetime | None = None,
) -> EvidenceResult:
    """Store one evidence document of a problem; the same content again returns the record."""
    limit = max_bytes if max_bytes is not None else EvidenceSettings().max_bytes
    checked = check_document(data, filename=filename, kind=kind, max_bytes=limit)
    note = note.strip()
    if len(note) > 500:
        raise EvidenceRefused("说明不超过 500 字", "the note holds at most 500 characters",
                              field="note")
    at = now or datetime.now(UTC)
    problem = get_problem(session, code, lock=True)  # serialises uploads to one problem
    found = session.scalars(
        select(Attachment).where(
            Attachment.problem_id == problem.id,
            Attachment.sha256 == checked.sha256,
            Attachment.kind.is_not(None),
        )
    ).first()
    store_blob(attachments_dir, checked.sha256, data)  # restores a missing file of a repeat
    if found is not None:
        return EvidenceResult(attachment=found, created=False)
    attachment = Attachment(
        sha256=checked.sha256,
        filename=checked.filename,
        media_type=checked.media_type,
        size_bytes=checked.size_bytes,
        problem_id=problem.id,
        kind=kind,
        note=note,
        uploaded_by=actor,
        uploader_id=uploader_id,
        created_at=at,
    )
    session.add(attachment)
    session.flush()
    problem.updated_at = at
    record_event(
        session,
        problem,
        actor=actor,
        action="evidence_added",
        at=at,
        reason=note,
        after={
            "evidence": {
                "id": attachment.id,
                "kind": kind,
                "filename": attachment.filename,
                "sha256": attachment.sha256,
            }
        },
    )
    return EvidenceResult(attachment=attachment, created=True)


def evidence_url(code: str, attachment_id: int) -> str:
    """Where the API serves a document's file."""
    from urllib.parse import quote

    return f"/api/problems/{quote(code, safe='')}/evidence/{attachment_id}/file"


def evidence_dict(attachment: Attachment, code: str) -> dict[str, Any]:
    """A document's JSON description with the URL of its file."""
    return {
        "id": attachment.id,
        "kind": attachment.kind,
        "filename": attachment.filename,
        "media_type": attachment.media_type,
        "size_bytes": attachment.size_bytes,
        "sha256": attachment.sha256,
        "note": attachment.note,
        "uploaded_by": attachment.uploaded_by,
        "created_at": attachment.created_at.isoformat() if attachment.created_at else None,
        "is_image": attachment.media_type.startswith("image/"),
        "url": evidence_url(code, attachment.id),
    }


def list_evidence(session: Session, code: str) -> list[dict[str, Any]]:
    """A problem's typed evidence documents in the order of :data:`KINDS`, oldest first."""
    rows = session.scalars(
        select(Attachment)
        .join(Problem, Problem.id == Attachment.problem_id)
        .where(Problem.code == code, Attachment.kind.is_not(None))
        .order_by(Attachment.created_at, Attachment.id)
    ).all()
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted((evidence_dict(a, code) for a in rows), key=lambda d: order[d["kind"]])


def evidence_by_kind(session: Session, code: str) -> list[dict[str, Any]]:
    """The documents grouped by kind for the problem page: every kind, with its labels."""
    documents = list_evidence(session, code)
    return [
        {
            "kind": k,
            "zh": KIND_LABELS[k][0],
            "en": KIND_LABELS[k][1],
            "documents": [d for d in documents if d["kind"] == k],
        }
        for k in KINDS
    ]


def evidence_file(
    session: Session, code: str, attachment_id: int, attachments_dir: Path
) -> tuple[Attachment, Path] | None:
    """A problem's attachment (a document or an inspection's photo) and its file, or None."""
    attachment = session.scalars(
        select(Attachment)
        .join(Problem, Problem.id == Attachment.problem_id)
        .where(Problem.code == code, Attachment.id == attachment_id)
    ).first()
    if attachment is None:
        return None
    return attachment, blob_path(attachments_dir, attachment.sha256)
