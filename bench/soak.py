"""A bounded soak test: a steady request rate against the API and the wall for a fixed time.

Requests go out at ``--rate`` per second (open loop: a scheduler hands out send times, worker
threads with their own keep-alive ``httpx`` clients send them), spread over the endpoints a
command-centre wall refreshes from and the main API reads. It records every error (status >= 400
or a transport failure), latency percentiles per endpoint, how far sending fell behind schedule,
and the server's resident memory (its process and children, from /proc) every second, then writes
``bench/soak.json`` and exits 1 unless there were no errors and memory stayed flat.

Against a running server (token from ``lookback token create``; the server's pid is found from
its listening port, or give ``--pid``)::

    python bench/soak.py --url http://127.0.0.1:8000 --token "$TOKEN" --rate 20 --duration 600

Or self-contained: a private cluster with the demo county and uvicorn, both removed afterwards::

    python bench/soak.py --spawn --rate 20 --duration 60

Only loopback addresses are accepted. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path(__file__).resolve().parent / "soak.json"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# (name, path, weight): the wall's refresh calls dominate, as on a command-centre screen.
ENDPOINTS: list[tuple[str, str, int]] = [
    ("wall summary", "/api/wall/summary", 4),
    ("wall problems z10", "/api/wall/problems?zoom=10", 4),
    ("wall problems z15", "/api/wall/problems?zoom=15", 2),
    ("wall heat", "/api/wall/complaints-heat?days=90", 2),
    ("problems list", "/api/problems?limit=50", 3),
    ("problem detail", "/api/problems/{code}", 3),
    ("problems geojson", "/api/problems.geojson", 1),
    ("townships geojson", "/api/townships.geojson", 1),
    ("complaints list", "/api/complaints?limit=50", 1),
    ("healthz", "/healthz", 1),
]


@dataclass
class Tally:
    """Results gathered by the worker threads."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    lag: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str, seconds: float, lag: float, error: str | None) -> None:
        """Add one request's outcome."""
        with self.lock:
            self.latencies[name].append(seconds)
            self.lag.append(lag)
            if error:
                self.errors[f"{name}: {error.split(':')[0]}"] += 1
                if len(self.error_samples) < 20:
                    self.error_samples.append(f"{name}: {error}")


# -- the server's memory -------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (uvicorn workers), in bytes."""
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
        stack += _children(p)
    return total


def listening_pid(port: int) -> int | None:
    """The pid of the process listening on loopback ``port`` (from /proc), if visible."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    if not inodes:
        return None
    owners = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            for fd in fd_dir.iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    owners.append(int(fd_dir.parent.name))
                    break
        except OSError:
            continue
    if not owners:
        return None
    # with --workers the master and the workers all hold the socket: take the ancestor
    owner_set = set(owners)
    for pid in owners:
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            ppid = 0
        if ppid not in owner_set:
            return pid
    return owners[0]


# -- a private server (--spawn) ------------------------------------------------------------------


class Spawned:
    """A private cluster with the demo county and uvicorn on a free port, removed on close."""

    def __init__(self, scale: int, workers: int) -> None:
        from gis.db.embedded import Cluster, free_port
        from gis.db.engine import make_engine, upgrade
        from gis.demo.county import load_demo

        self.root = Path(tempfile.mkdtemp(prefix="lookback-soak-", dir="/tmp"))
        self.root.chmod(0o755)
        self.cluster = Cluster(self.root / "pg", free_port())
        self.cluster.start()
        upgrade(self.cluster.url())
        engine = make_engine(self.cluster.url())
        load_demo(engine, scale=scale)
        self.token = _token(engine)
        engine.dispose()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": self.cluster.url(),
            "LOOKBACK_HOME": str(self.root / "home"),
            "LOOKBACK_LOG_LEVEL": "WARNING",
        }
        argv = [sys.executable, "-m", "uvicorn", "server.app:create_app", "--factory"]
        argv += ["--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"]
        argv += ["--log-level", "warning", "--workers", str(workers)]
        self.log = open(self.root / "server.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start: see " + str(self.root / "server.log"))
            time.sleep(0.2)

    def close(self) -> float:
        """Stop uvicorn with SIGTERM (graceful) and remove everything; the shutdown time, s."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        took = time.monotonic() - started
        self.log.close()
        self.cluster.stop(mode="fast")
        shutil.rmtree(self.root, ignore_errors=True)
        return took


