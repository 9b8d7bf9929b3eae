"""Inspection photos: checked by their bytes, read for EXIF GPS, stored on disk by content hash.

A photo is accepted as JPEG, PNG or HEIC/HEIF from its magic bytes, never from the content type a
client claims. It is stored once per content (SHA-256) under ``attachments_dir/ab/cd/<sha256>``:
written to a temporary file in the same folder, fsync'd, renamed into place, and the folder fsync'd,
so a photo that was acknowledged survives a power cut. Files carry no extension and live outside
``static/``; the API serves them with their checked media type and ``nosniff``.
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass
from typing import Any

import exifread

from gis.db.blobs import SHA256_RE, blob_path, sha256_hex, store_blob
from gis.errors import LookbackError

__all__ = [
    "SHA256_RE",
    "DEFAULT_MAX_BYTES",
    "PhotoError",
    "PhotoTooLarge",
    "UnsupportedPhoto",
    "blob_path",
    "check_photo",
    "exif_lonlat",
    "sha256_hex",
    "sniff_media_type",
    "store_blob",
]

DEFAULT_MAX_BYTES = 15 * 1024 * 1024

# ISO-BMFF brands of HEIC/HEIF still images (AVIF, 'avif', is not accepted).
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"mif2"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

logging.getLogger("exifread").setLevel(logging.ERROR)


class PhotoError(LookbackError, ValueError):
    """A photo the server refuses; ``status`` is the HTTP status that says why."""

    status = 422

    def __init__(self, message: str) -> None:
        """Keep the bilingual message."""
        super().__init__(message)
        self.message = message


class UnsupportedPhoto(PhotoError):
    """Not a JPEG, PNG or HEIC/HEIF image by its bytes (415)."""

    kind = "unsupported"

    status = 415


class PhotoTooLarge(PhotoError):
    """Over the configured size limit (413)."""

    kind = "too_large"

    status = 413


@dataclass(frozen=True)
class CheckedPhoto:
    """A photo that passed the checks: its hash, media type, size and EXIF position if any."""

    sha256: str
    media_type: str
    size_bytes: int
    exif_lon: float | None
    exif_lat: float | None


def sniff_media_type(data: bytes) -> str | None:
    """Return image/jpeg, image/png, image/heic or image/heif from magic bytes, else None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if len(data) >= 16 and data[4:8] == b"ftyp":
        size = int.from_bytes(data[:4], "big")
        major = data[8:12]
        end = min(size, len(data)) if size >= 16 else 16
        compatible = {data[i : i + 4] for i in range(16, end - 3, 4)}
        if major in _AVIF_BRANDS or compatible & _AVIF_BRANDS:
            return None  # AVIF shares the HEIF container (and 'mif1') but is not accepted
        if major in _HEIC_BRANDS or compatible & _HEIC_BRANDS:
            return "image/heic"
        if major in _HEIF_BRANDS or compatible & _HEIF_BRANDS:
            return "image/heif"
    return None


def _degrees(values: Any, ref: Any) -> float | None:
    """Return signed decimal degrees from EXIF (deg, min, sec) rationals and N/S/E/W."""
    if isinstance(values, int | float):
        values = [values]
    if not isinstance(values, list | tuple) or not values:
        return None
    try:
        parts = [float(v) for v in values] + [0.0, 0.0]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = parts[0] + parts[1] / 60.0 + parts[2] / 3600.0
    if not math.isfinite(value):
        return None
    if str(ref).strip().upper()[:1] in ("S", "W"):
        value = -value
    return value


def exif_lonlat(data: bytes) -> tuple[float, float] | None:
    """Return the EXIF GPS (lon, lat) of a JPEG/PNG/HEIC photo, or None when absent or unusable."""
    try:
        tags = exifread.process_file(
            io.BytesIO(data), details=False, extract_thumbnail=False, builtin_types=True
        )
    except Exception:  # noqa: BLE001 - a damaged EXIF block is no reason to refuse the photo
        return None
    lat = _degrees(tags.get("GPS GPSLatitude"), tags.get("GPS GPSLatitudeRef", "N"))
    lon = _degrees(tags.get("GPS GPSLongitude"), tags.get("GPS GPSLongitudeRef", "E"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0.0 and lon == 0.0:  # cameras write 0/0 when they had no fix
        return None
    return lon, lat


def check_photo(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, expected_sha256: str | None = None
) -> CheckedPhoto:
    """Check size, type (magic bytes) and, when given, the hash; read the EXIF position."""
    if len(data) > max_bytes:
        raise PhotoTooLarge(
            f"photo is {len(data):,} bytes, over the limit of {max_bytes:,} bytes"
            f" / 照片 {len(data):,} 字节，超过上限 {max_bytes:,} 字节"
        )
    if not data:
        raise PhotoError("photo is empty / 照片为空")
    media_type = sniff_media_type(data)
    if media_type is None:
        raise UnsupportedPhoto(
            "photo must be a JPEG, PNG or HEIC/HEIF image (judged by its content, not its name"
            " or content type) / 照片须为 JPEG、PNG 或 HEIC/HEIF 图像（按文件内容判断）"
        )
    digest = sha256_hex(data)
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise PhotoError(
            f"sha256: the body hashes to {digest}, not {expected_sha256}; the upload was cut off"
            " or altered, send it again / 照片内容与 sha256 不符，上传不完整，请重新上传"
        )
    position = exif_lonlat(data)
    return CheckedPhoto(
        sha256=digest,
        media_type=media_type,
        size_bytes=len(data),
        exif_lon=position[0] if position else None,
        exif_lat=position[1] if position else None,
    )
