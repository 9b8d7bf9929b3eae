"""The smaller holes: limiter memory, Secure cookies, password changes, error text, printed
secrets, backup permissions and the PDF fetcher."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis.access import auth
from gis.config import Settings
from server.app import create_app
from server.security import AttemptLimiter
from tests.factories import make_token

PASSWORD = "Lookback-Hardening-2026!"
REPO = Path(__file__).resolve().parent.parent


def test_the_address_limiter_limits_and_forgets_quiet_keys() -> None:
    limiter = AttemptLimiter(limit=2, window_s=60, max_keys=100)
    assert [limiter.hit("10.0.0.1", now=t) for t in (0, 1, 2)] == [False, False, True]
    for i in range(500):  # a scan from many addresses, long ago
        limiter.hit(f"10.1.{i // 256}.{i % 256}", now=10)
    assert len(limiter) <= 100
    limiter.hit("10.9.9.9", now=1000)  # a minute later every old key has gone quiet
    assert len(limiter) <= 2
    assert limiter.hit("10.0.0.1", now=1000) is False  # its old window is forgotten too


def _user(db, name: str = "sun") -> None:  # type: ignore[no-untyped-def]
    with Session(db) as s, s.begin():
        auth.add_user(s, name=name, role="office", password=PASSWORD, actor="test")


def test_secure_cookies_follow_lookback_tls_not_the_scheme(db) -> None:  # type: ignore[no-untyped-def]
    _user(db)
    body = {"name": "sun", "password": PASSWORD}
    behind_proxy = TestClient(create_app(engine=db, settings=Settings(tls=True)))  # http here
    cookies = behind_proxy.post("/auth/login", json=body).headers.get_list("set-cookie")
    assert cookies and all("Secure" in c for c in cookies)
    plain = TestClient(create_app(engine=db, settings=Settings(tls=False)), base_url="https://x")
    cookies = plain.post("/auth/login", json=body).headers.get_list("set-cookie")
    assert cookies and not any("Secure" in c for c in cookies)


def test_a_new_password_ends_other_sessions_and_every_token(db) -> None:  # type: ignore[no-untyped-def]
    _user(db)
    app = create_app(engine=db, settings=Settings())
    token = make_token(db, "office", name="sun")
    browser, other = TestClient(app), TestClient(app)
    for client in (browser, other):
        assert client.post("/auth/login", json={"name": "sun", "password": PASSWORD}).is_success
        assert client.get("/auth/me").status_code == 200
    assert TestClient(app, headers=token).get("/auth/me").status_code == 200
    with Session(db) as s, s.begin():
        auth.set_password(
            s,
            name="sun",
            password="Another-Long-Password-77",
            actor="sun",
            keep_session=browser.cookies["lookback_session"],
        )
    assert browser.get("/auth/me").status_code == 200  # the one that changed it
    assert other.get("/auth/me").status_code == 401
    assert TestClient(app, headers=token).get("/auth/me").status_code == 401


def test_database_error_text_never_reaches_the_client(db) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import load_two_townships

    with Session(db) as s, s.begin():
        load_two_townships(s)
    client = TestClient(
        create_app(engine=db, settings=Settings()), headers=make_token(db, "office")
    )
    response = client.post(
        "/api/complaints",
        json={
            "code": "C-NUL-1",
            "channel": "letter",
            "kind": "air",
            "received_at": "2026-03-01T08:00:00+08:00",
            "text": "zero byte \u0000 inside",
            "geometry": {"type": "Point", "coordinates": [113.05, 34.05]},
        },
    )
    assert response.status_code == 422, response.text
    assert "database cannot store" in response.json()["detail"]  # refused by PostgreSQL itself
    detail = response.text.lower()
    for leak in ("0x00", "utf8", "psycopg", "sql", "complaints", "nul"):
        assert leak not in detail, leak


def test_printed_settings_never_show_the_database_password(tmp_path: Path) -> None:
    url = "postgresql://lookback:s3cret-Pa55@db.county.lan:5432/lookback"
    env = {**os.environ, "DATABASE_URL": url, "LOOKBACK_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "from server.cli.main import app; app()", "db", "url"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "s3cret-Pa55" not in done.stdout and "***" in done.stdout
    assert "db.county.lan" in done.stdout
    assert "s3cret-Pa55" not in repr(Settings(database_url=url))
    from server.ops import _shown

    assert "s3cret" not in str(_shown("DATABASE_URL", url))
    assert _shown("LOOKBACK_METRICS_TOKEN", "abc") == "***"


def test_backups_are_readable_by_their_owner_only(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from gis.db.backup import create_backup

    attachments = tmp_path / "attachments"
    attachments.mkdir()
    (attachments / "photo.jpg").write_bytes(b"\xff\xd8photo")
    old = os.umask(0o022)
    try:
        dest = tmp_path / "backup.tar"
        create_backup(
            dest, url=db.url.render_as_string(hide_password=False), attachments_dir=attachments
        )
    finally:
        os.umask(old)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.part"))


def test_notice_pdfs_fetch_nothing_from_outside(tmp_path: Path) -> None:
    pytest.importorskip("weasyprint")
    from gis.notices.render import render_pdf

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    accepted: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    html = (
        f'<html><head><link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">'
        f'<link rel="stylesheet" href="file://{secret}"></head><body><p>通知</p>'
        f'<img src="http://127.0.0.1:{port}/pixel.png"><img src="file:///etc/passwd">'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        "</body></html>"
    )
    try:
        pdf = render_pdf(html)
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()
    assert pdf.startswith(b"%PDF")
    assert accepted == []


def test_the_notice_fetcher_refuses_files_outside_the_templates() -> None:
    pytest.importorskip("weasyprint")
    from gis.notices.config import get_notice_settings
    from gis.notices.render import local_url_fetcher

    for url in ("file:///etc/passwd", "http://127.0.0.1/x", "https://example.cn/x", "ftp://h/x"):
        with pytest.raises(ValueError, match="no external resource"):
            local_url_fetcher().fetch(url)
    inside = sorted(get_notice_settings().templates.glob("*.html"))[0]
    assert local_url_fetcher().fetch(inside.as_uri()).read()
    assert local_url_fetcher().fetch("data:text/plain,ok").read() == b"ok"