def _token(engine: Any) -> str:
    from sqlalchemy.orm import Session

    from gis.access import auth

    with Session(engine) as session, session.begin():
        auth.add_user(
            session, name="soak-viewer", role="viewer", password=None, townships=None, actor="soak"
        )
        return auth.create_token(session, name="soak-viewer", actor="soak")


# -- the run -------------------------------------------------------------------------------------


def _schedule(rate: float, duration: float, slots: queue.Queue[Any], workers: int) -> None:
    weights = [w for _, _, w in ENDPOINTS]
    wheel = [i for i, w in enumerate(weights) for _ in range(w)]
    start = time.monotonic()
    n = 0
    while True:
        due = start + n / rate
        if due - start >= duration:
            break
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        slots.put((due, ENDPOINTS[wheel[n % len(wheel)]]))
        n += 1
    for _ in range(workers):
        slots.put(None)


def _worker(url: str, token: str, codes: list[str], slots: queue.Queue[Any], tally: Tally) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    i = 0
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        while (item := slots.get()) is not None:
            due, (name, path, _) = item
            if "{code}" in path:
                path = path.replace("{code}", codes[i % len(codes)] if codes else "none")
                i += 1
            sent = time.monotonic()
            error = None
            try:
                resp = http.get(path)
                resp.read()
                if resp.status_code >= 400:
                    error = f"HTTP {resp.status_code}: {resp.text[:120]}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            tally.record(name, time.monotonic() - sent, sent - due, error)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _memory_verdict(samples: list[tuple[float, int]], warmup: float) -> dict[str, Any]:
    steady = [(t, r) for t, r in samples if t >= warmup] or samples
    if len(steady) < 4:
        return {"flat": True, "note": "too few samples"}
    k = max(2, len(steady) // 10)
    first = statistics.median(r for _, r in steady[:k])
    last = statistics.median(r for _, r in steady[-k:])
    ts, rs = [t for t, _ in steady], [r for _, r in steady]
    mean_t, mean_r = statistics.fmean(ts), statistics.fmean(rs)
    var_t = sum((t - mean_t) ** 2 for t in ts) or 1.0
    slope = sum((t - mean_t) * (r - mean_r) for t, r in steady) / var_t
    growth = last - first
    # flat: grew less than 5 % (or 10 MB) after warm-up
    flat = growth <= max(10 * 2**20, 0.05 * first)
    return {
        "flat": flat,
        "after_warmup_mb": round(first / 2**20, 1),
        "end_mb": round(last / 2**20, 1),
        "max_mb": round(max(rs) / 2**20, 1),
        "growth_mb": round(growth / 2**20, 1),
        "slope_mb_per_min": round(slope * 60 / 2**20, 3),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the soak and return its report."""
    spawned = Spawned(args.scale, args.workers) if args.spawn else None
    url = spawned.url if spawned else args.url.rstrip("/")
    token = spawned.token if spawned else (args.token or os.environ.get("LOOKBACK_TOKEN", ""))
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"refusing {host}: the soak only runs against loopback")
    if not token:
        raise SystemExit("give --token (from `lookback token create`) or use --spawn")
    port = urlsplit(url).port or 80
    pid = spawned.proc.pid if spawned else (args.pid or listening_pid(port))
    try:
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as http:
            listing = http.get("/api/problems", params={"limit": 200})
            listing.raise_for_status()
            body = listing.json()
            items = body.get("items", body.get("features", [])) if isinstance(body, dict) else []
            codes = [
                (it.get("code") or it.get("id") or it.get("properties", {}).get("code"))
                for it in items
            ]
            codes = [c for c in codes if c]
        tally = Tally()
        slots: queue.Queue[Any] = queue.Queue()
        threads = [
            threading.Thread(target=_worker, args=(url, token, codes, slots, tally), daemon=True)
            for _ in range(args.threads)
        ]
        for t in threads:
            t.start()
        scheduler = threading.Thread(
            target=_schedule, args=(args.rate, args.duration, slots, args.threads), daemon=True
        )
        started = time.monotonic()
        scheduler.start()
        memory: list[tuple[float, int]] = []
        while scheduler.is_alive() or any(t.is_alive() for t in threads):
            if pid:
                memory.append((round(time.monotonic() - started, 1), rss_bytes(pid)))
            if not args.quiet:
                done = sum(len(v) for v in tally.latencies.values())
                rss = f", rss {memory[-1][1] / 2**20:.0f} MB" if memory else ""
                print(
                    f"\r{time.monotonic() - started:6.0f} s  {done:7d} requests  "
                    f"{sum(tally.errors.values())} errors{rss}   ",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
            time.sleep(1.0)
        elapsed = time.monotonic() - started
        if not args.quiet:
            print(file=sys.stderr)
    finally:
        shutdown_s = spawned.close() if spawned else None
    total = sum(len(v) for v in tally.latencies.values())
    errors = sum(tally.errors.values())
    mem = _memory_verdict(memory, warmup=min(30.0, args.duration * 0.2)) if memory else {}
    report = {
        "config": {
            "url": url,
            "rate_per_s": args.rate,
            "duration_s": args.duration,
            "threads": args.threads,
            "spawned": bool(spawned),
            "workers": args.workers if spawned else None,
            "scale": args.scale if spawned else None,
            "server_pid": pid,
        },
        "requests": total,
        "achieved_rate_per_s": round(total / elapsed, 2) if elapsed else 0,
        "errors": errors,
        "errors_by_kind": dict(tally.errors),
        "error_samples": tally.error_samples,
        "send_lag_ms": {
            "p50": round(_percentile(tally.lag, 0.5) * 1000, 1),
            "p99": round(_percentile(tally.lag, 0.99) * 1000, 1),
            "max": round(max(tally.lag, default=0) * 1000, 1),
        },
        "latency_ms": {
            name: {
                "n": len(v),
                "p50": round(_percentile(v, 0.5) * 1000, 1),
                "p95": round(_percentile(v, 0.95) * 1000, 1),
                "p99": round(_percentile(v, 0.99) * 1000, 1),
                "max": round(max(v) * 1000, 1),
            }
            for name, v in sorted(tally.latencies.items())
        },
        "memory": mem,
        "rss_mb_samples": [[t, round(r / 2**20, 1)] for t, r in memory],
        "graceful_shutdown_s": round(shutdown_s, 2) if shutdown_s is not None else None,
    }
    report["passed"] = errors == 0 and bool(mem.get("flat", True))
    return report


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, write the JSON report, print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="a loopback server")
    parser.add_argument("--token", help="bearer token (or LOOKBACK_TOKEN)")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--threads", type=int, default=8, help="sending threads")
    parser.add_argument("--pid", type=int, help="server pid for memory (default: found by port)")
    parser.add_argument("--spawn", action="store_true", help="run a private cluster and server")
    parser.add_argument("--scale", type=int, default=300, help="demo problems with --spawn")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers with --spawn")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report file")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)
    report = run(args)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    mem = report["memory"]
    print(
        f"{report['requests']} requests at {report['achieved_rate_per_s']}/s, "
        f"{report['errors']} errors; "
        + (
            f"rss {mem.get('after_warmup_mb')} → {mem.get('end_mb')} MB "
            f"({mem.get('slope_mb_per_min')} MB/min); "
            if mem
            else "memory not sampled; "
        )
        + ("PASSED" if report["passed"] else "FAILED")
        + f" — {args.out}"
    )
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
