"""What every benchmark stands on: the private cluster, servers in their own processes, tokens,
a memory sampler and a description of the machine.

Servers (Lookback, the ORM peer, pygeoapi) run as ``uvicorn`` subprocesses with one worker each,
so the load generator in the bench process never shares an interpreter (or its GIL) with them.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis.db.embedded import SUPERUSER, Cluster, free_port
from gis.db.engine import make_engine, upgrade

REPO = Path(__file__).resolve().parent.parent
BENCH_DB = "lookback_bench"


def new_root(prefix: str = "lookback-bench-") -> Path:
    """A fresh folder under /tmp that the cluster's system user can reach (it runs as root)."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    root.chmod(0o755)
    return root


@dataclass
class Database:
    """The benchmark database: its cluster, SQLAlchemy URLs and an engine.

    Everything connects over the cluster's Unix socket, as ``lookback up`` does with its
    embedded cluster: Lookback, the ORM peer, pygeoapi and the in-process peers alike.
    """

    cluster: Cluster
    name: str
    engine: Engine
    owns_cluster: bool
    root: Path  # scratch folder for configs, server logs and LOOKBACK_HOME

    @property
    def url(self) -> str:
        return self.cluster.url(self.name)

    @property
    def tcp_url(self) -> str:
        return self.cluster.tcp_url(self.name)

    @property
    def password(self) -> str:
        return self.cluster.password_file.read_text().strip()

    def close(self) -> None:
        """Drop the database (stop and delete the cluster when it is the benchmark's own)."""
        self.engine.dispose()
        if self.owns_cluster:
            self.cluster.stop(mode="immediate")
            shutil.rmtree(self.cluster.root, ignore_errors=True)
        else:
            with _admin(self.cluster) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        shutil.rmtree(self.root, ignore_errors=True)


def _admin(cluster: Cluster) -> psycopg.Connection:
    return psycopg.connect(host=str(cluster.socket_dir), port=cluster.port, user=SUPERUSER,
                           dbname="postgres", autocommit=True)


def open_database(cluster: Cluster | None = None, name: str = BENCH_DB) -> Database:
    """A fresh, migrated database: in ``cluster`` when given, else in a private new cluster."""
    owns = cluster is None
    if cluster is None:
        cluster = Cluster(new_root(), free_port())
        cluster.start()
    with _admin(cluster) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    upgrade(cluster.url(name))
    engine = make_engine(cluster.url(name))
    return Database(cluster, name, engine, owns, new_root("lookback-bench-work-"))


def make_token(engine: Engine, role: str = "admin", name: str | None = None) -> dict[str, str]:
    """A user of ``role`` with a bearer token; returns the ``Authorization`` header."""
    from gis.access import auth

    user_name = name or f"bench-{role}"
    with Session(engine) as s, s.begin():
        found = s.execute(text("SELECT 1 FROM users WHERE name = :n"), {"n": user_name}).first()
        if not found:
            auth.add_user(s, name=user_name, role=role, password=None, actor="bench")
        raw = auth.create_token(s, name=user_name, actor="bench")
    return {"Authorization": f"Bearer {raw}"}


# ----------------------------------------------------------------------------------------------
# Servers in subprocesses
# ----------------------------------------------------------------------------------------------


class ServerError(RuntimeError):
    """A server did not start; the message carries the tail of its log."""


@dataclass
class Server:
    """``uvicorn TARGET`` in a subprocess on a free loopback port (one worker)."""

    target: str
    env: dict[str, str]
    log: Path
    factory: bool = False
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def start(self, timeout_s: float = 60.0) -> Server:
        argv = [
            sys.executable, "-m", "uvicorn", self.target, "--host", self.host,
            "--port", str(self.port), "--log-level", "warning", "--no-access-log",
        ]
        if self.factory:
            argv.append("--factory")
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"{self.target} exited at start:\n{self.tail()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ServerError(f"{self.target} did not listen within {timeout_s:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> Server:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def lookback_server(db: Database, as_of: str) -> Server:
    """The Lookback app as ``lookback up`` builds it, on the benchmark database."""
    home = db.root / "home"
    home.mkdir(exist_ok=True)
    return Server(
        "bench.apps:lookback_app",
        {"LOOKBACK_BENCH_URL": db.url, "LOOKBACK_BENCH_AS_OF": as_of,
         "LOOKBACK_HOME": str(home)},
        db.root / "lookback-server.log",
        factory=True,
    )


# ----------------------------------------------------------------------------------------------
# Memory
# ----------------------------------------------------------------------------------------------


PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes(pid: int) -> int | None:
    """Resident set size of ``pid`` from ``/proc`` (None when it cannot be read)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return None


def anonymous_bytes(pid: int) -> int | None:
    """Private anonymous memory of ``pid`` (``Anonymous`` in ``/proc/PID/smaps_rollup``).

    For a PostgreSQL backend this is its own heap (sorts, hashes, trigger queues, caches) and
    leaves out the shared buffers, which live in a shared mapping however many pages it touches.
    """
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Anonymous:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        return None
    return None


class PeakMemory:
    """Samples a process's memory in a thread; ``peak_mb`` is the growth above the start.

    ``private=True`` samples private anonymous memory (:func:`anonymous_bytes`), the right
    measure for a database backend; otherwise the resident set (:func:`resident_bytes`), cheap
    enough to sample a busy Python process every 20 ms. Reads ``/proc``, so Linux only; where it
    cannot be read ``peak_mb`` is None.
    """

    def __init__(self, pid: int, interval_s: float = 0.02, private: bool = False) -> None:
        self.pid = pid
        self.read = anonymous_bytes if private else resident_bytes
        self.interval_s = max(interval_s, 0.05) if private else interval_s
        self.start_bytes = self.read(pid)
        self.peak_bytes = self.start_bytes or 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        now = self.read(self.pid)
        if now is not None:
            self.peak_bytes = max(self.peak_bytes, now)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> PeakMemory:
        if self.start_bytes is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
            self._sample()

    @property
    def peak_mb(self) -> float | None:
        if self.start_bytes is None:
            return None
        return max(0, self.peak_bytes - self.start_bytes) / 1e6


@contextmanager
def timer() -> Iterator[list[float]]:
    """``with timer() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    out: list[float] = []
    start = time.perf_counter()
    try:
        yield out
    finally:
        out.append(time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# The machine
# ----------------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


PACKAGES = (
    "fastapi", "uvicorn", "sqlalchemy", "psycopg", "geoalchemy2", "numpy", "scipy", "shapely",
    "geopandas", "folium", "esda", "libpysal", "pygeoapi", "psycopg2-binary",
)


def machine_info(engine: Engine | None = None) -> dict:
    """CPU, cores, memory, load, Python, PostgreSQL/PostGIS and package versions."""
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    info: dict = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": {p: v for p in PACKAGES if (v := _version(p))},
    }
    if engine is not None:
        with engine.connect() as conn:
            info["postgresql"] = conn.execute(text("SHOW server_version")).scalar()
            info["postgis"] = conn.execute(text("SELECT postgis_lib_version()")).scalar()
    return info
