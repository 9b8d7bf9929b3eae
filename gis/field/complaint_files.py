"""Attachments of a complaint's case file (一案一档): photos and scans of letters, stored by
content hash like inspection photos (:mod:`gis.field.photos`), linked to the complaint."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.db.models import Attachment, Complaint
from gis.field.photos import DEFAULT_MAX_BYTES, blob_path, check_photo, store_blob
from gis.ledger.writes import LedgerError, NotFound


def _safe_name(name: str, fallback: str) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = "".join(ch for ch in base if ch.isprintable())[:200]
    return base or fallback


def attach_to_complaint(
    session: Session,
    code: str,
    data: bytes,
    *,
    filename: str,
    actor: str,
    attachments_dir: Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Attachment:
    """Store one image (JPEG, PNG, HEIC, judged by content) and attach it to complaint ``code``;
    the same file twice is attached once."""
    complaint = session.scalars(
        select(Complaint).where(Complaint.code == code).with_for_update()
    ).first()
    if complaint is None:
        raise NotFound(f"no complaint with code {code!r}")
    try:
        photo = check_photo(data, max_bytes=max_bytes)
    except ValueError as exc:
        raise LedgerError(str(exc), field="file") from exc
    found = session.scalars(
        select(Attachment).where(
            Attachment.complaint_id == complaint.id, Attachment.sha256 == photo.sha256
        )
    ).first()
    store_blob(attachments_dir, photo.sha256, data)
    if found is not None:
        return found
    attachment = Attachment(
        sha256=photo.sha256,
        filename=_safe_name(filename, f"{photo.sha256[:16]}.{photo.media_type.split('/')[1]}"),
        media_type=photo.media_type,
        size_bytes=photo.size_bytes,
        complaint_id=complaint.id,
        exif_lon=photo.exif_lon,
        exif_lat=photo.exif_lat,
        uploaded_by=actor,
    )
    session.add(attachment)
    session.flush()
    return attachment


def complaint_attachment(
    session: Session, code: str, attachment_id: int, attachments_dir: Path
) -> tuple[Attachment, Path]:
    """One attachment of complaint ``code`` and its file; :class:`NotFound` if either is missing."""
    attachment = session.scalars(
        select(Attachment)
        .join(Complaint, Complaint.id == Attachment.complaint_id)
        .where(Complaint.code == code, Attachment.id == attachment_id)
    ).first()
    if attachment is None:
        raise NotFound(f"no attachment {attachment_id} on complaint {code}")
    path = blob_path(attachments_dir, attachment.sha256)
    if not path.is_file():
        raise NotFound(f"attachment {attachment_id} is recorded but its file is missing")
    return attachment, path
