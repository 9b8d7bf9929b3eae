"""Test fixtures: a real PostgreSQL + PostGIS cluster started for the run, in throwaway databases.

The cluster lives in a fresh folder under /tmp (searchable by the unprivileged user the server runs
as under root) on a free loopback port, and is deleted at the end of the run. ``DATABASE_URL`` is
ignored here on purpose: tests never touch a configured database.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from gis.db.embedded import SUPERUSER, Cluster, free_port
from gis.db.engine import make_engine, upgrade

DEMO_AS_OF = date(2026, 11, 23)
DEMO_SEED = 20261123
REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"
TABLES = "events, attachments, milestones, inspections, complaints, problems, sites, townships"


def new_cluster_root(prefix: str = "lookback-test-") -> Path:
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    root.chmod(0o755)
    return root


def create_database(cluster: Cluster, name: str) -> str:
    """Create an empty database in ``cluster`` and return its SQLAlchemy URL."""
    with psycopg.connect(
        host=str(cluster.socket_dir),
        port=cluster.port,
        user=SUPERUSER,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return cluster.url(name)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    os.environ.pop("DATABASE_URL", None)
    root = new_cluster_root()
    cluster = Cluster(root, free_port())
    cluster.start()
    yield cluster
    cluster.stop(mode="immediate")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def engine(pg_cluster: Cluster) -> Iterator[Engine]:
    """A migrated database for tests that write; emptied after each test by ``db``."""
    url = create_database(pg_cluster, "lookback_test")
    upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Engine]:
    """The writable test database, emptied after the test."""
    yield engine
    from gis.db.models import Base

    tables = ", ".join(Base.metadata.tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def demo_engine(pg_cluster: Cluster) -> Iterator[Engine]:
    """A migrated database holding the demo county (seed and date fixed); read-only by agreement."""
    from gis.demo.county import load_demo

    url = create_database(pg_cluster, "lookback_demo")
    upgrade(url)
    eng = make_engine(url)
    load_demo(eng, scale=300, seed=DEMO_SEED, as_of=DEMO_AS_OF)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def demo_headers(demo_engine) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """Authorization headers per role on the demo database (township roles: the first one)."""
    from tests.factories import make_token

    with demo_engine.connect() as conn:
        first = conn.execute(text("SELECT min(code) FROM townships")).scalar_one()
    headers = {role: make_token(demo_engine, role) for role in ("admin", "office", "viewer")}
    for role in ("township", "inspector"):
        headers[role] = make_token(demo_engine, role, [first])
    return headers


class LiveServer:
    """Uvicorn serving an app in a background thread on a free loopback port."""

    def __init__(self, app, port: int | None = None) -> None:  # type: ignore[no-untyped-def]
        import uvicorn

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def demo_app(demo_engine: Engine):  # type: ignore[no-untyped-def]
    from gis.config import Settings
    from server.app import create_app

    return create_app(engine=demo_engine, settings=Settings(), clock=lambda: DEMO_AS_OF)


@pytest.fixture(scope="session")
def demo_server(demo_app) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    with LiveServer(demo_app) as server:
        yield server


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Debian's Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run `make test`, which installs it")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
