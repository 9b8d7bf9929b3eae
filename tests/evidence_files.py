"""Small real files of every type evidence accepts (and some it refuses), built in memory."""

from __future__ import annotations

import io
import zipfile

from PIL import Image


def image(fmt: str, colour: str = "green") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(buf, fmt)
    return buf.getvalue()


def pdf(text: str = "整改方案") -> bytes:
    body = text.encode("utf-8")
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% " + body + b"\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content)
    return buf.getvalue()


def docx() -> bytes:
    return _zip(
        {
            "[Content_Types].xml": "<Types/>",
            "_rels/.rels": "<Relationships/>",
            "word/document.xml": "<w:document><w:body>验收</w:body></w:document>",
        }
    )


def xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active["A1"] = "验收清单"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def plain_zip() -> bytes:
    return _zip({"readme.txt": "not an office file"})


def _ole(stream: str) -> bytes:
    """A minimal OLE2 compound file (512-byte sectors) whose directory holds ``stream``."""
    end, free, fat_sect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[24:26] = (0x3E).to_bytes(2, "little")
    header[26:28] = (3).to_bytes(2, "little")
    header[28:30] = b"\xfe\xff"
    header[30:32] = (9).to_bytes(2, "little")
    header[32:34] = (6).to_bytes(2, "little")
    header[44:48] = (1).to_bytes(4, "little")  # one FAT sector
    header[48:52] = (1).to_bytes(4, "little")  # the directory starts at sector 1
    header[56:60] = (4096).to_bytes(4, "little")
    header[60:64] = end.to_bytes(4, "little")
    header[68:72] = end.to_bytes(4, "little")
    for i in range(109):
        header[76 + 4 * i : 80 + 4 * i] = (0 if i == 0 else free).to_bytes(4, "little")
    fat = bytearray(b"\xff" * 512)
    fat[0:4] = fat_sect.to_bytes(4, "little")
    fat[4:8] = end.to_bytes(4, "little")
    directory = bytearray(512)
    for index, name in enumerate(("Root Entry", stream)):
        raw = name.encode("utf-16-le") + b"\x00\x00"
        off = index * 128
        directory[off : off + len(raw)] = raw
        directory[off + 64 : off + 66] = len(raw).to_bytes(2, "little")
        directory[off + 66] = 5 if index == 0 else 2
    return bytes(header + fat + directory)


def doc() -> bytes:
    return _ole("WordDocument")


def xls() -> bytes:
    return _ole("Workbook")


def ppt() -> bytes:
    return _ole("PowerPoint Document")


def exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"PE\x00\x00"
