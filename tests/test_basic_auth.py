"""Desktop GIS clients sign in with HTTP Basic on the read-only OGC API and the exports.

GDAL's OAPIF driver (what QGIS's OAPIF provider is built like) is pointed at a live server with
``GDAL_HTTP_AUTH=BASIC``: with a user's name and password, or a token as the password, it reads
every collection with the counts the API reports; with wrong credentials it reads nothing, and
the wrong guesses count against the account like the sign-in form's.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access import auth
from gis.config import Settings
from server.app import create_app
from tests.conftest import LiveServer
from tests.factories import make_token

OGRINFO = shutil.which("ogrinfo")
needs_ogrinfo = pytest.mark.skipif(OGRINFO is None, reason="ogrinfo (gdal-bin) is not installed")
PASSWORD = "Qgis-desktop-Reader-2026!"


@pytest.fixture(scope="module")
def reader(demo_engine) -> str:  # type: ignore[no-untyped-def]
    name = "qgis-reader"
    with Session(demo_engine) as s, s.begin():
        exists = s.execute(text("SELECT 1 FROM users WHERE name = :n"), {"n": name}).first()
        if not exists:
            auth.add_user(s, name=name, role="viewer", password=PASSWORD, actor="test")
    return name


def _basic(name: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _ogrinfo(userpwd: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "GDAL_HTTP_AUTH": "BASIC",
        "GDAL_HTTP_USERPWD": userpwd,
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
        "GDAL_HTTP_TIMEOUT": "60",
    }
    return subprocess.run(
        [OGRINFO or "ogrinfo", *args], capture_output=True, text=True, timeout=300, env=env
    )


@needs_ogrinfo
def test_gdal_reads_every_collection_with_a_password_or_a_token(
    demo_server: LiveServer, demo_app, demo_engine, demo_headers, reader: str
) -> None:  # type: ignore[no-untyped-def]
    url = f"OAPIF:{demo_server.url}/ogc"
    client = TestClient(demo_app, headers=demo_headers["viewer"])
    collections = [c["id"] for c in client.get("/ogc/collections").json()["collections"]]
    matched = {
        cid: client.get(f"/ogc/collections/{cid}/items?limit=1").json()["numberMatched"]
        for cid in collections
    }
    token = make_token(demo_engine, "viewer", name=reader)["Authorization"].split()[1]
    for userpwd in (f"{reader}:{PASSWORD}", f"{reader}:{token}"):
        done = _ogrinfo(userpwd, "-ro", "-so", "-al", "-oo", "PAGE_SIZE=1000", url)
        assert done.returncode == 0 and "ERROR" not in done.stderr, done.stderr
        counts = dict(re.findall(r"Layer name: (\w+).*?Feature Count: (\d+)", done.stdout, re.S))
        assert {k: int(v) for k, v in counts.items()} == matched
    # Iterate every problem: the features GDAL reads are the ones the API counts.
    listing = _ogrinfo(f"{reader}:{PASSWORD}", "-ro", "-oo", "PAGE_SIZE=500", url, "problems")
    assert listing.returncode == 0, listing.stderr
    assert len(re.findall(r"^OGRFeature\(problems\):", listing.stdout, re.M)) == matched["problems"]


@needs_ogrinfo
def test_gdal_with_wrong_credentials_reads_nothing(demo_server: LiveServer, demo_engine) -> None:  # type: ignore[no-untyped-def]
    url = f"OAPIF:{demo_server.url}/ogc"
    other = "qgis-wrong"
    with Session(demo_engine) as s, s.begin():
        if not s.execute(text("SELECT 1 FROM users WHERE name = :n"), {"n": other}).first():
            auth.add_user(s, name=other, role="viewer", password=PASSWORD, actor="test")
    for userpwd in (f"{other}:not-the-password", "nobody-here:whatever", f"{other}:"):
        done = _ogrinfo(userpwd, "-ro", "-so", "-al", url)
        assert done.returncode != 0
        assert "Layer name" not in done.stdout and "Feature Count" not in done.stdout


def test_exports_accept_basic_and_writes_do_not(demo_app, reader: str) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(demo_app)
    good = _basic(reader, PASSWORD)
    export = client.get("/api/export/ledger?format=geojson", headers=good)
    assert export.status_code == 200 and export.json()["features"]
    assert client.get("/ogc/collections", headers=good).status_code == 200
    # Basic is for reading from desktop clients: not the JSON API, never a write.
    refused = client.get("/api/problems", headers=good)
    assert refused.status_code == 401 and "/ogc" in refused.json()["detail"]
    assert client.post("/api/complaints", json={}, headers=good).status_code == 401
    anonymous = client.get("/ogc/collections", headers={"Accept": "application/json"})
    assert anonymous.status_code == 401
    assert "Basic" in anonymous.headers["www-authenticate"]


def test_basic_guesses_count_against_the_same_lockout(db) -> None:  # type: ignore[no-untyped-def]
    from server import security

    with Session(db) as s, s.begin():
        auth.add_user(s, name="zhao", role="viewer", password=PASSWORD, actor="test")
    app = create_app(engine=db, settings=Settings())
    client = TestClient(app)
    security.SIGN_IN_LIMITER._hits.clear()  # noqa: SLF001 - the per-address window is not tested here
    for _ in range(auth.MAX_FAILED_LOGINS):
        wrong = client.get("/ogc/collections", headers=_basic("zhao", "wrong-guess-123"))
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith("Basic")
    # Locked: the right password is refused now, through Basic and through the form alike.
    assert client.get("/ogc/collections", headers=_basic("zhao", PASSWORD)).status_code == 401
    form = client.post("/auth/login", json={"name": "zhao", "password": PASSWORD})
    assert form.status_code == 401
    # The message is the one an unknown account gets.
    unknown = client.post("/auth/login", json={"name": "no-such-user", "password": PASSWORD})
    assert unknown.json()["detail"] == form.json()["detail"]
    security.SIGN_IN_LIMITER._hits.clear()  # noqa: SLF001


def test_a_parallel_burst_gets_no_more_guesses_than_the_limit(db) -> None:  # type: ignore[no-untyped-def]
    """20 wrong passwords at once: at most MAX_FAILED_LOGINS reach the password check."""
    with Session(db) as s, s.begin():
        auth.add_user(s, name="qian", role="viewer", password=PASSWORD, actor="test")

    def guess(i: int) -> str:
        try:
            with Session(db) as s, s.begin():
                auth.verify_password(s, name="qian", password=f"guess-{i}-wrong")
        except auth.AuthError:
            return "refused"
        return "accepted"

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert set(pool.map(guess, range(20))) == {"refused"}
    with db.connect() as conn:
        actions = (
            conn.execute(text("SELECT action FROM auth_events WHERE actor = 'qian'"))
            .scalars()
            .all()
        )
    assert actions.count("login_failed") <= auth.MAX_FAILED_LOGINS
    assert actions.count("login_locked") >= 20 - auth.MAX_FAILED_LOGINS
    with pytest.raises(auth.AuthError), Session(db) as s, s.begin():
        auth.verify_password(s, name="qian", password=PASSWORD)  # locked


def test_the_live_server_answers_basic(demo_app, reader: str) -> None:  # type: ignore[no-untyped-def]
    with LiveServer(demo_app) as server:
        ok = httpx.get(f"{server.url}/ogc/collections/townships/items", auth=(reader, PASSWORD))
        assert ok.status_code == 200 and ok.json()["numberMatched"] > 0
        bad = httpx.get(f"{server.url}/ogc/collections/townships/items", auth=("nobody", "x"))
        assert bad.status_code == 401 and "features" not in bad.text


QGIS_PYTHON = "/usr/bin/python3"
QGIS_PROBE = Path(__file__).parent / "clients" / "qgis_oapif.py"


def _has_qgis() -> bool:
    if not Path(QGIS_PYTHON).exists():
        return False
    probe = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True)
    return probe.returncode == 0


needs_qgis = pytest.mark.skipif(
    not _has_qgis(),
    reason="QGIS's Python bindings are not installed (apt-get install python3-qgis qgis-providers)",
)


def _qgis(server: LiveServer, user: str, password: str, *layers: str) -> dict:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
        "HOME": tempfile.mkdtemp(prefix="qgis-home-"),
    }
    done = subprocess.run(
        [QGIS_PYTHON, str(QGIS_PROBE), server.url, user, password, *layers],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@needs_qgis
def test_qgis_oapif_provider_signs_in_with_a_basic_auth_config(
    demo_server: LiveServer, demo_app, demo_headers, reader: str
) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(demo_app, headers=demo_headers["viewer"])
    matched = {
        cid: client.get(f"/ogc/collections/{cid}/items?limit=1").json()["numberMatched"]
        for cid in ("problems", "townships")
    }
    seen = _qgis(demo_server, reader, PASSWORD, "problems", "townships")["layers"]
    for cid, count in matched.items():
        assert seen[cid] == {"valid": True, "count": count, "iterated": count}, (cid, seen)
    wrong = _qgis(demo_server, "nobody-at-all", "wrong-Password-1", "problems", "townships")
    for cid in matched:
        assert wrong["layers"][cid]["iterated"] == 0 and not wrong["layers"][cid]["valid"]
