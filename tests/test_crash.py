"""Crash safety with real kill -9: of the database while the app serves, of the app while clients
submit. Acknowledged writes survive, nothing is written twice, and the heap and indexes check."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gis.config import Settings
from gis.db.embedded import SUPERUSER, Cluster, find_pg_bin, free_port
from gis.db.engine import make_engine, upgrade
from server.app import create_app
from server.ops import install_ops

try:
    from tests.conftest import LiveServer, new_cluster_root
    from tests.factories import make_token
except ImportError:  # a site-packages package named "tests" (pygeoapi ships one) shadows ours
    from conftest import LiveServer, new_cluster_root  # type: ignore
    from factories import make_token  # type: ignore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def private_cluster() -> Iterator[Cluster]:
    """A cluster of this test's own, migrated, that the test may kill."""
    root = new_cluster_root("lookback-crash-")
    cluster = Cluster(root, free_port())
    try:
        cluster.start()
        upgrade(cluster.url())
        yield cluster
    finally:
        cluster.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


def test_database_killed_while_serving(
    private_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(private_cluster.url())
    headers = make_token(engine, "viewer")
    # Prometheus reads with its own token, which needs no database: metrics stay readable when down
    monkeypatch.setenv("LOOKBACK_METRICS_TOKEN", "scrape-secret")
    app = create_app(engine=engine, settings=Settings())
    install_ops(app)
    scraper = {"Authorization": "Bearer scrape-secret"}
    try:
        with (
            LiveServer(app) as server,
            httpx.Client(base_url=server.url, headers=headers, timeout=15) as http,
        ):
            assert http.get("/api/problems").status_code == 200

            private_cluster.kill()
            for _ in range(3):
                down = http.get("/api/problems")
                assert down.status_code == 503, down.text
                assert down.headers["content-type"].startswith("application/json")
                assert "unavailable" in down.json()["detail"]
                assert "Traceback" not in down.text and "psycopg" not in down.text
                assert down.headers["retry-after"]
            health = http.get("/healthz")
            assert health.status_code == 503
            assert health.json()["db"] == "down" and health.json()["reason"]
            metrics = http.get("/metrics", headers=scraper).text
            assert 'lookback_db_errors_total{kind="disconnect"}' in metrics

            private_cluster.start()  # the same app, no restart: it must recover by itself
            deadline = time.monotonic() + 20
            while (status := http.get("/api/problems").status_code) != 200:
                assert status == 503 and time.monotonic() < deadline, status
                time.sleep(0.2)
            assert http.get("/healthz").json() == {"status": "ok", "db": "ok"}
    finally:
        engine.dispose()


class Server:
    """``python -m uvicorn server.app:create_app --factory`` as a real process to kill."""

    def __init__(self, port: int, env: dict[str, str], log: Path) -> None:
        self.port, self.env, self.log = port, env, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "server.app:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, self.log.read_text()[-2000:]
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def complaint(code: str) -> dict:
    return {
        "code": code,
        "channel": "hotline_12369",
        "kind": "air",
        "category": "dust",
        "received_at": "2026-11-23T09:30:00+08:00",
        "text": f"夜间扬尘 {code}",
    }


def test_app_killed_while_clients_submit(private_cluster: Cluster, tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    engine = make_engine(private_cluster.url())
    headers = make_token(engine, "office")
    env = {
        **os.environ,
        "DATABASE_URL": private_cluster.url(),
        "LOOKBACK_HOME": str(tmp_path / "home"),
        "LOOKBACK_LOG_LEVEL": "WARNING",
    }
    server = Server(free_port(), env, tmp_path / "server.log")
    limit, clients, kills = 400, 3, 2
    lock = threading.Lock()
    acked: set[str] = set()
    uncertain: set[str] = set()
    issued = iter(range(limit))
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
            while not stop.is_set():
                with lock:
                    n = next(issued, None)
                if n is None:
                    return
                code = f"KILL-{n:05d}"
                while not stop.is_set():
                    try:
                        resp = http.post("/api/complaints", json=complaint(code))
                    except httpx.ConnectError:  # refused: never sent, so send it again
                        time.sleep(0.05)
                        continue
                    except httpx.TransportError:  # sent, answer lost: it may or may not exist
                        with lock:
                            uncertain.add(code)
                        break
                    with lock:
                        (acked if resp.status_code == 201 else uncertain).add(code)
                    break
                else:
                    with lock:
                        uncertain.add(code)

    try:
        server.start()
        threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
        for t in threads:
            t.start()
        for _ in range(kills):
            floor = len(acked) + 30
            deadline = time.monotonic() + 20
            while len(acked) < floor and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.3))
            server.kill()
            server.start()
        floor = len(acked) + 30
        deadline = time.monotonic() + 20
        while len(acked) < floor and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        for t in threads:
            t.join(timeout=20)

        present = set(acked)
        committed = 0
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
            for code in sorted(uncertain):
                resp = http.post("/api/complaints", json=complaint(code))
                if resp.status_code == 409:
                    assert "exists" in resp.json()["detail"], resp.text
                    committed += 1
                else:
                    assert resp.status_code == 201, (code, resp.status_code, resp.text)
                present.add(code)
    finally:
        stop.set()
        server.stop()

    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, count(*) FROM complaints GROUP BY code")).all()
    engine.dispose()
    stored = dict(rows)
    note = f"seed {seed}: {len(acked)} acknowledged, {len(uncertain)} uncertain"
    print(note, f"({committed} of the uncertain had been committed before the kill)")
    assert len(acked) >= 60, note
    assert all(n == 1 for n in stored.values()), note
    assert acked <= set(stored), f"acknowledged but lost: {sorted(acked - set(stored))} ({note})"
    assert set(stored) == present, note

    amcheck = subprocess.run(
        private_cluster._cmd(
            find_pg_bin() / "pg_amcheck",
            "--install-missing",
            "--heapallindexed",
            "--parent-check",
            "-h",
            private_cluster.socket_dir,
            "-p",
            str(private_cluster.port),
            "-U",
            SUPERUSER,
            "lookback",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert amcheck.returncode == 0 and amcheck.stdout.strip() == "", amcheck.stdout + amcheck.stderr
