"""Limits hold on what actually arrives: chunked bodies, multipart parts, crafted workbooks.

The body cap counts received bytes (a chunked body declares no length); a few-kilobyte workbook
that claims or holds a huge range, and a zip bomb, are refused with a clear 422 while reading
stays within a few megabytes of memory.
"""

from __future__ import annotations

import io
import re
import socket
import tracemalloc
import zipfile

import httpx
import pytest
from openpyxl import Workbook

from gis.config import Settings
from gis.io.excel import MAX_SHEET_ROWS, ExcelLedgerError, read_sheet
from server.app import create_app
from tests.conftest import LiveServer
from tests.factories import make_token

SHEET = "xl/worksheets/sheet1.xml"
MEMORY_BOUND = 40_000_000  # bytes of Python allocations while refusing a crafted workbook


def _ledger_workbook() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["问题编号", "问题描述", "所属乡镇", "经度", "纬度"])
    ws.append(["A-1", "扬尘", "西镇", 113.05, 34.05])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rewrite(data: bytes, part: str, edit) -> bytes:  # type: ignore[no-untyped-def]
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == part:
                body = edit(body.decode()).encode()
            dst.writestr(info.filename, body)
    return out.getvalue()


def claims_huge_range() -> bytes:
    """A valid ledger whose sheet declares A1:XFD1048576."""
    return _rewrite(
        _ledger_workbook(),
        SHEET,
        lambda xml: re.sub(r'<dimension ref="[^"]+"\s*/>', '<dimension ref="A1:XFD1048576"/>', xml),
    )


def holds_a_far_cell() -> bytes:
    """A valid ledger with one more cell, in row 1,048,576 (and no <dimension>)."""

    def edit(xml: str) -> str:
        xml = re.sub(r'<dimension ref="[^"]+"\s*/>', "", xml)
        far = '<row r="1048576"><c r="C1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        return xml.replace("</sheetData>", far + "</sheetData>")

    return _rewrite(_ledger_workbook(), SHEET, edit)


def holds_a_wide_row() -> bytes:
    """A valid ledger with a cell in column XFD."""

    def edit(xml: str) -> str:
        xml = re.sub(r'<dimension ref="[^"]+"\s*/>', "", xml)
        wide = '<row r="3"><c r="XFD3" t="inlineStr"><is><t>x</t></is></c></row>'
        return xml.replace("</sheetData>", wide + "</sheetData>")

    return _rewrite(_ledger_workbook(), SHEET, edit)


def zip_bomb() -> bytes:
    """A workbook whose shared strings inflate from a few kB to 60 MB."""
    src = zipfile.ZipFile(io.BytesIO(_ledger_workbook()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "xl/sharedStrings.xml":
                dst.writestr(info.filename, src.read(info))
        with dst.open("xl/sharedStrings.xml", "w") as big:
            big.write(
                b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main"><si><t>'
            )
            for _ in range(60):
                big.write(b"A" * 1_000_000)
            big.write(b"</t></si></sst>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (claims_huge_range, "declares 1,048,576 rows"),
        (holds_a_far_cell, f"has {MAX_SHEET_ROWS + 1:,} rows"),
        (holds_a_wide_row, "16,384 columns"),
        (zip_bomb, "zip bomb"),
    ],
)
def test_crafted_workbooks_are_refused_in_bounded_memory(build, message: str) -> None:  # type: ignore[no-untyped-def]
    data = build()
    assert len(data) < 200_000, len(data)
    tracemalloc.start()
    try:
        with pytest.raises(ExcelLedgerError) as refused:
            read_sheet(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message in str(refused.value)
    assert peak < MEMORY_BOUND, f"peak {peak:,} bytes"


def test_the_plain_ledger_still_reads() -> None:
    sheet = read_sheet(_ledger_workbook())
    assert sheet.grid[1][:2] == ["A-1", "扬尘"]


@pytest.fixture(scope="module")
def small_server(demo_engine):  # type: ignore[no-untyped-def]
    app = create_app(engine=demo_engine, settings=Settings(max_body_mb=1))
    with LiveServer(app) as server:
        yield server


def _chunks(total: int, size: int = 65536):  # type: ignore[no-untyped-def]
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


def test_a_chunked_body_over_the_limit_is_refused(small_server, demo_headers) -> None:  # type: ignore[no-untyped-def]
    headers = {**demo_headers["office"], "Content-Type": "application/json"}
    with httpx.Client(timeout=30) as client:
        response = client.post(
            f"{small_server.url}/api/complaints", content=_chunks(5_000_000), headers=headers
        )
    assert response.status_code == 413
    assert "request body over 1 MB" in response.json()["detail"]


def test_a_multipart_part_over_the_limit_is_refused(small_server, demo_engine) -> None:  # type: ignore[no-untyped-def]
    office = make_token(demo_engine, "office", name="limits-office")
    boundary = "lookbackboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()

    def body():  # type: ignore[no-untyped-def]
        yield head
        yield from _chunks(3_000_000)
        yield f"\r\n--{boundary}--\r\n".encode()

    with httpx.Client(timeout=30) as client:
        response = client.post(
            f"{small_server.url}/api/import/ledger?dry_run=true",
            content=body(),
            headers={**office, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    assert response.status_code == 413


def test_a_raw_chunked_stream_is_cut_off_at_the_limit(small_server, demo_headers) -> None:  # type: ignore[no-untyped-def]
    """3 MB sent in chunks with no length: the answer is 413 before the stream ends."""
    host, port = "127.0.0.1", int(small_server.url.rsplit(":", 1)[1])
    auth = demo_headers["office"]["Authorization"]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            (
                "POST /api/complaints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Authorization: {auth}\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        try:
            for chunk in _chunks(3_000_000):
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed early
        answer = sock.recv(65536).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413")


def test_the_upload_endpoint_refuses_a_crafted_workbook(small_server, demo_engine) -> None:  # type: ignore[no-untyped-def]
    office = make_token(demo_engine, "office", name="limits-office")
    with httpx.Client(timeout=30) as client:
        response = client.post(
            f"{small_server.url}/api/import/ledger?dry_run=true",
            files={"file": ("bomb.xlsx", zip_bomb(), "application/octet-stream")},
            headers=office,
        )
    assert response.status_code == 422
    assert response.json()["field"] == "file" and "zip bomb" in response.json()["detail"]
