"""A small HTTP/1.1 load generator on asyncio streams: keep-alive connections, latencies.

Requests are prepared as raw bytes before the clock starts, and responses are parsed with the
least work that still reads them whole (Content-Length or chunked), so the client costs the
2-core machine little next to the servers it measures. It only ever connects to loopback.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def build_request(
    method: str,
    path: str,
    host: str,
    port: int,
    headers: dict[str, str] | None = None,
    body: bytes | dict | list | None = None,
) -> bytes:
    """A raw keep-alive HTTP/1.1 request; a dict or list body is sent as JSON."""
    if isinstance(body, dict | list):
        body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", **(headers or {})}
    body = body or b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Accept-Encoding: identity"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_s: float = 0.0  # set by Browser: from sending the request to the last byte

    def json(self):  # type: ignore[no-untyped-def]
        return json.loads(self.body)


class Conn:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"the load generator only targets loopback, not {host!r}")
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, limit=2**24
        )

    async def send(self, raw: bytes) -> Response:
        if self.writer is None or self.writer.is_closing():
            await self._open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            await self.close()
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        if status in (204, 304) or status < 200:  # never a body (RFC 9110)
            body = b""
        elif "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            body = b"".join(parts)
        else:
            body = await self.reader.read()
            await self.close()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, headers, body)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        self.reader = self.writer = None


@dataclass
class LoadResult:
    """Requests completed in the measured window, their latencies (s) and statuses."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    bytes_in: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    first_error: str = ""

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    @property
    def rate(self) -> float:
        """Successful requests per second over the measured window."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def percentile_ms(self, q: float) -> float | None:
        if not self.latencies:
            return None
        return float(np.percentile(np.asarray(self.latencies) * 1000.0, q))


async def _load(
    host: str,
    port: int,
    requests: Sequence[bytes] | Callable[[int], bytes],
    *,
    concurrency: int,
    duration_s: float,
    first: int,
    max_requests: int | None,
    check: Callable[[int, Response], None] | None,
) -> LoadResult:
    """Closed loop: every worker sends its next request as soon as the last one answered, and
    stops sending at ``duration_s``; the window ends when the last answer arrives."""
    result = LoadResult()
    counter = iter(range(first, 10**12))
    total = len(requests) if isinstance(requests, Sequence) else None
    limit = min(x for x in (max_requests, total, 10**12) if x is not None)
    start = time.perf_counter()
    stop_at = start + duration_s
    last_done = start

    def raw_for(i: int) -> bytes:
        return requests[i] if isinstance(requests, Sequence) else requests(i)

    async def worker() -> None:
        nonlocal last_done
        conn = Conn(host, port)
        try:
            while True:
                i = next(counter)
                t0 = time.perf_counter()
                if i >= limit or t0 >= stop_at:
                    return
                try:
                    resp = await conn.send(raw_for(i))
                except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    result.errors += 1
                    result.first_error = result.first_error or repr(exc)
                    await conn.close()
                    continue
                t1 = time.perf_counter()
                last_done = max(last_done, t1)
                if check is not None:
                    check(i, resp)
                result.latencies.append(t1 - t0)
                result.statuses[resp.status] += 1
                result.bytes_in += len(resp.body)
                if resp.status >= 400 and not result.first_error:
                    result.first_error = f"HTTP {resp.status}: {resp.body[:300]!r}"
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed_s = last_done - start
    return result


def run_load(
    host: str,
    port: int,
    requests: Sequence[bytes] | Callable[[int], bytes],
    *,
    concurrency: int,
    duration_s: float,
    warmup_s: float = 0.0,
    max_requests: int | None = None,
    check: Callable[[int, Response], None] | None = None,
) -> LoadResult:
    """Send ``requests`` from ``concurrency`` keep-alive connections for ``duration_s`` seconds
    after an unmeasured warm-up of ``warmup_s`` seconds (which uses the first requests), never
    more than ``max_requests`` or the prepared list in all."""
    used = 0
    if warmup_s > 0:
        warm = run_async(
            _load(host, port, requests, concurrency=concurrency, duration_s=warmup_s, first=0,
                  max_requests=max_requests, check=check)
        )
        used = warm.count + warm.errors
    return run_async(
        _load(host, port, requests, concurrency=concurrency, duration_s=duration_s, first=used,
              max_requests=max_requests, check=check)
    )


def run_async(coro):  # type: ignore[no-untyped-def]
    """Run ``coro`` to completion on a fresh event loop in its own thread.

    The caller's thread may already run a loop (an embedding application, a test session
    driving a browser through Playwright's sync API), where ``asyncio.run`` would refuse."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name="loadgen", daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]


async def _timed_send(conn: Conn, raw: bytes) -> Response:
    t0 = time.perf_counter()
    resp = await conn.send(raw)
    resp.elapsed_s = time.perf_counter() - t0
    return resp


async def _gather(host: str, port: int, conns: list[Conn], raws: Sequence[bytes]):  # type: ignore[no-untyped-def]
    while len(conns) < len(raws):
        conns.append(Conn(host, port))
    t0 = time.perf_counter()
    responses = await asyncio.gather(
        *(_timed_send(c, r) for c, r in zip(conns, raws, strict=False))
    )
    return time.perf_counter() - t0, list(responses)


class Browser:
    """A client that, like a browser, keeps connections open and sends requests in parallel."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.headers = headers or {}
        # The loop runs on its own thread, so a caller whose thread already runs a loop can
        # still use this client.
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="browser", daemon=True)
        self._thread.start()
        self.conns: list[Conn] = []

    def run(self, coro):  # type: ignore[no-untyped-def]
        """Run ``coro`` on this client's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def get_parallel(self, paths: Sequence[str], accept: str = "application/json"):  # type: ignore[no-untyped-def]
        """GET every path at once on its own connection; (seconds until the last, responses)."""
        headers = {"Accept": accept, **self.headers}
        raws = [build_request("GET", p, self.host, self.port, headers) for p in paths]
        return self.run(_gather(self.host, self.port, self.conns, raws))

    def get(self, path: str, accept: str = "application/json") -> tuple[float, Response]:
        elapsed, responses = self.get_parallel([path], accept)
        return elapsed, responses[0]

    def close(self) -> None:
        for conn in self.conns:
            self.run(conn.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
